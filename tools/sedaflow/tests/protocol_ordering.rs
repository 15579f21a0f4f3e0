//! Per-connection response order while the server spreads symbols over its threads: every
//! response caused by request N arrives before any caused by request N+1, for acks, rejects,
//! fills, dones and pongs alike.

mod support;

use support::{pipeline, symbols, Checker, Client, Flow, Req, Server};

#[test]
fn responses_follow_request_order_across_fifty_symbols() {
    // Eight matching lanes on two threads, so symbols really are answered out of request
    // order and the writer's reorder buffer is what keeps the contract.
    let server = Server::start_with_config(
        "[stages.match]\nlanes = 8\nhandoff = true\npool = { min = 1, max = 2 }\n",
    );
    let mut client = Client::connect(server.tcp);
    // One client only: then every response is caused by its own requests, and the contract
    // fixes which request each belongs to.
    let mut reqs = Flow::new(0x5eda_f10e, symbols("ORD", 50), 1).orders(2_000);
    reqs.push(Req::Ping);
    assert!(reqs.iter().filter(|r| **r == Req::Ping).count() > 10);

    let writer = pipeline(client.writer(), reqs.clone());
    let mut checker = Checker::new();
    checker.check(&mut client, &reqs);
    writer
        .join()
        .expect("writer thread")
        .expect("writing the requests");
    let stats = checker.finish();
    assert!(
        stats.fills > 100 && stats.rejects > 10,
        "the flow should trade and reject: {stats:?}"
    );
    client.expect_idle();
}

#[test]
fn ping_is_answered_with_pong() {
    let server = Server::start(&[]);
    let mut client = Client::connect(server.tcp);
    client.send(r#"{"op":"ping"}"#);
    client.expect(r#"{"type":"pong"}"#);
    // Pipelined pings come back one each.
    for _ in 0..100 {
        client.send(r#"{"op":"ping"}"#);
    }
    for _ in 0..100 {
        client.expect(r#"{"type":"pong"}"#);
    }
    client.expect_idle();
}
