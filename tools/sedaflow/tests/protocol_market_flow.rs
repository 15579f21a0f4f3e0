//! Market data fed by real trading (PROTOCOL.md "Market data"): the contract example's
//! WebSocket subscriber line for line; trades, bbo and candles following the orders; and a
//! randomized order flow whose book, rebuilt by a subscriber from its snapshot and every
//! update, equals `GET /depth` and the sequence has no gap, also for subscribers that come and
//! go mid-flow; and a subscriber that never reads while orders trade, cut off without slowing
//! them.

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
    let mut flow = RandomFlow::new(server, "RND");
    for id in 1..=400u64 {
        flow.send(id);
    }
    flow.finish();
    let expected = DepthBook::of(&get(server.http, "/depth?symbol=RND").json());
    while book.seq < expected.seq {
        book.update(&w.json());
    }
    assert_eq!(book, expected);
}

/// Matching applies the changes of a book nobody subscribes to itself, and hands them to
/// market data while someone does: a subscriber that comes mid-flow must still get the state
/// at its `seq` and every change after it, one that leaves must get a gapless chain up to
/// its `unsubscribed`, and the snapshots must hold every change and trade, whoever applied
/// them.
#[test]
fn subscribers_that_come_and_go_mid_flow_each_get_a_gapless_chain() {
    let server = Server::start(&[]);
    let mut flow = RandomFlow::new(&server, "MID");
    let mut watching: Vec<(WsClient, DepthBook)> = Vec::new();
    let mut chains = 0;
    for id in 1..=1_000u64 {
        match id % 100 {
            // Every 100 orders someone subscribes, and 50 orders later the oldest leaves:
            // the book goes from unwatched to watched and back, or stays watched.
            0 => {
                let mut w = WsClient::connect(server.http);
                w.subscribe("depth", "MID");
                let book = DepthBook::of(&w.json());
                watching.push((w, book));
            }
            50 if id % 300 != 50 && !watching.is_empty() => {
                let (mut w, mut book) = watching.remove(0);
                w.send(r#"{"op":"unsubscribe","channel":"depth","symbol":"MID"}"#);
                loop {
                    let message = w.json();
                    if message["type"] == "unsubscribed" {
                        break;
                    }
                    book.update(&message);
                }
                chains += 1;
            }
            _ => {}
        }
        flow.send(id);
    }
    flow.finish();
    assert!(
        chains >= 3 && watching.len() >= 2,
        "{chains} left, {}",
        watching.len()
    );
    let expected = DepthBook::of(&get(server.http, "/depth?symbol=MID").json());
    for (mut w, mut book) in watching {
        while book.seq < expected.seq {
            book.update(&w.json());
        }
        assert_eq!(book, expected);
    }
    // Every trade once, in match order.
    let trades = get(server.http, "/trades?symbol=MID&limit=1000").json();
    let matches: Vec<u64> = trades
        .as_array()
        .expect("an array")
        .iter()
        .map(|t| t["match"].as_u64().expect("a match id"))
        .collect();
    assert!(matches.len() > 100, "{} trades", matches.len());
    assert!(
        matches.windows(2).all(|w| w[1] == w[0] + 1),
        "gaps or repeats: {matches:?}"
    );
    // Each change applied once: by matching while nobody watched, by the stage otherwise.
    let by = |who: &str| {
        let label = format!(r#"by="{who}""#);
        server.series("sedaflow_market_deltas_total", &[label.as_str()])
    };
    let (matching, stage) = (by("matching"), by("stage"));
    assert!(matches!(matching, Some(n) if n > 0.0), "{matching:?}");
    assert!(matches!(stage, Some(n) if n > 0.0), "{stage:?}");
    assert_eq!(
        server.metric("sedaflow_market_deltas_total"),
        expected.seq as f64
    );
}

/// Random limit, market and cancel requests on one symbol from three sessions, sent without
/// waiting for the answers.
struct RandomFlow {
    rng: Rng,
    clients: Vec<Client>,
    symbol: &'static str,
}

impl RandomFlow {
    fn new(server: &Server, symbol: &'static str) -> RandomFlow {
        RandomFlow {
            rng: Rng::new(0x6d64),
            clients: (0..3).map(|_| Client::connect(server.tcp)).collect(),
            symbol,
        }
    }

    fn send(&mut self, id: u64) {
        let (rng, symbol) = (&mut self.rng, self.symbol);
        let c = &mut self.clients[rng.below(3) as usize];
        let side = if rng.below(2) == 0 { "buy" } else { "sell" };
        let price = 95 + rng.below(11);
        let qty = 1 + rng.below(20);
        let line = match rng.below(10) {
            0 => format!(
                r#"{{"op":"cancel","id":{},"symbol":"{symbol}"}}"#,
                id.saturating_sub(3)
            ),
            1 => format!(
                r#"{{"op":"market","id":{id},"symbol":"{symbol}","side":"{side}","qty":{qty}}}"#
            ),
            _ => format!(
                r#"{{"op":"limit","id":{id},"symbol":"{symbol}","side":"{side}","price":"{price}","qty":{qty}}}"#
            ),
        };
        c.send(&line);
    }

    /// Waits until every request is answered: the book is final.
    fn finish(&mut self) {
        for c in &mut self.clients {
            c.send(r#"{"op":"ping"}"#);
            while c.recv()["type"] != "pong" {}
        }
    }
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
