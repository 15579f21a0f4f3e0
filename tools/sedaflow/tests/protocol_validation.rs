//! Field rules and framing: an invalid field with a usable id is a `reject` naming the field;
//! a frame without a usable id (not JSON, not an object, bad or missing id, too long) is one
//! `error` and the connection stays open; `\r\n` is accepted, blank lines are ignored.

mod support;

use support::{Client, Server};

/// A limit order on `VAL` with one field replaced by raw JSON text, or left out (`None`).
fn limit_with(id: u64, field: &str, raw: Option<&str>) -> String {
    let id = id.to_string();
    let mut fields = vec![
        ("op", "\"limit\""),
        ("id", id.as_str()),
        ("symbol", "\"VAL\""),
        ("side", "\"buy\""),
        ("price", "\"1\""),
        ("qty", "1"),
    ];
    if field == "tif" {
        fields.push(("tif", "\"gtc\""));
    }
    fields.retain(|(name, _)| *name != field);
    if let Some(raw) = raw {
        fields.push((field, raw));
    }
    let body: Vec<String> = fields.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
    format!("{{{}}}", body.join(","))
}

#[test]
fn invalid_fields_are_rejected_naming_the_field() {
    let server = Server::start(&[]);
    let mut a = Client::connect(server.tcp);
    let cases: &[(&str, Option<&str>)] = &[
        ("price", Some(r#""1.00001""#)),
        ("price", Some("1e2")),
        ("price", Some(r#"".5""#)),
        ("price", Some(r#""-1""#)),
        ("price", Some("-1")),
        ("price", Some("0")),
        ("price", Some(r#""0""#)),
        ("price", Some(r#""0.00""#)),
        ("price", Some(r#""1000000000.0001""#)),
        ("price", Some(r#""1.""#)),
        ("price", Some(r#""1,5""#)),
        ("price", Some(r#""abc""#)),
        ("price", Some(r#""""#)),
        ("price", Some("true")),
        ("price", Some("null")),
        ("price", None),
        ("qty", Some("100.0")),
        ("qty", Some("0")),
        ("qty", Some("1000000001")),
        ("qty", Some(r#""5""#)),
        ("qty", Some("-1")),
        ("qty", Some("1e2")),
        ("qty", Some("1.5")),
        ("qty", Some("null")),
        ("qty", None),
        ("symbol", Some(r#""""#)),
        ("symbol", Some(r#""ABCDEFGHIJKLMNOPQ""#)),
        ("symbol", Some(r#""ab""#)),
        ("symbol", Some(r#""A B""#)),
        ("symbol", Some(r#""AB/C""#)),
        ("symbol", Some("5")),
        ("symbol", None),
        ("side", Some(r#""hold""#)),
        ("side", Some(r#""BUY""#)),
        ("side", Some("1")),
        ("side", None),
        ("tif", Some(r#""day""#)),
        ("tif", Some(r#""IOC""#)),
        ("tif", Some("1")),
    ];
    for (n, (field, raw)) in cases.iter().enumerate() {
        let id = 1000 + n as u64;
        a.send(&limit_with(id, field, *raw));
        a.expect_reject(id, field);
    }
    // Market orders and cancels follow the same field rules.
    a.send(r#"{"op":"market","id":2000,"symbol":"VAL","side":"sell","qty":0}"#);
    a.expect_reject(2000, "qty");
    a.send(r#"{"op":"market","id":2001,"symbol":"val","side":"sell","qty":1}"#);
    a.expect_reject(2001, "symbol");
    a.send(r#"{"op":"market","id":2002,"symbol":"VAL","side":"short","qty":1}"#);
    a.expect_reject(2002, "side");
    a.send(r#"{"op":"cancel","id":2003,"symbol":"bad symbol"}"#);
    a.expect_reject(2003, "symbol");
    a.expect_idle();

    // Nothing changed: no rejected buy rests on VAL, and no id was used up.
    let mut b = Client::connect(server.tcp);
    b.send(
        r#"{"op":"limit","id":1,"symbol":"VAL","side":"sell","price":"0.0001","qty":1000000000}"#,
    );
    b.expect(r#"{"type":"ack","id":1}"#);
    b.expect_idle();
    a.send(r#"{"op":"limit","id":1000,"symbol":"VAL2","side":"buy","price":"1","qty":1}"#);
    a.expect(r#"{"type":"ack","id":1000}"#);
    a.expect_idle();
}

/// `seller` rests `line` (a sell of `qty` with id `id` on `symbol`), then `buyer` takes one
/// with a market order; the fills must render the price as `price`.
fn rests_then_trades_at(
    (seller, buyer): (&mut Client, &mut Client),
    line: &str,
    (id, symbol, qty): (u64, &str, u64),
    buyer_id: u64,
    price: &str,
) {
    seller.send(line);
    seller.expect(&format!(r#"{{"type":"ack","id":{id}}}"#));
    buyer.send(&format!(
        r#"{{"op":"market","id":{buyer_id},"symbol":"{symbol}","side":"buy","qty":1}}"#
    ));
    buyer.expect(&format!(r#"{{"type":"ack","id":{buyer_id}}}"#));
    let m = buyer.expect_fill(&format!(
        r#"{{"type":"fill","id":{buyer_id},"symbol":"{symbol}","side":"buy","price":"{price}","qty":1,"leaves":0}}"#
    ));
    buyer.expect(&format!(
        r#"{{"type":"done","id":{buyer_id},"reason":"filled","leaves":0}}"#
    ));
    let m_seller = seller.expect_fill(&format!(
        r#"{{"type":"fill","id":{id},"symbol":"{symbol}","side":"sell","price":"{price}","qty":1,"leaves":{}}}"#,
        qty - 1
    ));
    assert_eq!(m, m_seller, "both sides of a trade share its match id");
    if qty == 1 {
        seller.expect(&format!(
            r#"{{"type":"done","id":{id},"reason":"filled","leaves":0}}"#
        ));
    }
}

#[test]
fn valid_edge_cases_are_accepted() {
    let server = Server::start(&[]);
    let mut a = Client::connect(server.tcp);
    let mut b = Client::connect(server.tcp);
    let cases: &[(&str, (u64, &str, u64), &str)] = &[
        (
            r#"{"op":"limit","id":1,"symbol":"E1","side":"sell","price":"7","qty":1}"#,
            (1, "E1", 1),
            "7",
        ),
        (
            r#"{"op":"limit","id":2,"symbol":"E2","side":"sell","price":10.05,"qty":1}"#,
            (2, "E2", 1),
            "10.05",
        ),
        (
            r#"{"op":"limit","id":3,"symbol":"E3","side":"sell","price":"1.50000","qty":2}"#,
            (3, "E3", 2),
            "1.5",
        ),
        (
            r#"{"op":"limit","id":4,"symbol":"E4","side":"sell","price":"1000000000","qty":1}"#,
            (4, "E4", 1),
            "1000000000",
        ),
        (
            r#"{"op":"limit","id":5,"symbol":"E5","side":"sell","price":"0.0001","qty":1}"#,
            (5, "E5", 1),
            "0.0001",
        ),
        (
            r#"{"op":"limit","id":6,"symbol":"E6","side":"sell","price":7,"qty":1}"#,
            (6, "E6", 1),
            "7",
        ),
        (
            r#"{"op":"limit","id":7,"symbol":"E7","side":"sell","price":"010.50","qty":1}"#,
            (7, "E7", 1),
            "10.5",
        ),
        (
            r#"{"op":"limit","id":8,"symbol":"A.B_C-9","side":"sell","price":"2","qty":1}"#,
            (8, "A.B_C-9", 1),
            "2",
        ),
        (
            r#"{"op":"limit","id":9,"symbol":"ABCDEFGHIJKLMNOP","side":"sell","price":"2","qty":1}"#,
            (9, "ABCDEFGHIJKLMNOP", 1),
            "2",
        ),
        (
            r#"{"op":"limit","id":10,"symbol":"E10","side":"sell","price":"3","qty":1000000000}"#,
            (10, "E10", 1_000_000_000),
            "3",
        ),
        (
            r#"{"op":"limit","id":11,"symbol":"E11","side":"sell","price":"3","qty":1,"tif":"gtc"}"#,
            (11, "E11", 1),
            "3",
        ),
        (
            r#"{"op":"limit","id":12,"symbol":"E12","side":"sell","price":"3","qty":1,"client":"x","nested":{"a":[1,2]},"tag":null}"#,
            (12, "E12", 1),
            "3",
        ),
        (
            r#"{"qty":1,"price":"4","side":"sell","symbol":"E13","id":13,"op":"limit"}"#,
            (13, "E13", 1),
            "4",
        ),
        (
            r#" { "op" : "limit" , "id" : 14 , "symbol" : "E14" , "side" : "sell" , "price" : "4" , "qty" : 1 } "#,
            (14, "E14", 1),
            "4",
        ),
    ];
    for (n, (line, order, price)) in cases.iter().enumerate() {
        rests_then_trades_at((&mut a, &mut b), line, *order, 100 + n as u64, price);
    }
    // Extra fields on a ping and a cancel are ignored too.
    a.send(r#"{"op":"ping","seq":7}"#);
    a.expect(r#"{"type":"pong"}"#);
    a.send(r#"{"op":"cancel","id":10,"symbol":"E10","why":"test"}"#);
    a.expect(r#"{"type":"done","id":10,"reason":"cancelled","leaves":999999999}"#);

    // The largest id.
    let mut c = Client::connect(server.tcp);
    c.send(r#"{"op":"limit","id":9223372036854775807,"symbol":"E15","side":"buy","price":"1","qty":1}"#);
    c.expect(r#"{"type":"ack","id":9223372036854775807}"#);

    a.expect_idle();
    b.expect_idle();
    c.expect_idle();
}

#[test]
fn frames_without_a_usable_id_get_one_error_each() {
    let server = Server::start(&[]);
    let mut a = Client::connect(server.tcp);
    let frames = [
        "hello",
        r#"{"op":"limit","#,
        "[1,2]",
        r#""just a string""#,
        "42",
        "null",
        r#"{"op":"limit","symbol":"ERR","side":"buy","price":"1","qty":1}"#,
        r#"{"op":"limit","id":0,"symbol":"ERR","side":"buy","price":"1","qty":1}"#,
        r#"{"op":"limit","id":9223372036854775808,"symbol":"ERR","side":"buy","price":"1","qty":1}"#,
        r#"{"op":"limit","id":"5","symbol":"ERR","side":"buy","price":"1","qty":1}"#,
        r#"{"op":"limit","id":1.5,"symbol":"ERR","side":"buy","price":"1","qty":1}"#,
        r#"{"op":"limit","id":-1,"symbol":"ERR","side":"buy","price":"1","qty":1}"#,
        r#"{"op":"limit","id":null,"symbol":"ERR","side":"buy","price":"1","qty":1}"#,
        r#"{"op":"market","id":0,"symbol":"ERR","side":"buy","qty":1}"#,
        r#"{"op":"cancel","symbol":"ERR"}"#,
    ];
    for frame in frames {
        a.send(frame);
        let reason = a.expect_error();
        assert!(!reason.is_empty(), "an error carries a reason ({frame})");
    }
    // Each got exactly one answer, and the connection still works.
    a.expect_idle();
    a.send(r#"{"op":"limit","id":5,"symbol":"ERR","side":"buy","price":"1","qty":1}"#);
    a.expect(r#"{"type":"ack","id":5}"#);
    a.expect_idle();
}

#[test]
fn an_over_long_frame_is_one_error_and_the_connection_survives() {
    let server = Server::start(&[]);
    let mut a = Client::connect(server.tcp);
    let order = |pad: usize| {
        let head =
            r#"{"op":"limit","id":900,"symbol":"BIG","side":"buy","price":"1","qty":1,"pad":""#;
        format!("{head}{}\"}}", "x".repeat(pad - head.len() - 2))
    };

    let long = order(5000);
    assert_eq!(long.len(), 5000);
    a.send(&long);
    a.expect_error();
    a.expect_idle();
    // Much longer than the limit: still discarded up to its newline.
    a.send(&order(200_000));
    a.expect_error();
    a.expect_idle();

    // Neither was entered: id 900 is still free on BIG. A frame well under the limit is fine.
    let fits = order(3000);
    a.send(&fits);
    a.expect(r#"{"type":"ack","id":900}"#);
    a.expect_idle();
}

#[test]
fn crlf_blank_lines_and_split_frames() {
    let server = Server::start(&[]);
    let mut a = Client::connect(server.tcp);

    a.send_raw(b"{\"op\":\"ping\"}\r\n");
    a.expect(r#"{"type":"pong"}"#);
    a.send_raw(
        b"{\"op\":\"limit\",\"id\":1,\"symbol\":\"CRLF\",\"side\":\"buy\",\"price\":\"1\",\"qty\":1}\r\n",
    );
    a.expect(r#"{"type":"ack","id":1}"#);

    // Blank lines get no answer: the pong is the very next line.
    a.send_raw(b"\n");
    a.send_raw(b"\r\n");
    a.send_raw(b"\n\n\r\n");
    a.expect_idle();

    // Several frames and blank lines in one write; one frame over several writes.
    a.send_raw(b"{\"op\":\"ping\"}\n\n{\"op\":\"ping\"}\r\n\r\n{\"op\":\"ping\"}\n");
    a.expect(r#"{"type":"pong"}"#);
    a.expect(r#"{"type":"pong"}"#);
    a.expect(r#"{"type":"pong"}"#);
    a.send_raw(b"{\"op\":\"limit\",\"id\":2,\"symbol\":\"CRLF\",");
    a.send_raw(b"\"side\":\"buy\",\"price\":\"1\",");
    a.send_raw(b"\"qty\":1}\n");
    a.expect(r#"{"type":"ack","id":2}"#);
    a.expect_idle();
}
