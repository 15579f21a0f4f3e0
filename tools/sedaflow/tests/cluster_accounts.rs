//! *v2* accounts in a scale-out deployment (PROTOCOL.md "Several processes", "Accounts",
//! "Delivery guarantees"): a named account logged in on two ingresses at once owns its orders
//! through either (`cancel`, `amend`, self-trade prevention), every live session of it gets
//! its resting orders' reports, `orders` and `cancel_all` without a symbol cover every
//! partition, and a matcher that takes partitions over rebuilds who owns what from the log.
//! With `cancel_on_disconnect`, an account's orders are cancelled when its last session over
//! every ingress closes, and the sessions of an ingress that dies count as closed once its
//! presence lapses; one that was only paused finds itself declared gone and exits, and what
//! it logs meanwhile changes nothing.

mod support;

use std::time::Duration;

use sedaflow_stages::cluster::partition_of;
use sedaflow_stages::matching::Symbol;
use support::{signal, wait_until, Client, Cluster, Server, PARTITIONS};

/// Symbols named `S0`, `S1`...: the first one on each of `n` distinct partitions.
fn symbols_on_distinct_partitions(n: usize) -> Vec<String> {
    let mut seen = Vec::new();
    let mut picked = Vec::new();
    for i in 0.. {
        let name = format!("S{i}");
        let symbol = Symbol::new(&name).expect("a valid symbol");
        let p = partition_of(symbol, PARTITIONS);
        if !seen.contains(&p) {
            seen.push(p);
            picked.push(name);
        }
        if picked.len() == n {
            break;
        }
    }
    picked
}

fn login(server: &Server, account: &str) -> Client {
    // `open` mode: the key is not checked.
    Client::login(server.tcp, account, "any")
}

fn sell(id: u64, symbol: &str, price: &str, qty: u64) -> String {
    format!(
        r#"{{"op":"limit","id":{id},"symbol":"{symbol}","side":"sell","price":"{price}","qty":{qty}}}"#
    )
}

