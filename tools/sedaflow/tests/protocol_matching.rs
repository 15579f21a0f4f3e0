//! Matching and order lifecycle over the order stream: price–time priority across levels,
//! cancels (own, unknown, wrong symbol, by another connection), `ioc` and market remainders,
//! and the two id rules (`duplicate id`, `id not increasing`).

mod support;

use support::{Client, Server};

#[test]
fn partial_fills_walk_price_levels_in_price_time_order() {
    let server = Server::start(&[]);
    let mut a = Client::connect(server.tcp);
    let mut b = Client::connect(server.tcp);
    let mut c = Client::connect(server.tcp);

    a.send(r#"{"op":"limit","id":101,"symbol":"PTP","side":"sell","price":"10.02","qty":10}"#);
    a.expect(r#"{"type":"ack","id":101}"#);
    a.send(r#"{"op":"limit","id":102,"symbol":"PTP","side":"sell","price":"10","qty":10}"#);
    a.expect(r#"{"type":"ack","id":102}"#);
    // Same price as 102, later: trades after it.
    b.send(r#"{"op":"limit","id":201,"symbol":"PTP","side":"sell","price":"10.00","qty":5}"#);
    b.expect(r#"{"type":"ack","id":201}"#);
    b.send(r#"{"op":"limit","id":202,"symbol":"PTP","side":"sell","price":"10.01","qty":7}"#);
    b.expect(r#"{"type":"ack","id":202}"#);
    a.send(r#"{"op":"limit","id":103,"symbol":"PTP","side":"sell","price":"10.10","qty":5}"#);
    a.expect(r#"{"type":"ack","id":103}"#);

    // Buys 30 up to 10.02: 102 (10 @ 10), 201 (5 @ 10), 202 (7 @ 10.01), 101 (8 of 10 @ 10.02).
    c.send(r#"{"op":"limit","id":301,"symbol":"PTP","side":"buy","price":"10.02","qty":30}"#);
    c.expect(r#"{"type":"ack","id":301}"#);
    let m1 = c.expect_fill(
        r#"{"type":"fill","id":301,"symbol":"PTP","side":"buy","price":"10","qty":10,"leaves":20}"#,
    );
    let m2 = c.expect_fill(
        r#"{"type":"fill","id":301,"symbol":"PTP","side":"buy","price":"10","qty":5,"leaves":15}"#,
    );
    let m3 = c.expect_fill(r#"{"type":"fill","id":301,"symbol":"PTP","side":"buy","price":"10.01","qty":7,"leaves":8}"#);
    let m4 = c.expect_fill(r#"{"type":"fill","id":301,"symbol":"PTP","side":"buy","price":"10.02","qty":8,"leaves":0}"#);
    c.expect(r#"{"type":"done","id":301,"reason":"filled","leaves":0}"#);
    assert!(
        m1 < m2 && m2 < m3 && m3 < m4,
        "match ids must increase per symbol: {m1} {m2} {m3} {m4}"
    );

    let got = a.expect_set(&[
        r#"{"type":"fill","id":102,"symbol":"PTP","side":"sell","price":"10","qty":10,"leaves":0}"#,
        r#"{"type":"done","id":102,"reason":"filled","leaves":0}"#,
        r#"{"type":"fill","id":101,"symbol":"PTP","side":"sell","price":"10.02","qty":8,"leaves":2}"#,
    ]);
    assert_eq!(
        got[0]["match"], m1,
        "both sides of a trade share its match id"
    );
    assert_eq!(
        got[2]["match"], m4,
        "both sides of a trade share its match id"
    );
    let got = b.expect_set(&[
        r#"{"type":"fill","id":201,"symbol":"PTP","side":"sell","price":"10","qty":5,"leaves":0}"#,
        r#"{"type":"done","id":201,"reason":"filled","leaves":0}"#,
        r#"{"type":"fill","id":202,"symbol":"PTP","side":"sell","price":"10.01","qty":7,"leaves":0}"#,
        r#"{"type":"done","id":202,"reason":"filled","leaves":0}"#,
    ]);
    assert_eq!(
        got[0]["match"], m2,
        "both sides of a trade share its match id"
    );
    assert_eq!(
        got[2]["match"], m3,
        "both sides of a trade share its match id"
    );

    // Up to 10.10: the rest of 101, then 103; the remainder (3) rests.
    c.send(r#"{"op":"limit","id":302,"symbol":"PTP","side":"buy","price":"10.10","qty":10}"#);
    c.expect(r#"{"type":"ack","id":302}"#);
    let m5 = c.expect_fill(r#"{"type":"fill","id":302,"symbol":"PTP","side":"buy","price":"10.02","qty":2,"leaves":8}"#);
    let m6 = c.expect_fill(
        r#"{"type":"fill","id":302,"symbol":"PTP","side":"buy","price":"10.1","qty":5,"leaves":3}"#,
    );
    assert!(
        m4 < m5 && m5 < m6,
        "match ids must increase: {m4} {m5} {m6}"
    );
    a.expect_set(&[
        r#"{"type":"fill","id":101,"symbol":"PTP","side":"sell","price":"10.02","qty":2,"leaves":0}"#,
        r#"{"type":"done","id":101,"reason":"filled","leaves":0}"#,
        r#"{"type":"fill","id":103,"symbol":"PTP","side":"sell","price":"10.1","qty":5,"leaves":0}"#,
        r#"{"type":"done","id":103,"reason":"filled","leaves":0}"#,
    ]);

    // A sell limited at 10.05 trades at the resting buy's 10.10.
    b.send(r#"{"op":"limit","id":203,"symbol":"PTP","side":"sell","price":"10.05","qty":3}"#);
    b.expect(r#"{"type":"ack","id":203}"#);
    let m7 = b.expect_fill(r#"{"type":"fill","id":203,"symbol":"PTP","side":"sell","price":"10.1","qty":3,"leaves":0}"#);
    b.expect(r#"{"type":"done","id":203,"reason":"filled","leaves":0}"#);
    assert_eq!(
        c.expect_fill(r#"{"type":"fill","id":302,"symbol":"PTP","side":"buy","price":"10.1","qty":3,"leaves":0}"#),
        m7
    );
    c.expect(r#"{"type":"done","id":302,"reason":"filled","leaves":0}"#);
    assert!(m6 < m7, "match ids must increase: {m6} {m7}");

    a.expect_idle();
    b.expect_idle();
    c.expect_idle();
}

#[test]
fn two_orders_of_one_owner_trade_with_each_other() {
    let server = Server::start(&[]);
    let mut a = Client::connect(server.tcp);
    a.send(r#"{"op":"limit","id":80,"symbol":"SELF","side":"sell","price":"1","qty":2}"#);
    a.expect(r#"{"type":"ack","id":80}"#);
    a.send(r#"{"op":"limit","id":81,"symbol":"SELF","side":"buy","price":"1","qty":2}"#);
    let got = a.expect_set(&[
        r#"{"type":"ack","id":81}"#,
        r#"{"type":"fill","id":81,"symbol":"SELF","side":"buy","price":"1","qty":2,"leaves":0}"#,
        r#"{"type":"done","id":81,"reason":"filled","leaves":0}"#,
        r#"{"type":"fill","id":80,"symbol":"SELF","side":"sell","price":"1","qty":2,"leaves":0}"#,
        r#"{"type":"done","id":80,"reason":"filled","leaves":0}"#,
    ]);
    assert_eq!(got[1]["match"], got[3]["match"]);
    a.expect_idle();
}

#[test]
fn cancels_answer_done_or_unknown_order() {
    let server = Server::start(&[]);
    let mut a = Client::connect(server.tcp);
    let mut b = Client::connect(server.tcp);

    a.send(r#"{"op":"limit","id":11,"symbol":"CXL","side":"sell","price":"5","qty":10}"#);
    a.expect(r#"{"type":"ack","id":11}"#);
    b.send(r#"{"op":"limit","id":21,"symbol":"CXL","side":"buy","price":"5","qty":4}"#);
    b.expect(r#"{"type":"ack","id":21}"#);
    let m = b.expect_fill(
        r#"{"type":"fill","id":21,"symbol":"CXL","side":"buy","price":"5","qty":4,"leaves":0}"#,
    );
    b.expect(r#"{"type":"done","id":21,"reason":"filled","leaves":0}"#);
    let m_a = a.expect_fill(
        r#"{"type":"fill","id":11,"symbol":"CXL","side":"sell","price":"5","qty":4,"leaves":6}"#,
    );
    assert_eq!(m, m_a, "both sides of a trade share its match id");

    // Cancel of a partly filled order reports what was still open.
    a.send(r#"{"op":"cancel","id":11,"symbol":"CXL"}"#);
    a.expect(r#"{"type":"done","id":11,"reason":"cancelled","leaves":6}"#);
    // Gone now: cancelled, filled, never entered.
    a.send(r#"{"op":"cancel","id":11,"symbol":"CXL"}"#);
    a.expect(r#"{"type":"reject","id":11,"reason":"unknown order"}"#);
    b.send(r#"{"op":"cancel","id":21,"symbol":"CXL"}"#);
    b.expect(r#"{"type":"reject","id":21,"reason":"unknown order"}"#);
    a.send(r#"{"op":"cancel","id":999,"symbol":"CXL"}"#);
    a.expect(r#"{"type":"reject","id":999,"reason":"unknown order"}"#);

    // The wrong symbol is an unknown order and leaves the order alone.
    a.send(r#"{"op":"limit","id":12,"symbol":"CXL","side":"sell","price":"6","qty":10}"#);
    a.expect(r#"{"type":"ack","id":12}"#);
    a.send(r#"{"op":"cancel","id":12,"symbol":"CXL2"}"#);
    a.expect(r#"{"type":"reject","id":12,"reason":"unknown order"}"#);
    a.send(r#"{"op":"cancel","id":12,"symbol":"CXL"}"#);
    a.expect(r#"{"type":"done","id":12,"reason":"cancelled","leaves":10}"#);

    // Another connection (another account, v2) cannot cancel it: it is an unknown order.
    a.send(r#"{"op":"limit","id":13,"symbol":"CXL","side":"sell","price":"7","qty":3}"#);
    a.expect(r#"{"type":"ack","id":13}"#);
    b.send(r#"{"op":"cancel","id":13,"symbol":"CXL"}"#);
    b.expect(r#"{"type":"reject","id":13,"reason":"unknown order"}"#);
    a.send(r#"{"op":"cancel","id":13,"symbol":"CXL"}"#);
    a.expect(r#"{"type":"done","id":13,"reason":"cancelled","leaves":3}"#);

    a.expect_idle();
    b.expect_idle();
}

#[test]
fn resting_orders_outlive_their_connection() {
    let server = Server::start(&[]);
    let mut gone = Client::login(server.tcp, "leaver", "");
    gone.send(r#"{"op":"limit","id":14,"symbol":"LEFT","side":"sell","price":"3","qty":2}"#);
    gone.expect(r#"{"type":"ack","id":14}"#);
    drop(gone);

    let mut b = Client::connect(server.tcp);
    b.send(r#"{"op":"limit","id":1,"symbol":"LEFT","side":"buy","price":"3","qty":1}"#);
    b.expect(r#"{"type":"ack","id":1}"#);
    b.expect_fill(
        r#"{"type":"fill","id":1,"symbol":"LEFT","side":"buy","price":"3","qty":1,"leaves":0}"#,
    );
    b.expect(r#"{"type":"done","id":1,"reason":"filled","leaves":0}"#);
    b.send(r#"{"op":"cancel","id":14,"symbol":"LEFT"}"#);
    b.expect(r#"{"type":"reject","id":14,"reason":"unknown order"}"#);
    // Its account, back in a new session, finds it.
    let mut back = Client::login(server.tcp, "leaver", "");
    back.send(r#"{"op":"cancel","id":14,"symbol":"LEFT"}"#);
    back.expect(r#"{"type":"done","id":14,"reason":"cancelled","leaves":1}"#);
    b.expect_idle();
}

#[test]
fn ioc_remainder_expires_and_never_rests() {
    let server = Server::start(&[]);
    let mut a = Client::connect(server.tcp);
    let mut b = Client::connect(server.tcp);

    a.send(r#"{"op":"limit","id":31,"symbol":"IOC1","side":"sell","price":"20","qty":5}"#);
    a.expect(r#"{"type":"ack","id":31}"#);
    b.send(
        r#"{"op":"limit","id":41,"symbol":"IOC1","side":"buy","price":"20","qty":8,"tif":"ioc"}"#,
    );
    b.expect(r#"{"type":"ack","id":41}"#);
    b.expect_fill(
        r#"{"type":"fill","id":41,"symbol":"IOC1","side":"buy","price":"20","qty":5,"leaves":3}"#,
    );
    b.expect(r#"{"type":"done","id":41,"reason":"expired","leaves":3}"#);
    a.expect_fill(
        r#"{"type":"fill","id":31,"symbol":"IOC1","side":"sell","price":"20","qty":5,"leaves":0}"#,
    );
    a.expect(r#"{"type":"done","id":31,"reason":"filled","leaves":0}"#);

    // Nothing crosses: all of it expires.
    b.send(
        r#"{"op":"limit","id":42,"symbol":"IOC1","side":"buy","price":"19","qty":2,"tif":"ioc"}"#,
    );
    b.expect(r#"{"type":"ack","id":42}"#);
    b.expect(r#"{"type":"done","id":42,"reason":"expired","leaves":2}"#);

    // Neither remainder rests: a sell at 19 finds no buy; an explicit gtc rests.
    a.send(
        r#"{"op":"limit","id":32,"symbol":"IOC1","side":"sell","price":"19","qty":2,"tif":"gtc"}"#,
    );
    a.expect(r#"{"type":"ack","id":32}"#);
    a.expect_idle();
    b.expect_idle();
    b.send(r#"{"op":"limit","id":43,"symbol":"IOC1","side":"buy","price":"19","qty":2}"#);
    b.expect(r#"{"type":"ack","id":43}"#);
    b.expect_fill(
        r#"{"type":"fill","id":43,"symbol":"IOC1","side":"buy","price":"19","qty":2,"leaves":0}"#,
    );
    b.expect(r#"{"type":"done","id":43,"reason":"filled","leaves":0}"#);
    a.expect_fill(
        r#"{"type":"fill","id":32,"symbol":"IOC1","side":"sell","price":"19","qty":2,"leaves":0}"#,
    );
    a.expect(r#"{"type":"done","id":32,"reason":"filled","leaves":0}"#);
    a.expect_idle();
    b.expect_idle();
}

#[test]
fn market_orders_take_any_price_and_their_remainder_expires() {
    let server = Server::start(&[]);
    let mut a = Client::connect(server.tcp);
    let mut b = Client::connect(server.tcp);

    a.send(r#"{"op":"limit","id":51,"symbol":"MKT","side":"sell","price":"30","qty":2}"#);
    a.expect(r#"{"type":"ack","id":51}"#);
    a.send(r#"{"op":"limit","id":52,"symbol":"MKT","side":"sell","price":"31","qty":2}"#);
    a.expect(r#"{"type":"ack","id":52}"#);

    // `price` and `tif` are ignored: a limit at 1 would not cross, a gtc would rest.
    b.send(
        r#"{"op":"market","id":61,"symbol":"MKT","side":"buy","qty":6,"price":"1","tif":"gtc"}"#,
    );
    b.expect(r#"{"type":"ack","id":61}"#);
    let m1 = b.expect_fill(
        r#"{"type":"fill","id":61,"symbol":"MKT","side":"buy","price":"30","qty":2,"leaves":4}"#,
    );
    let m2 = b.expect_fill(
        r#"{"type":"fill","id":61,"symbol":"MKT","side":"buy","price":"31","qty":2,"leaves":2}"#,
    );
    b.expect(r#"{"type":"done","id":61,"reason":"expired","leaves":2}"#);
    assert!(m1 < m2, "match ids must increase: {m1} {m2}");
    let got = a.expect_set(&[
        r#"{"type":"fill","id":51,"symbol":"MKT","side":"sell","price":"30","qty":2,"leaves":0}"#,
        r#"{"type":"done","id":51,"reason":"filled","leaves":0}"#,
        r#"{"type":"fill","id":52,"symbol":"MKT","side":"sell","price":"31","qty":2,"leaves":0}"#,
        r#"{"type":"done","id":52,"reason":"filled","leaves":0}"#,
    ]);
    assert_eq!(
        got[0]["match"], m1,
        "both sides of a trade share its match id"
    );
    assert_eq!(
        got[2]["match"], m2,
        "both sides of a trade share its match id"
    );

    // An empty side: everything expires, and the remainder of 61 did not rest.
    b.send(r#"{"op":"market","id":62,"symbol":"MKT","side":"sell","qty":3}"#);
    b.expect(r#"{"type":"ack","id":62}"#);
    b.expect(r#"{"type":"done","id":62,"reason":"expired","leaves":3}"#);
    b.send(r#"{"op":"market","id":63,"symbol":"MKT","side":"buy","qty":1}"#);
    b.expect(r#"{"type":"ack","id":63}"#);
    b.expect(r#"{"type":"done","id":63,"reason":"expired","leaves":1}"#);

    // A market sell takes the best buy at its price.
    a.send(r#"{"op":"limit","id":53,"symbol":"MKT","side":"buy","price":"29","qty":5}"#);
    a.expect(r#"{"type":"ack","id":53}"#);
    b.send(r#"{"op":"market","id":64,"symbol":"MKT","side":"sell","qty":2}"#);
    b.expect(r#"{"type":"ack","id":64}"#);
    b.expect_fill(
        r#"{"type":"fill","id":64,"symbol":"MKT","side":"sell","price":"29","qty":2,"leaves":0}"#,
    );
    b.expect(r#"{"type":"done","id":64,"reason":"filled","leaves":0}"#);
    a.expect_fill(
        r#"{"type":"fill","id":53,"symbol":"MKT","side":"buy","price":"29","qty":2,"leaves":3}"#,
    );
    a.expect_idle();
    b.expect_idle();
}

#[test]
fn an_id_resting_on_the_symbol_is_a_duplicate() {
    let server = Server::start(&[]);
    let mut a = Client::connect(server.tcp);
    let mut b = Client::connect(server.tcp);

    a.send(r#"{"op":"limit","id":70,"symbol":"DUP1","side":"sell","price":"50","qty":1}"#);
    a.expect(r#"{"type":"ack","id":70}"#);
    b.send(r#"{"op":"limit","id":70,"symbol":"DUP1","side":"buy","price":"40","qty":1}"#);
    b.expect(r#"{"type":"reject","id":70,"reason":"duplicate id"}"#);
    // The rejected order did not use id 70 up; on another symbol it is free.
    b.send(r#"{"op":"limit","id":70,"symbol":"DUP2","side":"buy","price":"40","qty":1}"#);
    b.expect(r#"{"type":"ack","id":70}"#);

    // Both rules fail (resting here, and not above 70): the reason is `duplicate id`.
    a.send(r#"{"op":"limit","id":70,"symbol":"DUP1","side":"sell","price":"50","qty":1}"#);
    a.expect(r#"{"type":"reject","id":70,"reason":"duplicate id"}"#);
    a.send(r#"{"op":"market","id":70,"symbol":"DUP1","side":"buy","qty":1}"#);
    a.expect(r#"{"type":"reject","id":70,"reason":"duplicate id"}"#);

    // Once the order has left the book, its id may be used there again.
    a.send(r#"{"op":"cancel","id":70,"symbol":"DUP1"}"#);
    a.expect(r#"{"type":"done","id":70,"reason":"cancelled","leaves":1}"#);
    let mut c = Client::connect(server.tcp);
    c.send(r#"{"op":"limit","id":70,"symbol":"DUP1","side":"buy","price":"40","qty":1}"#);
    c.expect(r#"{"type":"ack","id":70}"#);

    a.expect_idle();
    b.expect_idle();
    c.expect_idle();
}

#[test]
fn ids_must_increase_per_connection() {
    let server = Server::start(&[]);
    let mut a = Client::connect(server.tcp);
    let mut b = Client::connect(server.tcp);

    a.send(r#"{"op":"limit","id":10,"symbol":"INC1","side":"buy","price":"1","qty":1}"#);
    a.expect(r#"{"type":"ack","id":10}"#);
    // After 10, neither a lower nor an equal id, on any symbol, limit or market.
    a.send(r#"{"op":"limit","id":5,"symbol":"INC2","side":"buy","price":"1","qty":1}"#);
    a.expect(r#"{"type":"reject","id":5,"reason":"id not increasing"}"#);
    a.send(r#"{"op":"limit","id":10,"symbol":"INC2","side":"buy","price":"1","qty":1}"#);
    a.expect(r#"{"type":"reject","id":10,"reason":"id not increasing"}"#);
    a.send(r#"{"op":"market","id":9,"symbol":"INC2","side":"sell","qty":1}"#);
    a.expect(r#"{"type":"reject","id":9,"reason":"id not increasing"}"#);

    // A rejected order does not use its id up.
    a.send(r#"{"op":"limit","id":20,"symbol":"INC1","side":"buy","price":"-1","qty":1}"#);
    a.expect_reject(20, "price");
    a.send(r#"{"op":"limit","id":15,"symbol":"INC2","side":"buy","price":"1","qty":1}"#);
    a.expect(r#"{"type":"ack","id":15}"#);
    b.send(r#"{"op":"limit","id":20,"symbol":"INC3","side":"buy","price":"1","qty":1}"#);
    b.expect(r#"{"type":"ack","id":20}"#);
    a.send(r#"{"op":"limit","id":20,"symbol":"INC3","side":"buy","price":"1","qty":1}"#);
    a.expect(r#"{"type":"reject","id":20,"reason":"duplicate id"}"#);
    a.send(r#"{"op":"limit","id":20,"symbol":"INC4","side":"buy","price":"1","qty":1}"#);
    a.expect(r#"{"type":"ack","id":20}"#);

    // An accepted ioc counts too; cancels are not new orders.
    a.send(
        r#"{"op":"limit","id":30,"symbol":"INC5","side":"buy","price":"1","qty":1,"tif":"ioc"}"#,
    );
    a.expect(r#"{"type":"ack","id":30}"#);
    a.expect(r#"{"type":"done","id":30,"reason":"expired","leaves":1}"#);
    a.send(r#"{"op":"limit","id":25,"symbol":"INC5","side":"buy","price":"1","qty":1}"#);
    a.expect(r#"{"type":"reject","id":25,"reason":"id not increasing"}"#);
    a.send(r#"{"op":"cancel","id":10,"symbol":"INC1"}"#);
    a.expect(r#"{"type":"done","id":10,"reason":"cancelled","leaves":1}"#);
    a.send(r#"{"op":"limit","id":31,"symbol":"INC5","side":"buy","price":"1","qty":1}"#);
    a.expect(r#"{"type":"ack","id":31}"#);
    // Both rules fail: `duplicate id`, for the highest accepted id and for a lower one.
    a.send(r#"{"op":"limit","id":31,"symbol":"INC5","side":"buy","price":"1","qty":1}"#);
    a.expect(r#"{"type":"reject","id":31,"reason":"duplicate id"}"#);
    a.send(r#"{"op":"limit","id":20,"symbol":"INC4","side":"buy","price":"1","qty":1}"#);
    a.expect(r#"{"type":"reject","id":20,"reason":"duplicate id"}"#);

    // The rule is per connection: B's ids are its own business.
    b.send(r#"{"op":"limit","id":21,"symbol":"INC5","side":"buy","price":"1","qty":1}"#);
    b.expect(r#"{"type":"ack","id":21}"#);

    a.expect_idle();
    b.expect_idle();
}

#[test]
fn id_rules_hold_for_pipelined_requests() {
    let server = Server::start(&[]);
    let mut a = Client::connect(server.tcp);
    // All in one write: each request takes effect in order, before the next is looked at.
    let requests = [
        r#"{"op":"limit","id":10,"symbol":"PIPE1","side":"buy","price":"1","qty":1}"#,
        r#"{"op":"limit","id":10,"symbol":"PIPE1","side":"buy","price":"1","qty":1}"#,
        r#"{"op":"limit","id":5,"symbol":"PIPE2","side":"buy","price":"1","qty":1}"#,
        r#"{"op":"limit","id":10,"symbol":"PIPE2","side":"buy","price":"1","qty":1}"#,
        r#"{"op":"limit","id":11,"symbol":"PIPE2","side":"buy","price":"1","qty":1}"#,
        r#"{"op":"limit","id":10,"symbol":"PIPE1","side":"sell","price":"2","qty":1}"#,
        r#"{"op":"cancel","id":10,"symbol":"PIPE1"}"#,
        r#"{"op":"limit","id":10,"symbol":"PIPE1","side":"buy","price":"1","qty":1}"#,
        r#"{"op":"market","id":11,"symbol":"PIPE2","side":"sell","qty":1}"#,
        r#"{"op":"limit","id":12,"symbol":"PIPE2","side":"buy","price":"0","qty":1}"#,
        r#"{"op":"limit","id":12,"symbol":"PIPE2","side":"buy","price":"1","qty":1}"#,
    ];
    let mut batch = requests.join("\n");
    batch.push('\n');
    a.send_raw(batch.as_bytes());
    a.expect(r#"{"type":"ack","id":10}"#);
    // Resting here and not above 10: both rules fail.
    a.expect(r#"{"type":"reject","id":10,"reason":"duplicate id"}"#);
    a.expect(r#"{"type":"reject","id":5,"reason":"id not increasing"}"#);
    a.expect(r#"{"type":"reject","id":10,"reason":"id not increasing"}"#);
    a.expect(r#"{"type":"ack","id":11}"#);
    // Below the highest accepted id (11) and resting on PIPE1: both fail again.
    a.expect(r#"{"type":"reject","id":10,"reason":"duplicate id"}"#);
    a.expect(r#"{"type":"done","id":10,"reason":"cancelled","leaves":1}"#);
    // No longer resting: only the increasing rule fails.
    a.expect(r#"{"type":"reject","id":10,"reason":"id not increasing"}"#);
    a.expect(r#"{"type":"reject","id":11,"reason":"duplicate id"}"#);
    a.expect_reject(12, "price");
    a.expect(r#"{"type":"ack","id":12}"#);
    a.expect_idle();
}
