//! *v2* order management over real sockets (PROTOCOL.md "Requests", "Matching rules"):
//! `amend` (reduce keeps time priority, a new price or a larger quantity goes to the back, a
//! crossing amend trades, `post` amended to cross is refused), `orders` and `cancel_all` with
//! and without a symbol (across every matching lane), self-trade prevention's three modes and
//! `fok` under `stp`; and reports of an amend reaching the account's other sessions.

mod support;

use support::{Client, Server};

fn limit(id: u64, symbol: &str, side: &str, price: &str, qty: u64) -> String {
    format!(
        r#"{{"op":"limit","id":{id},"symbol":"{symbol}","side":"{side}","price":"{price}","qty":{qty}}}"#
    )
}

#[test]
fn amend_keeps_priority_only_when_it_reduces() {
    let server = Server::start(&[]);
    let mut a = Client::login(server.tcp, "alice", "");
    let mut b = Client::login(server.tcp, "bob", "");
    a.send(&limit(1, "AMD", "sell", "10", 5));
    a.expect(r#"{"type":"ack","id":1}"#);
    a.send(&limit(2, "AMD", "sell", "10", 5));
    a.expect(r#"{"type":"ack","id":2}"#);
    // Reduce 1: it stays ahead of 2.
    a.send(r#"{"op":"amend","id":1,"symbol":"AMD","qty":3}"#);
    a.expect(r#"{"type":"amended","id":1,"price":"10","leaves":3}"#);
    b.send(&limit(10, "AMD", "buy", "10", 3));
    b.expect(r#"{"type":"ack","id":10}"#);
    b.expect_fill(
        r#"{"type":"fill","id":10,"symbol":"AMD","side":"buy","price":"10","qty":3,"leaves":0}"#,
    );
    b.expect(r#"{"type":"done","id":10,"reason":"filled","leaves":0}"#);
    a.expect_fill(
        r#"{"type":"fill","id":1,"symbol":"AMD","side":"sell","price":"10","qty":3,"leaves":0}"#,
    );
    a.expect(r#"{"type":"done","id":1,"reason":"filled","leaves":0}"#);
    // Increase 2: it goes behind 3.
    a.send(&limit(3, "AMD", "sell", "10", 1));
    a.expect(r#"{"type":"ack","id":3}"#);
    a.send(r#"{"op":"amend","id":2,"symbol":"AMD","qty":6}"#);
    a.expect(r#"{"type":"amended","id":2,"price":"10","leaves":6}"#);
    b.send(&limit(11, "AMD", "buy", "10", 1));
    b.expect(r#"{"type":"ack","id":11}"#);
    b.expect_fill(
        r#"{"type":"fill","id":11,"symbol":"AMD","side":"buy","price":"10","qty":1,"leaves":0}"#,
    );
    b.expect(r#"{"type":"done","id":11,"reason":"filled","leaves":0}"#);
    a.expect_fill(
        r#"{"type":"fill","id":3,"symbol":"AMD","side":"sell","price":"10","qty":1,"leaves":0}"#,
    );
    a.expect(r#"{"type":"done","id":3,"reason":"filled","leaves":0}"#);
    // Amends to the current values change nothing; neither field is refused; others' orders
    // and other symbols are unknown.
    a.send(r#"{"op":"amend","id":2,"symbol":"AMD","qty":6,"price":"10"}"#);
    a.expect(r#"{"type":"amended","id":2,"price":"10","leaves":6}"#);
    a.send(r#"{"op":"amend","id":2,"symbol":"AMD"}"#);
    a.expect(r#"{"type":"reject","id":2,"reason":"nothing to amend"}"#);
    b.send(r#"{"op":"amend","id":2,"symbol":"AMD","qty":1}"#);
    b.expect(r#"{"type":"reject","id":2,"reason":"unknown order"}"#);
    a.send(r#"{"op":"amend","id":2,"symbol":"AMD2","qty":1}"#);
    a.expect(r#"{"type":"reject","id":2,"reason":"unknown order"}"#);
    a.expect_idle();
    b.expect_idle();
}

#[test]
fn a_crossing_amend_trades_and_its_reports_reach_every_session() {
    let server = Server::start(&[]);
    let mut a1 = Client::login(server.tcp, "alice", "");
    let mut a2 = Client::login(server.tcp, "alice", "");
    let mut b = Client::login(server.tcp, "bob", "");
    b.send(&limit(1, "XAM", "sell", "10", 4));
    b.expect(r#"{"type":"ack","id":1}"#);
    a1.send(&limit(5, "XAM", "buy", "9", 10));
    a1.expect(r#"{"type":"ack","id":5}"#);
    // Up to 10: it trades 4 at 10, the rest rests at 10.
    a1.send(r#"{"op":"amend","id":5,"symbol":"XAM","price":"10"}"#);
    a1.expect(r#"{"type":"amended","id":5,"price":"10","leaves":10}"#);
    let fill =
        r#"{"type":"fill","id":5,"symbol":"XAM","side":"buy","price":"10","qty":4,"leaves":6}"#;
    a1.expect_fill(fill);
    a2.expect_fill(fill);
    b.expect_fill(
        r#"{"type":"fill","id":1,"symbol":"XAM","side":"sell","price":"10","qty":4,"leaves":0}"#,
    );
    b.expect(r#"{"type":"done","id":1,"reason":"filled","leaves":0}"#);
    // A post order amended to cross is refused and stays.
    a1.send(
        r#"{"op":"limit","id":6,"symbol":"XAM","side":"sell","price":"11","qty":2,"tif":"post"}"#,
    );
    a1.expect(r#"{"type":"ack","id":6}"#);
    a1.send(r#"{"op":"amend","id":6,"symbol":"XAM","price":"10"}"#);
    a1.expect(r#"{"type":"reject","id":6,"reason":"would cross"}"#);
    a2.send(r#"{"op":"orders","symbol":"XAM"}"#);
    a2.expect(r#"{"type":"order","id":5,"symbol":"XAM","side":"buy","price":"10","leaves":6,"tif":"gtc"}"#);
    a2.expect(r#"{"type":"order","id":6,"symbol":"XAM","side":"sell","price":"11","leaves":2,"tif":"post"}"#);
    a2.expect(r#"{"type":"orders_end","count":2}"#);
    a1.expect_idle();
    a2.expect_idle();
}

#[test]
fn orders_and_cancel_all_span_every_symbol() {
    // Four matching lanes: a request on every book is answered by all of them, merged.
    let server = Server::start_with_config("[stages.match]\nlanes = 4\n");
    let mut a1 = Client::login(server.tcp, "alice", "");
    let mut a2 = Client::login(server.tcp, "alice", "");
    let mut b = Client::login(server.tcp, "bob", "");
    // Many symbols, so they spread over every matching lane; ids not in symbol order.
    let symbols: Vec<String> = (0..12).map(|i| format!("S{i}")).collect();
    for (i, s) in symbols.iter().enumerate() {
        let id = 100 + (i as u64 * 7) % 12;
        let id = id + 20 * i as u64;
        a1.send(&limit(id, s, "buy", "5", 1 + i as u64));
        a1.expect(&format!(r#"{{"type":"ack","id":{id}}}"#));
    }
    b.send(&limit(1, "S0", "buy", "5", 1));
    b.expect(r#"{"type":"ack","id":1}"#);
    a2.send(r#"{"op":"orders"}"#);
    let listed = a2.recv_n(13);
    let ids: Vec<u64> = listed[..12]
        .iter()
        .map(|v| v["id"].as_u64().unwrap())
        .collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!(ids, sorted, "ascending by id: {listed:?}");
    assert!(
        listed[..12].iter().all(|v| v["type"] == "order"),
        "{listed:?}"
    );
    assert_eq!(
        listed[12],
        serde_json::json!({"type": "orders_end", "count": 12})
    );
    // cancel_all on one symbol, then on all: a done per order ascending, then the count; the
    // other session gets the dones.
    a2.send(r#"{"op":"cancel_all","symbol":"S3"}"#);
    // S3's order: id 100 + 21 % 12 + 60, quantity 4.
    let done3 = r#"{"type":"done","id":169,"reason":"cancelled","leaves":4}"#;
    a2.expect(done3);
    a2.expect(r#"{"type":"cancel_all_done","count":1}"#);
    a1.expect(done3);
    a2.send(r#"{"op":"cancel_all"}"#);
    let answer = a2.recv_n(12);
    assert_eq!(
        answer[11],
        serde_json::json!({"type": "cancel_all_done", "count": 11})
    );
    let done_ids: Vec<u64> = answer[..11]
        .iter()
        .map(|v| v["id"].as_u64().unwrap())
        .collect();
    let expected: Vec<u64> = sorted.iter().copied().filter(|&id| id != 169).collect();
    assert_eq!(done_ids, expected);
    assert_eq!(a1.recv_n(11).len(), 11);
    a2.send(r#"{"op":"orders"}"#);
    a2.expect(r#"{"type":"orders_end","count":0}"#);
    // bob's order was not touched.
    b.send(r#"{"op":"orders"}"#);
    b.expect(
        r#"{"type":"order","id":1,"symbol":"S0","side":"buy","price":"5","leaves":1,"tif":"gtc"}"#,
    );
    b.expect(r#"{"type":"orders_end","count":1}"#);
    // A malformed symbol is an error (no id to reject).
    b.send(r#"{"op":"orders","symbol":"bad sym"}"#);
    b.expect(r#"{"type":"error","reason":"invalid symbol"}"#);
    a1.expect_idle();
}

#[test]
fn self_trade_prevention_in_its_three_modes() {
    let server = Server::start(&[]);
    let mut a = Client::login(server.tcp, "alice", "");
    let mut b = Client::login(server.tcp, "bob", "");
    // alice rests 2 at 10 (id 1), bob 2 at 10 behind it (id 1 of his own).
    a.send(&limit(1, "STP", "sell", "10", 2));
    a.expect(r#"{"type":"ack","id":1}"#);
    b.send(&limit(1, "STP", "sell", "10", 2));
    b.expect(r#"{"type":"ack","id":1}"#);
    // cancel_taker: alice's buy meets her own order first: it ends, nothing trades.
    a.send(r#"{"op":"limit","id":2,"symbol":"STP","side":"buy","price":"10","qty":3,"stp":"cancel_taker"}"#);
    a.expect(r#"{"type":"ack","id":2}"#);
    a.expect(r#"{"type":"done","id":2,"reason":"self trade","leaves":3}"#);
    // cancel_maker: her resting order leaves, the buy trades with bob's behind it.
    a.send(r#"{"op":"limit","id":3,"symbol":"STP","side":"buy","price":"10","qty":3,"stp":"cancel_maker"}"#);
    a.expect(r#"{"type":"ack","id":3}"#);
    a.expect(r#"{"type":"done","id":1,"reason":"self trade","leaves":2}"#);
    a.expect_fill(
        r#"{"type":"fill","id":3,"symbol":"STP","side":"buy","price":"10","qty":2,"leaves":1}"#,
    );
    b.expect_fill(
        r#"{"type":"fill","id":1,"symbol":"STP","side":"sell","price":"10","qty":2,"leaves":0}"#,
    );
    b.expect(r#"{"type":"done","id":1,"reason":"filled","leaves":0}"#);
    // The rest of id 3 (1 at 10) rests. cancel_both: a sell meeting it cancels both.
    a.send(r#"{"op":"limit","id":4,"symbol":"STP","side":"sell","price":"10","qty":1,"stp":"cancel_both"}"#);
    a.expect(r#"{"type":"ack","id":4}"#);
    let answer = a.recv_n(2);
    assert!(
        answer
            .contains(&serde_json::json!({"type":"done","id":3,"reason":"self trade","leaves":1})),
        "{answer:?}"
    );
    assert!(
        answer
            .contains(&serde_json::json!({"type":"done","id":4,"reason":"self trade","leaves":1})),
        "{answer:?}"
    );
    // stp none (the default): the account's orders trade with each other.
    a.send(&limit(5, "STP", "sell", "10", 1));
    a.expect(r#"{"type":"ack","id":5}"#);
    a.send(&limit(6, "STP", "buy", "10", 1));
    a.expect(r#"{"type":"ack","id":6}"#);
    let trade = a.recv_n(4);
    assert_eq!(
        trade.iter().filter(|v| v["type"] == "fill").count(),
        2,
        "{trade:?}"
    );
    a.expect_idle();
    b.expect_idle();
}

#[test]
fn fok_under_stp_counts_only_what_it_may_trade() {
    let server = Server::start(&[]);
    let mut a = Client::login(server.tcp, "alice", "");
    let mut b = Client::login(server.tcp, "bob", "");
    a.send(&limit(1, "FKS", "sell", "10", 5));
    a.expect(r#"{"type":"ack","id":1}"#);
    b.send(&limit(1, "FKS", "sell", "10", 5));
    b.expect(r#"{"type":"ack","id":1}"#);
    // 10 cross, but 5 are her own and cancel_taker stops at them: it expires untouched, and
    // no self-trade cancel happens.
    a.send(r#"{"op":"limit","id":2,"symbol":"FKS","side":"buy","price":"10","qty":6,"tif":"fok","stp":"cancel_taker"}"#);
    a.expect(r#"{"type":"ack","id":2}"#);
    a.expect(r#"{"type":"done","id":2,"reason":"expired","leaves":6}"#);
    a.send(r#"{"op":"orders","symbol":"FKS"}"#);
    a.expect(r#"{"type":"order","id":1,"symbol":"FKS","side":"sell","price":"10","leaves":5,"tif":"gtc"}"#);
    a.expect(r#"{"type":"orders_end","count":1}"#);
    a.expect_idle();
    b.expect_idle();
}