#[test]
fn an_account_on_two_ingresses_is_one_account() {
    let cluster = Cluster::start_with(2, 2, "");
    let (on_a, on_b) = (&cluster.ingress, &cluster.others[0]);
    let s = symbols_on_distinct_partitions(2);
    let (s1, s2) = (s[0].as_str(), s[1].as_str());
    let mut a1 = login(on_a, "alice");
    let mut a2 = login(on_b, "alice");
    let mut bob = login(on_b, "bob");
    let mut anon = Client::connect(on_a.tcp);

    a1.send(&sell(1, s1, "10", 100));
    a1.expect(r#"{"type":"ack","id":1}"#);
    a1.send(&sell(2, s2, "20", 10));
    a1.expect(r#"{"type":"ack","id":2}"#);
    // Neither another account nor an anonymous connection may touch them.
    anon.send(&format!(r#"{{"op":"cancel","id":1,"symbol":"{s1}"}}"#));
    anon.expect(r#"{"type":"reject","id":1,"reason":"unknown order"}"#);
    bob.send(&format!(
        r#"{{"op":"amend","id":2,"symbol":"{s2}","qty":1}}"#
    ));
    bob.expect(r#"{"type":"reject","id":2,"reason":"unknown order"}"#);

    // The other session amends it, through the other ingress.
    a2.send(&format!(
        r#"{{"op":"amend","id":1,"symbol":"{s1}","qty":60}}"#
    ));
    a2.expect(r#"{"type":"amended","id":1,"price":"10","leaves":60}"#);

    // A trade against it reaches both sessions, on both ingresses.
    anon.send(&format!(
        r#"{{"op":"limit","id":5,"symbol":"{s1}","side":"buy","price":"10","qty":20}}"#
    ));
    anon.expect(r#"{"type":"ack","id":5}"#);
    let fill = format!(
        r#"{{"type":"fill","id":1,"symbol":"{s1}","side":"sell","price":"10","qty":20,"leaves":40}}"#
    );
    anon.expect_fill(&format!(
        r#"{{"type":"fill","id":5,"symbol":"{s1}","side":"buy","price":"10","qty":20,"leaves":0}}"#
    ));
    anon.expect(r#"{"type":"done","id":5,"reason":"filled","leaves":0}"#);
    a1.expect_fill(&fill);
    a2.expect_fill(&fill);

    // Orders on two partitions, listed as one answer, ascending by id.
    a2.send(r#"{"op":"orders"}"#);
    a2.expect(&format!(
        r#"{{"type":"order","id":1,"symbol":"{s1}","side":"sell","price":"10","leaves":40,"tif":"gtc"}}"#
    ));
    a2.expect(&format!(
        r#"{{"type":"order","id":2,"symbol":"{s2}","side":"sell","price":"20","leaves":10,"tif":"gtc"}}"#
    ));
    a2.expect(r#"{"type":"orders_end","count":2}"#);

    // A cancel through one ingress: its `done` reaches the session on the other one too.
    a2.send(&format!(r#"{{"op":"cancel","id":2,"symbol":"{s2}"}}"#));
    let done2 = r#"{"type":"done","id":2,"reason":"cancelled","leaves":10}"#;
    a2.expect(done2);
    a1.expect(done2);

    a1.send(&sell(3, s2, "30", 1));
    a1.expect(r#"{"type":"ack","id":3}"#);
    // The increasing-id rule is per ingress (PROTOCOL.md "Several processes"), yet the books
    // still know the account's resting ids on every ingress.
    a2.send(&sell(3, s2, "30", 1));
    a2.expect(r#"{"type":"reject","id":3,"reason":"duplicate id"}"#);

    // Self-trade prevention across the account's sessions: the maker's `done` reaches both.
    a2.send(&format!(
        r#"{{"op":"limit","id":4,"symbol":"{s2}","side":"buy","price":"30","qty":1,"stp":"cancel_both"}}"#
    ));
    let done3 = r#"{"type":"done","id":3,"reason":"self trade","leaves":1}"#;
    a2.expect(r#"{"type":"ack","id":4}"#);
    a2.expect(done3);
    a2.expect(r#"{"type":"done","id":4,"reason":"self trade","leaves":1}"#);
    a1.expect(done3);
    a1.send(&sell(5, s2, "30", 1));
    a1.expect(r#"{"type":"ack","id":5}"#);

    // cancel_all over both partitions: one answer, ascending by id, one total.
    a2.send(r#"{"op":"cancel_all"}"#);
    let done1 = r#"{"type":"done","id":1,"reason":"cancelled","leaves":40}"#;
    let done5 = r#"{"type":"done","id":5,"reason":"cancelled","leaves":1}"#;
    a2.expect(done1);
    a2.expect(done5);
    a2.expect(r#"{"type":"cancel_all_done","count":2}"#);
    a1.expect_set(&[done1, done5]);
    a1.send(r#"{"op":"orders"}"#);
    a1.expect(r#"{"type":"orders_end","count":0}"#);

    for c in [&mut a1, &mut a2, &mut bob, &mut anon] {
        c.expect_idle();
    }
}

#[test]
fn a_take_over_rebuilds_who_owns_what() {
    let mut cluster = Cluster::start_with(2, 2, "");
    let symbols = symbols_on_distinct_partitions(PARTITIONS as usize);
    let mut a1 = login(&cluster.ingress, "alice");
    for (i, s) in symbols.iter().enumerate() {
        a1.send(&sell(i as u64 + 1, s, "10", 5));
        a1.expect(&format!(r#"{{"type":"ack","id":{}}}"#, i + 1));
    }
    // Every partition has one of alice's orders: the killed matcher owned some of them.
    cluster.matchers[0].kill9();
    cluster.wait_owned_by(&[1]);

    let mut a2 = login(&cluster.others[0], "alice");
    let mut bob = login(&cluster.others[0], "bob");
    // The survivor knows them as alice's: amend, trade, cancel_all all find them.
    let first = &symbols[0];
    a2.send(&format!(
        r#"{{"op":"amend","id":1,"symbol":"{first}","qty":3}}"#
    ));
    a2.expect(r#"{"type":"amended","id":1,"price":"10","leaves":3}"#);
    bob.send(&format!(
        r#"{{"op":"cancel","id":2,"symbol":"{}"}}"#,
        symbols[1]
    ));
    bob.expect(r#"{"type":"reject","id":2,"reason":"unknown order"}"#);
    bob.send(&format!(
        r#"{{"op":"market","id":1,"symbol":"{first}","side":"buy","qty":1}}"#
    ));
    bob.expect(r#"{"type":"ack","id":1}"#);
    let fill = format!(
        r#"{{"type":"fill","id":1,"symbol":"{first}","side":"sell","price":"10","qty":1,"leaves":2}}"#
    );
    a1.expect_fill(&fill);
    a2.expect_fill(&fill);

    a2.send(r#"{"op":"cancel_all"}"#);
    for (i, _) in symbols.iter().enumerate() {
        let leaves = if i == 0 { 2 } else { 5 };
        let done = format!(
            r#"{{"type":"done","id":{},"reason":"cancelled","leaves":{leaves}}}"#,
            i + 1
        );
        a2.expect(&done);
    }
    a2.expect(&format!(
        r#"{{"type":"cancel_all_done","count":{PARTITIONS}}}"#
    ));
}

/// A session that finds out whether another account's order rests at a price without
/// touching it: a `post` order of 1 that would trade with it is refused `would cross`; one
/// that is not rests and is cancelled again.
struct Probe {
    client: Client,
    next: u64,
}

impl Probe {
    /// Whether an order rests on `symbol` at `price` on the side a `side` order trades with.
    fn rests(&mut self, symbol: &str, side: &str, price: &str) -> bool {
        self.next += 1;
        let id = self.next;
        self.client.send(&format!(
            r#"{{"op":"limit","id":{id},"symbol":"{symbol}","side":"{side}","price":"{price}","qty":1,"tif":"post"}}"#
        ));
        let answer = self.client.recv();
        if answer["type"] == "reject" && answer["reason"] == "would cross" {
            return true;
        }
        assert_eq!(answer["type"], "ack", "{answer}");
        self.client.send(&format!(
            r#"{{"op":"cancel","id":{id},"symbol":"{symbol}"}}"#
        ));
        self.client.expect(&format!(
            r#"{{"type":"done","id":{id},"reason":"cancelled","leaves":1}}"#
        ));
        false
    }

    /// Waits until no such order rests on any of `symbols`.
    fn wait_cancelled(&mut self, what: &str, symbols: &[String], side: &str, price: &str) {
        for symbol in symbols {
            wait_until(what, || !self.rests(symbol, side, price));
        }
    }

    /// Asserts that such an order rests on each of `symbols`.
    fn assert_resting(&mut self, symbols: &[String], side: &str, price: &str) {
        for symbol in symbols {
            assert!(
                self.rests(symbol, side, price),
                "the order on {symbol} at {price} was cancelled while its account had a live session"
            );
        }
    }
}

/// Two ingresses with `cancel_on_disconnect`: alice logged in on both (A: `a1`, B: `a2`),
/// carol on A, bob on B watching. alice sells 5 at 10 and carol buys 5 at 5 on each of
/// `symbols` (on distinct partitions); alice's session on B then lists both orders, which
/// proves every partition logged it.
struct Scene {
    cluster: Cluster,
    symbols: Vec<String>,
    a1: Client,
    a2: Client,
    carol: Client,
    bob: Probe,
}

impl Scene {
    fn start() -> Scene {
        let cluster = Cluster::start_with(2, 2, "cancel_on_disconnect = true");
        let (on_a, on_b) = (&cluster.ingress, &cluster.others[0]);
        let symbols = symbols_on_distinct_partitions(2);
        let mut a1 = login(on_a, "alice");
        let mut a2 = login(on_b, "alice");
        let mut carol = login(on_a, "carol");
        let bob = Probe {
            client: login(on_b, "bob"),
            next: 0,
        };
        for (i, symbol) in symbols.iter().enumerate() {
            let id = i as u64 + 1;
            a1.send(&sell(id, symbol, "10", 5));
            a1.expect(&format!(r#"{{"type":"ack","id":{id}}}"#));
            carol.send(&format!(
                r#"{{"op":"limit","id":{id},"symbol":"{symbol}","side":"buy","price":"5","qty":5}}"#
            ));
            carol.expect(&format!(r#"{{"type":"ack","id":{id}}}"#));
        }
        a2.send(r#"{"op":"orders"}"#);
        let listed = a2.recv_n(symbols.len() + 1);
        assert_eq!(
            listed.last().map(|end| end["count"].clone()),
            Some(serde_json::json!(symbols.len())),
            "{listed:?}"
        );
        Scene {
            cluster,
            symbols,
            a1,
            a2,
            carol,
            bob,
        }
    }
}

#[test]
fn cancel_on_disconnect_waits_for_the_last_session_over_every_ingress() {
    let Scene {
        cluster: _cluster,
        symbols,
        a1,
        mut a2,
        carol,
        mut bob,
    } = Scene::start();

    // alice's session on ingress A closes, then carol's only session, on the same ingress.
    drop(a1);
    drop(carol);
    bob.wait_cancelled("carol's orders are cancelled", &symbols, "sell", "5");
    // alice's stay on both partitions: her session on ingress B is live.
    bob.assert_resting(&symbols, "buy", "10");
    a2.send(r#"{"op":"orders"}"#);
    assert_eq!(a2.recv_n(symbols.len() + 1)[symbols.len()]["count"], 2);

    // Her last session closes: now they go.
    drop(a2);
    bob.wait_cancelled("alice's orders are cancelled", &symbols, "buy", "10");
}

#[test]
fn the_sessions_of_a_killed_ingress_count_as_closed() {
    let Scene {
        mut cluster,
        symbols,
        a1: _a1,
        a2,
        carol: _carol,
        mut bob,
    } = Scene::start();

    // kill -9: no session of ingress A is ever closed by it. Once its presence lapses, the
    // matchers count them closed: carol's orders go, alice's stay (she is on B too).
    cluster.ingress.kill();
    bob.wait_cancelled("carol's orders are cancelled", &symbols, "sell", "5");
    bob.assert_resting(&symbols, "buy", "10");
    drop(a2);
    bob.wait_cancelled("alice's orders are cancelled", &symbols, "buy", "10");
}

#[test]
fn a_paused_ingress_declared_gone_exits_and_changes_nothing() {
    let Scene {
        mut cluster,
        symbols,
        a1: _a1,
        a2: _a2,
        mut carol,
        mut bob,
    } = Scene::start();

    signal(cluster.ingress.pid(), libc::SIGSTOP);
    bob.wait_cancelled("carol's orders are cancelled", &symbols, "sell", "5");
    // Sent while its ingress is paused: read once it runs again, and logged or not before it
    // exits, it must not rest.
    let late = &symbols[0];
    carol.send(&format!(
        r#"{{"op":"limit","id":10,"symbol":"{late}","side":"buy","price":"6","qty":1}}"#
    ));
    signal(cluster.ingress.pid(), libc::SIGCONT);
    let status = cluster.ingress.wait_exit(Duration::from_secs(30));
    assert!(
        !status.success(),
        "a fenced ingress exits with an error: {status}"
    );
    let mut next_session = login(&cluster.others[0], "carol");
    next_session.send(r#"{"op":"orders"}"#);
    next_session.expect(r#"{"type":"orders_end","count":0}"#);
    bob.assert_resting(&symbols, "buy", "10");
}
