//! The *v2* `tif` values over the order stream: `fok` fills its whole `qty` at once or
//! expires untouched (`leaves` = `qty`), `post` is refused `would cross` when it would trade
//! on arrival and otherwise rests as `gtc`.

mod support;

use support::{Client, Server};

#[test]
fn fok_fills_entirely_or_expires_without_trading() {
    let server = Server::start(&[]);
    let mut a = Client::connect(server.tcp);
    let mut b = Client::connect(server.tcp);

    a.send(r#"{"op":"limit","id":1,"symbol":"FOK1","side":"sell","price":"10","qty":5}"#);
    a.expect(r#"{"type":"ack","id":1}"#);
    a.send(r#"{"op":"limit","id":2,"symbol":"FOK1","side":"sell","price":"10.5","qty":5}"#);
    a.expect(r#"{"type":"ack","id":2}"#);

    // 10 cross its limit, it wants 11: nothing trades, all of it expires.
    b.send(
        r#"{"op":"limit","id":11,"symbol":"FOK1","side":"buy","price":"10.5","qty":11,"tif":"fok"}"#,
    );
    b.expect(r#"{"type":"ack","id":11}"#);
    b.expect(r#"{"type":"done","id":11,"reason":"expired","leaves":11}"#);
    a.expect_idle();

    // Its id is used up like any accepted order's.
    b.send(r#"{"op":"limit","id":11,"symbol":"FOK1","side":"buy","price":"1","qty":1}"#);
    b.expect(r#"{"type":"reject","id":11,"reason":"id not increasing"}"#);

    // Exactly enough across two levels: it fills like an ioc.
    b.send(
        r#"{"op":"limit","id":12,"symbol":"FOK1","side":"buy","price":"10.5","qty":10,"tif":"fok"}"#,
    );
    b.expect(r#"{"type":"ack","id":12}"#);
    let m1 = b.expect_fill(
        r#"{"type":"fill","id":12,"symbol":"FOK1","side":"buy","price":"10","qty":5,"leaves":5}"#,
    );
    let m2 = b.expect_fill(
        r#"{"type":"fill","id":12,"symbol":"FOK1","side":"buy","price":"10.5","qty":5,"leaves":0}"#,
    );
    b.expect(r#"{"type":"done","id":12,"reason":"filled","leaves":0}"#);
    assert!(m1 < m2, "match ids must increase: {m1} {m2}");
    a.expect_set(&[
        r#"{"type":"fill","id":1,"symbol":"FOK1","side":"sell","price":"10","qty":5,"leaves":0}"#,
        r#"{"type":"done","id":1,"reason":"filled","leaves":0}"#,
        r#"{"type":"fill","id":2,"symbol":"FOK1","side":"sell","price":"10.5","qty":5,"leaves":0}"#,
        r#"{"type":"done","id":2,"reason":"filled","leaves":0}"#,
    ]);

    // An empty book: a fok expires at once and never rests.
    b.send(
        r#"{"op":"limit","id":13,"symbol":"FOK1","side":"sell","price":"1","qty":3,"tif":"fok"}"#,
    );
    b.expect(r#"{"type":"ack","id":13}"#);
    b.expect(r#"{"type":"done","id":13,"reason":"expired","leaves":3}"#);
    a.send(r#"{"op":"market","id":3,"symbol":"FOK1","side":"buy","qty":3}"#);
    a.expect(r#"{"type":"ack","id":3}"#);
    a.expect(r#"{"type":"done","id":3,"reason":"expired","leaves":3}"#);
    a.expect_idle();
    b.expect_idle();
}

#[test]
fn post_that_would_cross_is_refused_and_otherwise_rests() {
    let server = Server::start(&[]);
    let mut a = Client::connect(server.tcp);
    let mut b = Client::connect(server.tcp);

    a.send(r#"{"op":"limit","id":1,"symbol":"POST","side":"buy","price":"9.99","qty":4}"#);
    a.expect(r#"{"type":"ack","id":1}"#);

    // Would trade with the bid at 9.99: refused, nothing changes, no ack.
    b.send(
        r#"{"op":"limit","id":21,"symbol":"POST","side":"sell","price":"9.99","qty":1,"tif":"post"}"#,
    );
    b.expect(r#"{"type":"reject","id":21,"reason":"would cross"}"#);
    a.expect_idle();

    // A refused order does not use its id up; above the bid it rests as gtc.
    b.send(
        r#"{"op":"limit","id":21,"symbol":"POST","side":"sell","price":"10","qty":6,"tif":"post"}"#,
    );
    b.expect(r#"{"type":"ack","id":21}"#);
    b.expect_idle();

    // The resting post order trades like any resting order, at its own price.
    a.send(r#"{"op":"limit","id":2,"symbol":"POST","side":"buy","price":"10.01","qty":6}"#);
    a.expect(r#"{"type":"ack","id":2}"#);
    a.expect_fill(
        r#"{"type":"fill","id":2,"symbol":"POST","side":"buy","price":"10","qty":6,"leaves":0}"#,
    );
    a.expect(r#"{"type":"done","id":2,"reason":"filled","leaves":0}"#);
    b.expect_fill(
        r#"{"type":"fill","id":21,"symbol":"POST","side":"sell","price":"10","qty":6,"leaves":0}"#,
    );
    b.expect(r#"{"type":"done","id":21,"reason":"filled","leaves":0}"#);

    // The bid at 9.99 is still there, untouched by the refused order.
    a.send(r#"{"op":"cancel","id":1,"symbol":"POST"}"#);
    a.expect(r#"{"type":"done","id":1,"reason":"cancelled","leaves":4}"#);
    b.expect_idle();
}

#[test]
fn unknown_tif_values_are_still_refused() {
    let server = Server::start(&[]);
    let mut a = Client::connect(server.tcp);
    for tif in [r#""FOK""#, r#""day""#, r#""gtd""#, "2"] {
        a.send(&format!(
            r#"{{"op":"limit","id":5,"symbol":"T","side":"buy","price":"1","qty":1,"tif":{tif}}}"#
        ));
        a.expect_reject(5, "tif");
    }
}
