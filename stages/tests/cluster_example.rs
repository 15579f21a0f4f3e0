//! The contract's example through one ingress and two matchers on NATS JetStream: the same
//! responses, line for line, as the single process gives.

mod support;

use std::net::SocketAddr;

use support::{post, Client, Cluster, Server};

/// Plays PROTOCOL.md's example against `tcp`, asserting every response as written, then one
/// order over HTTP (`http`).
fn the_example(tcp: SocketAddr, http: SocketAddr) {
    let mut a = Client::connect(tcp);
    let mut b = Client::connect(tcp);

    a.send(r#"{"op":"limit","id":1,"symbol":"ACME","side":"sell","price":"10.05","qty":100}"#);
    a.expect(r#"{"type":"ack","id":1}"#);
    b.send(r#"{"op":"limit","id":2,"symbol":"ACME","side":"buy","price":"10.10","qty":40}"#);
    b.expect(r#"{"type":"ack","id":2}"#);
    b.expect(r#"{"type":"fill","id":2,"symbol":"ACME","side":"buy","price":"10.05","qty":40,"leaves":0,"match":1}"#);
    a.expect(r#"{"type":"fill","id":1,"symbol":"ACME","side":"sell","price":"10.05","qty":40,"leaves":60,"match":1}"#);
    b.expect(r#"{"type":"done","id":2,"reason":"filled","leaves":0}"#);
    a.send(r#"{"op":"cancel","id":1,"symbol":"ACME"}"#);
    a.expect(r#"{"type":"done","id":1,"reason":"cancelled","leaves":60}"#);

    a.expect_idle();
    b.expect_idle();

    let answer = post(
        http,
        "/orders",
        r#"{"op":"limit","id":3,"symbol":"ACME","side":"buy","price":"9","qty":5}"#,
    );
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json(), serde_json::json!([{"type":"ack","id":3}]));
}

#[test]
fn the_contract_example_through_ingress_and_two_matchers() {
    let single = Server::start(&[]);
    the_example(single.tcp, single.http);

    let cluster = Cluster::start(2);
    the_example(cluster.ingress.tcp, cluster.ingress.http);
}
