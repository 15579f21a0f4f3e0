//! Market data on the scale-out roles (PROTOCOL.md "Market data", issue 19): every ingress
//! serves every symbol, numbered as the matchers' books number their changes. A subscriber on
//! one ingress follows orders entered on another through a `kill -9` of a matcher and its
//! take-over without a gap or a repeated trade, its rebuilt books equal `GET /depth` on every
//! ingress, and an ingress started afterwards rebuilds the same books and trades.

mod support;

use std::collections::BTreeMap;

use serde_json::Value;
use support::{get, symbols, wait_until, Client, Cluster, DepthBook, Flow, Req, WsClient};

const CLIENTS: u64 = 3;
/// Orders per client; half are sent before the kill.
const ORDERS: usize = 300;
/// Enough symbols that the killed matcher surely owned some of their partitions.
const SYMBOLS: usize = 8;

#[test]
fn every_ingress_serves_one_sequence_per_book_across_a_take_over() {
    let mut cluster = Cluster::start_with(2, 2, "");
    let names = symbols("MD", SYMBOLS);
    let mut w = WsClient::connect(cluster.others[0].http);
    let mut books = BTreeMap::new();
    for s in &names {
        w.subscribe("depth", s);
        let book = DepthBook::of(&w.json());
        assert_eq!(book.seq, 0, "a fresh deployment's book");
        books.insert(s.clone(), book);
        w.subscribe("trades", s);
    }

    // Orders on the first ingress, the second half of each client's sent right after a
    // matcher is killed while the first half's answers are still on their way.
    let mut clients: Vec<(Client, Vec<_>)> = (0..CLIENTS)
        .map(|c| {
            let reqs = Flow::new(0x6d6b + c, names.clone(), 1).orders(ORDERS);
            (Client::connect(cluster.ingress.tcp), reqs)
        })
        .collect();
    for (client, reqs) in &mut clients {
        client.send_reqs(&reqs[..reqs.len() / 2]);
    }
    cluster.matchers[0].kill9();
    for (client, reqs) in &mut clients {
        client.send_reqs(&reqs[reqs.len() / 2..]);
        // Answered in order: once the last pong is in, every request before it is matched.
        client.send(r#"{"op":"ping"}"#);
        let mut pongs = 1 + reqs.iter().filter(|r| matches!(r, Req::Ping)).count();
        while pongs > 0 {
            pongs -= usize::from(client.recv()["type"] == "pong");
        }
    }
    cluster.wait_owned_by(&[1]);
    // A last order per book, far from the others: a matcher publishes book changes before
    // answers, so once it is acknowledged, an ingress showing it has every change before it.
    let mut last = Client::connect(cluster.ingress.tcp);
    for (i, s) in names.iter().enumerate() {
        let id = 1 + i;
        last.send(&format!(
            r#"{{"op":"limit","id":{id},"symbol":"{s}","side":"buy","price":"0.01","qty":1}}"#
        ));
        last.expect(&format!(r#"{{"type":"ack","id":{id}}}"#));
    }
    let depth = |addr, s: &str| get(addr, &format!("/depth?symbol={s}")).json();
    let settled = |addr, s: &str| {
        let mut book = None;
        wait_until(&format!("{addr} shows {s}'s last order"), || {
            let d = depth(addr, s);
            let shown = d["bids"].as_array().and_then(|b| b.last()).map(|l| &l[0]);
            book = Some(d.clone());
            shown == Some(&Value::from("0.01"))
        });
        DepthBook::of(&book.expect("read at least once"))
    };

    // The subscriber on the other ingress follows every book to its last change.
    let expected: BTreeMap<String, DepthBook> = names
        .iter()
        .map(|s| (s.clone(), settled(cluster.ingress.http, s)))
        .collect();
    let traded: u64 = names
        .iter()
        .map(|s| last_match(cluster.ingress.http, s))
        .sum();
    assert!(traded > 0, "the flow traded nothing: nothing was tested");
    let mut trades: BTreeMap<String, u64> = BTreeMap::new();
    while books.iter().any(|(s, b)| b.seq < expected[s].seq)
        || trades.values().sum::<u64>() < traded
    {
        let message = w.json();
        let symbol = message["symbol"].as_str().expect("a symbol").to_owned();
        match message["type"].as_str() {
            Some("depth_update") => books
                .get_mut(&symbol)
                .expect("a subscribed symbol")
                .update(&message),
            Some("trade") => {
                let last = trades.entry(symbol).or_default();
                assert_eq!(message["match"], *last + 1, "a trade missing or repeated");
                *last += 1;
            }
            _ => panic!("unexpected {message}"),
        }
    }
    assert_eq!(books, expected, "the rebuilt books differ from GET /depth");

    // Every ingress, one started only now included, shows the same books and trades.
    let late = cluster.add_ingress().http;
    let ingresses = [cluster.ingress.http, cluster.others[0].http, late];
    for s in &names {
        let want = &expected[s];
        settled(late, s);
        let trades_at = |addr| get(addr, &format!("/trades?symbol={s}&limit=1000")).json();
        let first = trades_at(cluster.ingress.http);
        for addr in ingresses {
            assert_eq!(&DepthBook::of(&depth(addr, s)), want, "{s} at {addr}");
            assert_eq!(trades_at(addr), first, "{s}'s trades at {addr}");
        }
    }
}

/// The `match` of `symbol`'s last trade at `addr` (0: none).
fn last_match(addr: std::net::SocketAddr, symbol: &str) -> u64 {
    let trades: Value = get(addr, &format!("/trades?symbol={symbol}&limit=1")).json();
    trades[0]["match"].as_u64().unwrap_or(0)
}
