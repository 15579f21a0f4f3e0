//! Market data fed by real trading (PROTOCOL.md "Market data"): the contract example's
//! WebSocket subscriber line for line; trades, bbo and candles following the orders; and a
//! randomized order flow whose book, rebuilt by a subscriber from its snapshot and every
//! update, equals `GET /depth` and the sequence has no gap; and a subscriber that never reads
//! while orders trade, cut off without slowing them.

mod support;

use serde_json::Value;
use support::{get, Client, DepthBook, Rng, Server, WsClient, KEYS};

#[test]
fn the_contract_examples_subscriber_line_for_line() {
    let server = Server::start_with_config(KEYS);
    let mut w = WsClient::connect(server.http);
    w.subscribe("depth", "ACME");
    assert_eq!(
        w.text(),
        r#"{"type":"depth","symbol":"ACME","seq":0,"bids":[],"asks":[]}"#
    );
    let mut a = Client::login(server.tcp, "alice", "k-a");
    let mut b = Client::login(server.tcp, "bob", "k-b");
    // W reads each update before the next request, so none is merged with the next.
    let mut w_expects = |expected: &str| {
        let got: Value = serde_json::from_str(&w.text()).expect("JSON");
        let want: Value = serde_json::from_str(expected).expect("JSON");
        assert_eq!(got, want);
    };
    a.send(r#"{"op":"limit","id":1,"symbol":"ACME","side":"sell","price":"10.05","qty":100}"#);
    a.expect(r#"{"type":"ack","id":1}"#);
    w_expects(
        r#"{"type":"depth_update","symbol":"ACME","first_seq":1,"seq":1,"bids":[],"asks":[["10.05",100]]}"#,
    );
    b.send(r#"{"op":"limit","id":2,"symbol":"ACME","side":"buy","price":"10.10","qty":40}"#);
    b.expect(r#"{"type":"ack","id":2}"#);
    a.recv();
    b.recv_n(2);
    w_expects(
        r#"{"type":"depth_update","symbol":"ACME","first_seq":2,"seq":2,"bids":[],"asks":[["10.05",60]]}"#,
    );
    a.send(r#"{"op":"amend","id":1,"symbol":"ACME","qty":50}"#);
    a.expect(r#"{"type":"amended","id":1,"price":"10.05","leaves":50}"#);
    w_expects(
        r#"{"type":"depth_update","symbol":"ACME","first_seq":3,"seq":3,"bids":[],"asks":[["10.05",50]]}"#,
    );
    a.send(r#"{"op":"orders"}"#);
    a.recv_n(2);
    a.send(r#"{"op":"cancel","id":1,"symbol":"ACME"}"#);
    a.expect(r#"{"type":"done","id":1,"reason":"cancelled","leaves":50}"#);
    w_expects(
        r#"{"type":"depth_update","symbol":"ACME","first_seq":4,"seq":4,"bids":[],"asks":[["10.05",0]]}"#,
    );
}

#[test]
fn trades_bbo_and_candles_follow_the_orders() {
    let server = Server::start(&[]);
    let mut w = WsClient::connect(server.http);
    w.subscribe("trades", "TRD");
    w.subscribe("bbo", "TRD");
    let empty = w.json();
    assert_eq!(empty["type"], "bbo");
    assert_eq!(empty["seq"], 0);
    let mut a = Client::connect(server.tcp);
    let mut b = Client::connect(server.tcp);
    a.send(r#"{"op":"limit","id":1,"symbol":"TRD","side":"sell","price":"10.05","qty":100}"#);
    a.expect(r#"{"type":"ack","id":1}"#);
    let bbo = w.json();
    assert_eq!(
        (
            &bbo["type"],
            &bbo["seq"],
            &bbo["ask"],
            &bbo["ask_qty"],
            &bbo["bid"]
        ),
        (
            &Value::from("bbo"),
            &Value::from(1),
            &Value::from("10.05"),
            &Value::from(100),
            &Value::Null
        )
    );
    b.send(r#"{"op":"market","id":1,"symbol":"TRD","side":"buy","qty":40}"#);
    b.expect(r#"{"type":"ack","id":1}"#);
    // The trade (never merged), then the new best offer, in the order they happened.
    let mut got = [w.json(), w.json()];
    got.sort_by_key(|v| v["type"].as_str().unwrap_or_default().to_owned());
    let (bbo, trade) = (&got[0], &got[1]);
    assert_eq!(trade["type"], "trade");
    assert_eq!(
        (
            &trade["match"],
            &trade["price"],
            &trade["qty"],
            &trade["taker"]
        ),
        (
            &Value::from(1),
            &Value::from("10.05"),
            &Value::from(40),
            &Value::from("buy")
        )
    );
    assert!(
        trade["time"].as_u64().unwrap_or(0) > 1_600_000_000_000,
        "{trade}"
    );
    assert_eq!(
        (&bbo["seq"], &bbo["ask_qty"]),
        (&Value::from(2), &Value::from(60))
    );
    // The HTTP snapshots agree.
    let trades = get(server.http, "/trades?symbol=TRD").json();
    assert_eq!(trades.as_array().map(Vec::len), Some(1), "{trades}");
    assert_eq!(trades[0]["match"], 1);
    let klines = get(server.http, "/klines?symbol=TRD&interval=1h").json();
    let open = &klines[0];
    assert_eq!(
        (
            &open["open"],
            &open["volume"],
            &open["trades"],
            &open["closed"]
        ),
        (
            &Value::from("10.05"),
            &Value::from(40),
            &Value::from(1),
            &Value::from(false)
        )
    );
}

#[test]
fn a_subscriber_rebuilds_the_book_of_a_random_flow_exactly() {
    rebuilds_a_random_flow(&Server::start(&[]));
}

#[test]
fn with_a_journal_book_changes_are_published_once_durable_and_still_chain() {
    let dir = tempfile::tempdir().expect("a temporary journal directory");
    let journal = dir.path().to_str().expect("utf-8 path");
    rebuilds_a_random_flow(&Server::start(&["--journal", journal]));
}

fn rebuilds_a_random_flow(server: &Server) {
    let mut w = WsClient::connect(server.http);
    w.subscribe("depth", "RND");
    let mut book = DepthBook::of(&w.json());
    assert_eq!(book.seq, 0);
    let mut rng = Rng::new(0x6d64);
    let mut clients: Vec<Client> = (0..3).map(|_| Client::connect(server.tcp)).collect();
    for id in 1..=400u64 {
        let c = &mut clients[rng.below(3) as usize];
        let side = if rng.below(2) == 0 { "buy" } else { "sell" };
        let price = 95 + rng.below(11);
        let qty = 1 + rng.below(20);
        let line = match rng.below(10) {
            0 => format!(
                r#"{{"op":"cancel","id":{},"symbol":"RND"}}"#,
                id.saturating_sub(3)
            ),
            1 => {
                format!(r#"{{"op":"market","id":{id},"symbol":"RND","side":"{side}","qty":{qty}}}"#)
            }
            _ => format!(
                r#"{{"op":"limit","id":{id},"symbol":"RND","side":"{side}","price":"{price}","qty":{qty}}}"#
            ),
        };
        c.send(&line);
    }
    // Every request answered: the books are final.
    for c in &mut clients {
        c.send(r#"{"op":"ping"}"#);
        while c.recv()["type"] != "pong" {}
    }
    let expected = DepthBook::of(&get(server.http, "/depth?symbol=RND").json());
    while book.seq < expected.seq {
        book.update(&w.json());
    }
    assert_eq!(book, expected);
}

#[test]
fn a_subscriber_that_never_reads_is_cut_off_and_orders_are_not_held_up() {
    /// Trades per round; rounds go on until the server cut W off (the kernel's send buffer,
    /// up to `tcp_wmem`'s maximum, takes some megabytes before anything stays unsent).
    const TRADES: u64 = 5_000;
    const MOST_ROUNDS: u64 = 40;
    let server = Server::start_with_config("[market]\nunsent_cap = 65536\n");
    let mut w = WsClient::connect_with_receive_buffer(server.http, 4096);
    w.subscribe("trades", "SLOW");
    w.subscribe("depth", "SLOW");
    assert_eq!(w.json()["seq"], 0);
    // From here on W reads nothing, while every one of the trades below is queued for it.
    let (mut maker, mut taker) = (Client::connect(server.tcp), Client::connect(server.tcp));
    let orders = |ids: std::ops::Range<u64>, f: &dyn Fn(u64) -> String| {
        ids.map(f).collect::<Vec<_>>().join("\n")
    };
    let mut round = 0;
    while server.metric("sedaflow_market_slow_consumers_total") == 0.0 {
        assert!(round < MOST_ROUNDS, "W was never cut off");
        let ids = round * TRADES + 1..(round + 1) * TRADES + 1;
        round += 1;
        maker.send(&orders(ids.clone(), &|id| {
            format!(
                r#"{{"op":"limit","id":{id},"symbol":"SLOW","side":"sell","price":"10","qty":1}}"#
            )
        }));
        for _ in ids.clone() {
            assert_eq!(maker.recv()["type"], "ack");
        }
        taker.send(&orders(ids.clone(), &|id| {
            format!(r#"{{"op":"market","id":{id},"symbol":"SLOW","side":"buy","qty":1}}"#)
        }));
        // Every order is answered in full: ack, fill, done per taker; fill, done per maker.
        for id in ids.clone() {
            let got: Vec<Value> = taker.recv_n(3);
            let kinds: Vec<&str> = got.iter().filter_map(|v| v["type"].as_str()).collect();
            assert_eq!(kinds, ["ack", "fill", "done"], "taker order {id}");
        }
        for _ in ids {
            let got = maker.recv_n(2);
            assert_eq!(
                (&got[0]["type"], &got[1]["type"]),
                (&Value::from("fill"), &Value::from("done"))
            );
        }
    }
    let depth = get(server.http, "/depth?symbol=SLOW").json();
    assert_eq!(
        depth["seq"],
        2 * TRADES * round,
        "every order changed the book"
    );
    // W was cut off, not waited for: with `slow consumer` last when its socket had room for
    // it, else in the middle of what it had not read.
    let (_, last) = w.until_end();
    let last = last.unwrap_or_default();
    assert!(
        last == r#"{"type":"error","reason":"slow consumer"}"#
            || last.contains(r#""type":"trade""#),
        "{last}"
    );
    assert_eq!(server.metric("sedaflow_market_slow_consumers_total"), 1.0);
}
