//! Clean shutdown on SIGTERM/SIGINT: the server stops accepting, finishes what it has read,
//! sends every response, closes its connections and exits 0.

mod support;

use std::thread;
use std::time::Duration;

use support::{signal, symbols, Checker, Client, Flow, Recorded, Req, Server};

/// Hang guard for the exit after the signal.
const EXIT_GUARD: Duration = Duration::from_secs(30);

/// Starts a server, pipelines 5,000 orders (with cancels and pings) on one connection without
/// waiting for answers, half-closes right after the last write (marking it as the last) and
/// sends SIGTERM at once. Returns everything the connection received up to its end.
fn sigterm_right_after_the_last_write(seed: u64) -> (Server, Vec<Req>, Recorded) {
    let server = Server::start(&[]);
    let mut client = Client::connect(server.tcp);
    let reqs = Flow::new(seed, symbols("TERM", 8), 1).orders(5_000);
    let pid = server.pid();
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
    let answers = Recorded::read_to_end(&mut client);
    sender
        .join()
        .expect("writer thread")
        .expect("writing the requests");
    (server, reqs, answers)
}

#[test]
fn sigterm_under_load_finishes_each_request_it_read_then_exits_zero() {
    let (mut server, reqs, mut answers) = sigterm_right_after_the_last_write(0x7e58);
    let mut checker = Checker::new();
    let answered = checker.check_prefix(&mut answers, &reqs);
    assert_eq!(
        answers.end(),
        Ok(()),
        "the server must close cleanly (end of stream) after {answered} answered requests"
    );
    checker.finish();
    let status = server.wait_exit(EXIT_GUARD);
    assert_eq!(
        status.code(),
        Some(0),
        "exit status after SIGTERM: {status}"
    );
}

#[test]
fn sigterm_closes_idle_connections_and_exits_zero() {
    let mut server = Server::start(&[]);
    let mut idle = Client::connect(server.tcp);
    idle.expect_idle();
    server.sigterm();
    idle.expect_eof();
    let status = server.wait_exit(EXIT_GUARD);
    assert_eq!(
        status.code(),
        Some(0),
        "exit status after SIGTERM: {status}"
    );
}

#[test]
fn sigint_exits_zero() {
    let mut server = Server::start(&[]);
    let mut client = Client::connect(server.tcp);
    client.expect_idle();
    server.sigint();
    client.expect_eof();
    let status = server.wait_exit(EXIT_GUARD);
    assert_eq!(status.code(), Some(0), "exit status after SIGINT: {status}");
}
