//! The contract's example through one ingress and two matchers on NATS JetStream: the same
//! responses, line for line, as the single process gives; and the same clean stop on SIGTERM.

mod support;

use std::net::SocketAddr;
use std::thread;
use std::time::Duration;

use support::{post, signal, symbols, Checker, Client, Cluster, Flow, Recorded, Req, Server};

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

/// As for one process (`protocol_shutdown.rs`): SIGTERM right after a connection's last write
/// makes the ingress answer every request it read (through the matchers), close cleanly and
/// exit 0.
#[test]
fn an_ingress_answers_what_it_read_before_it_exits_on_sigterm() {
    let mut cluster = Cluster::start(2);
    let mut client = Client::connect(cluster.ingress.tcp);
    let reqs = Flow::new(0x5e12, symbols("TERM", 8), 1).orders(2_000);
    let pid = cluster.ingress.pid();
    let mut writer = client.writer();
    let lines: Vec<String> = reqs.iter().map(Req::to_line).collect();
    let sender = thread::spawn(move || {
        for line in &lines {
            writer.send(line)?;
        }
        writer.shutdown_write()?;
        signal(pid, libc::SIGTERM);
        std::io::Result::Ok(())
    });
    let mut answers = Recorded::read_to_end(&mut client);
    sender
        .join()
        .expect("writer thread")
        .expect("writing the requests");
    let mut checker = Checker::new();
    let answered = checker.check_prefix(&mut answers, &reqs);
    assert_eq!(answers.end(), Ok(()), "clean end after {answered} answers");
    assert_eq!(answers.remaining(), 0, "nothing after the last answer");
    let stats = checker.finish();
    eprintln!(
        "answered {answered} of {} requests before the exit: {stats:?}",
        reqs.len()
    );
    let status = cluster.ingress.wait_exit(Duration::from_secs(30));
    assert!(status.success(), "the ingress exits 0: {status}");
}
