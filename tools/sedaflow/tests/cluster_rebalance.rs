//! Matchers joining and leaving: a paused matcher loses its partitions to the other, finds
//! its leases superseded when it wakes (fenced: it stops touching them), rejoins and gets its
//! share back; a matcher stopped with SIGTERM hands its partitions over at once.

mod support;

use std::net::SocketAddr;

use support::{Client, Cluster, PARTITIONS};

/// One trade on `symbol` between two fresh connections, checked line by line.
fn trade(tcp: SocketAddr, symbol: &str) {
    let mut a = Client::connect(tcp);
    let mut b = Client::connect(tcp);
    a.send(&format!(
        r#"{{"op":"limit","id":1,"symbol":"{symbol}","side":"sell","price":"5","qty":10}}"#
    ));
    a.expect(r#"{"type":"ack","id":1}"#);
    b.send(&format!(
        r#"{{"op":"market","id":2,"symbol":"{symbol}","side":"buy","qty":10}}"#
    ));
    b.expect(r#"{"type":"ack","id":2}"#);
    b.expect(&format!(r#"{{"type":"fill","id":2,"symbol":"{symbol}","side":"buy","price":"5","qty":10,"leaves":0,"match":1}}"#));
    b.expect(r#"{"type":"done","id":2,"reason":"filled","leaves":0}"#);
    a.expect(&format!(r#"{{"type":"fill","id":1,"symbol":"{symbol}","side":"sell","price":"5","qty":10,"leaves":0,"match":1}}"#));
    a.expect(r#"{"type":"done","id":1,"reason":"filled","leaves":0}"#);
}

/// Trades on enough symbols to touch every partition.
fn trade_everywhere(tcp: SocketAddr, round: &str) {
    for i in 0..4 * PARTITIONS {
        trade(tcp, &format!("{round}{i}"));
    }
}

#[test]
fn matchers_leave_return_and_hand_over() {
    let mut cluster = Cluster::start(2);
    trade_everywhere(cluster.ingress.tcp, "A");

    // Paused: its leases go stale and the other matcher takes every partition.
    cluster.matchers[0].signal(libc::SIGSTOP);
    cluster.wait_owned_by(&[1]);
    trade_everywhere(cluster.ingress.tcp, "B");

    // Woken: its next lease write fails, so it drops its partitions, then rejoins.
    cluster.matchers[0].signal(libc::SIGCONT);
    support::wait_until("the woken matcher finds itself fenced", || {
        cluster.matchers[0].metric("sedaflow_cluster_fenced_total") > 0.0
    });
    cluster.wait_owned_by(&[0, 1]);
    trade_everywhere(cluster.ingress.tcp, "C");

    // SIGTERM: it releases its leases, so the other takes over without a lease timeout.
    cluster.matchers[0].signal(libc::SIGTERM);
    assert!(
        cluster.matchers[0].wait_exit(),
        "a matcher exits 0 on SIGTERM"
    );
    cluster.wait_owned_by(&[1]);
    trade_everywhere(cluster.ingress.tcp, "D");
}
