use super::*;
use crate::matching::OrderId;

fn decode(frame: &str) -> Result<Request, DecodeError> {
    decode_request(frame.as_bytes())
}

fn error(reason: ErrorReason) -> Result<Request, DecodeError> {
    Err(DecodeError::Error { reason })
}

fn reject(id: OrderId, reason: RejectReason) -> Result<Request, DecodeError> {
    Err(DecodeError::Reject { id, reason })
}

fn acme() -> Symbol {
    Symbol::new("ACME").unwrap()
}

fn price(text: &str) -> Price {
    Price::parse(text).unwrap()
}

/// A limit request with one field replaced (or removed, with `None`).
fn limit_with(field: &str, value: Option<&str>) -> String {
    let mut fields = vec![
        ("op", r#""limit""#),
        ("id", "5"),
        ("symbol", r#""ACME""#),
        ("side", r#""buy""#),
        ("price", r#""10.05""#),
        ("qty", "100"),
    ];
    fields.retain(|(name, _)| *name != field);
    if let Some(value) = value {
        fields.push((field, value));
    }
    let body: Vec<String> = fields.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
    format!("{{{}}}", body.join(","))
}

fn limit_ok(tif: Tif) -> Result<Request, DecodeError> {
    Ok(Request::Limit {
        id: 5,
        symbol: acme(),
        side: Side::Buy,
        price: price("10.05"),
        qty: 100,
        tif,
        stp: Default::default(),
    })
}

#[test]
fn decodes_the_protocol_example() {
    assert_eq!(
        decode(r#"{"op":"limit","id":1,"symbol":"ACME","side":"sell","price":"10.05","qty":100}"#),
        Ok(Request::Limit {
            id: 1,
            symbol: acme(),
            side: Side::Sell,
            price: price("10.05"),
            qty: 100,
            tif: Tif::Gtc,
            stp: Default::default(),
        })
    );
    assert_eq!(
        decode(r#"{"op":"cancel","id":1,"symbol":"ACME"}"#),
        Ok(Request::Cancel {
            id: 1,
            symbol: acme()
        })
    );
}

#[test]
fn decodes_every_op() {
    assert_eq!(decode(&limit_with("tif", None)), limit_ok(Tif::Gtc));
    assert_eq!(
        decode(&limit_with("tif", Some(r#""gtc""#))),
        limit_ok(Tif::Gtc)
    );
    assert_eq!(
        decode(&limit_with("tif", Some(r#""ioc""#))),
        limit_ok(Tif::Ioc)
    );
    assert_eq!(
        decode(&limit_with("tif", Some(r#""fok""#))),
        limit_ok(Tif::Fok)
    );
    assert_eq!(
        decode(&limit_with("tif", Some(r#""post""#))),
        limit_ok(Tif::Post)
    );
    assert_eq!(
        decode(r#"{"op":"market","id":9,"symbol":"ACME","side":"sell","qty":3}"#),
        Ok(Request::Market {
            id: 9,
            symbol: acme(),
            side: Side::Sell,
            qty: 3,
            stp: Default::default(),
        })
    );
    assert_eq!(decode(r#"{"op":"ping"}"#), Ok(Request::Ping));
}

#[test]
fn field_order_whitespace_and_extra_fields_do_not_matter() {
    let frame = r#" { "qty" : 100 , "extra" : {"nested":[1,2,{"x":null}]}, "price" : 10.05,
        "side":"buy","symbol":"ACME","id" : 5, "op":"limit", "note": "hi" }  "#;
    assert_eq!(decode(frame), limit_ok(Tif::Gtc));
}

#[test]
fn ping_needs_no_id_and_ignores_a_bad_one() {
    assert_eq!(decode(r#"{"op":"ping","id":"x"}"#), Ok(Request::Ping));
    assert_eq!(
        decode(r#"{"op":"ping","id":0,"symbol":1}"#),
        Ok(Request::Ping)
    );
}

#[test]
fn unreadable_frames_are_errors() {
    for frame in [
        "",
        "{",
        "nope",
        r#"{"op":"ping""#,
        "{\"op\":\"ping\"} x",
        "{'op':1}",
    ] {
        assert_eq!(decode(frame), error(ErrorReason::InvalidJson), "{frame}");
    }
    assert_eq!(
        decode_request(b"{\"op\":\"limit\",\"symbol\":\"\xff\"}"),
        error(ErrorReason::InvalidJson)
    );
    // A repeated field is ambiguous, so it is refused.
    assert_eq!(
        decode(r#"{"op":"ping","op":"ping"}"#),
        error(ErrorReason::InvalidJson)
    );
    for frame in ["[]", "[1]", "1", r#""ping""#, "null", "true", " 3 "] {
        assert_eq!(decode(frame), error(ErrorReason::NotAnObject), "{frame}");
    }
}

#[test]
fn op_problems_are_errors_without_an_id_and_rejects_with_one() {
    assert_eq!(decode(r#"{}"#), error(ErrorReason::MissingOp));
    assert_eq!(decode(r#"{"op":null}"#), error(ErrorReason::MissingOp));
    assert_eq!(decode(r#"{"op":"buy"}"#), error(ErrorReason::InvalidOp));
    assert_eq!(
        decode(r#"{"op":"buy","id":-1}"#),
        error(ErrorReason::InvalidOp)
    );
    assert_eq!(decode(r#"{"id":3}"#), reject(3, RejectReason::MissingOp));
    for op in [r#""LIMIT""#, r#""limit ""#, "1", "null", r#"["limit"]"#] {
        let frame = format!(r#"{{"op":{op},"id":3}}"#);
        let expected = if op == "null" {
            RejectReason::MissingOp
        } else {
            RejectReason::InvalidOp
        };
        assert_eq!(decode(&frame), reject(3, expected), "{frame}");
    }
}

#[test]
fn ops_that_need_an_id_error_without_a_usable_one() {
    for op in ["limit", "market", "cancel", "amend"] {
        let frame = format!(r#"{{"op":"{op}","symbol":"ACME"}}"#);
        assert_eq!(decode(&frame), error(ErrorReason::MissingId));
    }
    for id in [
        "0",
        "-1",
        "1.0",
        "1e2",
        "1E2",
        r#""5""#,
        "true",
        "9223372036854775808",
        "18446744073709551616",
        "99999999999999999999999",
    ] {
        assert_eq!(
            decode(&limit_with("id", Some(id))),
            error(ErrorReason::InvalidId),
            "{id}"
        );
    }
    assert_eq!(
        decode(&limit_with("id", Some("null"))),
        error(ErrorReason::MissingId)
    );
    assert_eq!(
        decode(&limit_with("id", Some("9223372036854775807"))).map(|r| r.id()),
        Ok(Some(i64::MAX as u64))
    );
}

#[test]
fn symbol_rules() {
    assert_eq!(
        decode(&limit_with("symbol", None)),
        reject(5, RejectReason::MissingSymbol)
    );
    for symbol in [
        r#""""#,
        r#""acme""#,
        r#""ABCDEFGHIJKLMNOPQ""#,
        r#""AC ME""#,
        "1",
        r#"["ACME"]"#,
    ] {
        assert_eq!(
            decode(&limit_with("symbol", Some(symbol))),
            reject(5, RejectReason::InvalidSymbol),
            "{symbol}"
        );
    }
    // Escapes are JSON, not symbol characters.
    assert_eq!(
        decode(&limit_with("symbol", Some(r#""\u0041CME""#))),
        limit_ok(Tif::Gtc)
    );
    assert_eq!(
        decode(r#"{"op":"cancel","id":2}"#),
        reject(2, RejectReason::MissingSymbol)
    );
    assert_eq!(
        decode(r#"{"op":"cancel","id":2,"symbol":"a"}"#),
        reject(2, RejectReason::InvalidSymbol)
    );
}

#[test]
fn side_rules() {
    assert_eq!(
        decode(&limit_with("side", None)),
        reject(5, RejectReason::MissingSide)
    );
    for side in [r#""BUY""#, r#""bid""#, "1", "true", r#""""#] {
        assert_eq!(
            decode(&limit_with("side", Some(side))),
            reject(5, RejectReason::InvalidSide),
            "{side}"
        );
    }
}

#[test]
fn price_rules() {
    for (text, ticks) in [
        (r#""10.05""#, 100_500),
        ("10.05", 100_500),
        (r#""7""#, 70_000),
        ("7", 70_000),
        (r#""1.50000""#, 15_000),
        ("0.0001", 1),
        ("1000000000", 10_000_000_000_000),
    ] {
        let request = decode(&limit_with("price", Some(text)));
        assert!(
            matches!(request, Ok(Request::Limit { price, .. }) if price.ticks() == ticks),
            "{text}: {request:?}"
        );
    }
    assert_eq!(
        decode(&limit_with("price", None)),
        reject(5, RejectReason::MissingPrice)
    );
    for text in [
        r#""1.00001""#,
        "1.00001",
        "1e2",
        r#""1e2""#,
        r#"".5""#,
        r#""5.""#,
        "-1",
        r#""-1""#,
        "0",
        r#""0.0""#,
        "1000000000.0001",
        r#""10,05""#,
        r#"" 10""#,
        "true",
        "[10]",
        r#""""#,
    ] {
        assert_eq!(
            decode(&limit_with("price", Some(text))),
            reject(5, RejectReason::InvalidPrice),
            "{text}"
        );
    }
}

#[test]
fn qty_rules() {
    assert_eq!(
        decode(&limit_with("qty", None)),
        reject(5, RejectReason::MissingQty)
    );
    for qty in [
        "0",
        "-5",
        "100.0",
        "1e2",
        r#""100""#,
        "1000000001",
        "18446744073709551616",
    ] {
        assert_eq!(
            decode(&limit_with("qty", Some(qty))),
            reject(5, RejectReason::InvalidQty),
            "{qty}"
        );
    }
    assert!(matches!(
        decode(&limit_with("qty", Some("1000000000"))),
        Ok(Request::Limit {
            qty: 1_000_000_000,
            ..
        })
    ));
}

#[test]
fn tif_rules() {
    for tif in [r#""GTC""#, r#""FOK""#, r#""day""#, "1", r#""""#] {
        assert_eq!(
            decode(&limit_with("tif", Some(tif))),
            reject(5, RejectReason::InvalidTif),
            "{tif}"
        );
    }
    assert_eq!(decode(&limit_with("tif", Some("null"))), limit_ok(Tif::Gtc));
}

#[test]
fn the_first_bad_field_names_the_reason() {
    let frame = r#"{"op":"limit","id":5,"symbol":"a","side":"x","price":"x","qty":0,"tif":"x"}"#;
    assert_eq!(decode(frame), reject(5, RejectReason::InvalidSymbol));
    let frame = r#"{"op":"limit","id":5,"symbol":"A","side":"x","price":"x","qty":0}"#;
    assert_eq!(decode(frame), reject(5, RejectReason::InvalidSide));
    let frame = r#"{"op":"limit","id":5,"symbol":"A","side":"buy","price":"x","qty":0}"#;
    assert_eq!(decode(frame), reject(5, RejectReason::InvalidPrice));
    let frame = r#"{"op":"limit","id":5,"symbol":"A","side":"buy","price":"1","qty":0,"tif":1}"#;
    assert_eq!(decode(frame), reject(5, RejectReason::InvalidQty));
}

#[test]
fn market_ignores_price_and_tif() {
    let frame =
        r#"{"op":"market","id":9,"symbol":"ACME","side":"buy","qty":3,"price":"bad","tif":7}"#;
    assert!(matches!(decode(frame), Ok(Request::Market { qty: 3, .. })));
    let frame = r#"{"op":"market","id":9,"symbol":"ACME","side":"buy"}"#;
    assert_eq!(decode(frame), reject(9, RejectReason::MissingQty));
    let frame = r#"{"op":"market","id":9,"symbol":"ACME","qty":3}"#;
    assert_eq!(decode(frame), reject(9, RejectReason::MissingSide));
}

#[test]
fn cancel_ignores_order_fields() {
    let frame = r#"{"op":"cancel","id":4,"symbol":"ACME","side":"x","qty":-1,"price":"x"}"#;
    assert_eq!(
        decode(frame),
        Ok(Request::Cancel {
            id: 4,
            symbol: acme()
        })
    );
}

#[test]
fn escaped_keys_and_values_are_json() {
    let frame = r#"{"\u006fp":"\u006cimit","id":5,"symbol":"ACME","side":"b\u0075y","price":"10.05","qty":100}"#;
    assert_eq!(decode(frame), limit_ok(Tif::Gtc));
    let frame = r#"{"op":"ping","pad":"\"}\n"}"#;
    assert_eq!(decode(frame), Ok(Request::Ping));
}

#[test]
fn encodes_the_exact_protocol_text() {
    let mut out = Vec::new();
    encode_request(
        &Request::Limit {
            id: 7,
            symbol: Symbol::new("SYM1").unwrap(),
            side: Side::Sell,
            price: Price::parse("100.10").unwrap(),
            qty: 3,
            tif: Tif::Ioc,
            stp: Default::default(),
        },
        &mut out,
    );
    assert_eq!(
        out,
        b"{\"op\":\"limit\",\"id\":7,\"symbol\":\"SYM1\",\"side\":\"sell\",\"price\":\"100.1\",\"qty\":3,\"tif\":\"ioc\"}\n"
    );
}

#[test]
fn every_op_encodes_to_a_line_that_decodes_to_itself() {
    let requests = [
        Request::Ping,
        Request::Limit {
            id: 1,
            symbol: acme(),
            side: Side::Buy,
            price: price("0.0001"),
            qty: 1,
            tif: Tif::Gtc,
            stp: Default::default(),
        },
        Request::Limit {
            id: MAX_ID,
            symbol: Symbol::new("A.B_C-9").unwrap(),
            side: Side::Sell,
            price: price("1000000000"),
            qty: MAX_QTY,
            tif: Tif::Ioc,
            stp: Default::default(),
        },
        Request::Limit {
            id: 2,
            symbol: acme(),
            side: Side::Buy,
            price: price("10.5"),
            qty: 7,
            tif: Tif::Fok,
            stp: Default::default(),
        },
        Request::Limit {
            id: 2,
            symbol: acme(),
            side: Side::Sell,
            price: price("10.5"),
            qty: 7,
            tif: Tif::Post,
            stp: Default::default(),
        },
        Request::Market {
            id: 3,
            symbol: acme(),
            side: Side::Sell,
            qty: 40,
            stp: Default::default(),
        },
        Request::Cancel {
            id: 4,
            symbol: acme(),
        },
    ];
    for request in requests {
        let mut out = Vec::new();
        encode_request(&request, &mut out);
        let line = out.strip_suffix(b"\n").expect("newline terminated");
        assert!(!line.contains(&b'\n'));
        assert_eq!(decode_request(line), Ok(request));
    }
}

mod flat;
mod management;
