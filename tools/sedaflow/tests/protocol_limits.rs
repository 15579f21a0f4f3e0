//! Limits and backpressure at the edge: the connection cap, a client that never reads, and
//! half-close.

mod support;

use std::io::ErrorKind;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use support::{get, Checker, Client, Req, Server};

#[test]
fn the_connection_over_the_cap_gets_one_error_and_is_closed() {
    let server = Server::start(&["--max-connections", "4"]);
    let mut clients: Vec<Client> = (0..4).map(|_| Client::connect(server.tcp)).collect();
    for client in &mut clients {
        client.expect_idle();
    }

    let mut fifth = Client::connect(server.tcp);
    fifth.expect_error();
    fifth.expect_eof();

    for (i, client) in clients.iter_mut().enumerate() {
        client.send(&Req::resting_bid(1, &format!("CAP{i}")).to_line());
        client.expect(r#"{"type":"ack","id":1}"#);
        client.expect_idle();
    }

    // A closed connection frees its place. The server notices the close on its own time, so a
    // new connection may be turned away a few times first (bounded: a hang guard).
    drop(clients.pop());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut next = Client::connect(server.tcp);
        let answer = next
            .try_send(r#"{"op":"ping"}"#)
            .and_then(|()| next.try_recv_line());
        match answer {
            Ok(Some(line)) if line == r#"{"type":"pong"}"# => {
                next.expect_idle();
                break;
            }
            // Turned away: an error line, then the close (or a reset, as our ping raced it).
            Ok(Some(line)) => assert!(
                line.contains("\"error\""),
                "only a pong or an error: {line}"
            ),
            Ok(None) => {}
            Err(e)
                if e.kind() == ErrorKind::ConnectionReset || e.kind() == ErrorKind::BrokenPipe => {}
            Err(e) => panic!("reconnecting failed: {e}"),
        }
        assert!(
            Instant::now() < deadline,
            "the freed place was not reusable within 10 s (hang guard)"
        );
        thread::sleep(Duration::from_millis(20));
    }
    for client in &mut clients {
        client.expect_idle();
    }
}

#[test]
fn a_client_that_never_reads_does_not_hold_up_others() {
    const FLOOD: usize = 200_000;
    let server = Server::start(&[]);

    // The hog writes resting orders as fast as it can and never reads a response.
    let hog = Client::connect(server.tcp);
    let written = Arc::new(AtomicUsize::new(0));
    let flood = {
        let mut writer = hog.writer();
        let written = Arc::clone(&written);
        thread::spawn(move || {
            for id in 1..=FLOOD as u64 {
                if writer.send(&Req::resting_bid(id, "HOG").to_line()).is_err() {
                    return;
                }
                written.fetch_add(1, Ordering::Relaxed);
            }
            let _ = writer.flush();
        })
    };
    // Let the hog get well ahead (bounded; a server with small buffers may stall it sooner).
    let deadline = Instant::now() + Duration::from_secs(10);
    while written.load(Ordering::Relaxed) < 5_000
        && !flood.is_finished()
        && Instant::now() < deadline
    {
        thread::sleep(Duration::from_millis(5));
    }

    // A well-behaved client gets every response meanwhile.
    let mut good = Client::connect(server.tcp);
    let reqs: Vec<Req> = (1..=1_000).map(|id| Req::resting_bid(id, "GOOD")).collect();
    let mut checker = Checker::new();
    for batch in reqs.chunks(100) {
        good.send_reqs(batch);
        checker.check(&mut good, batch);
    }
    let stats = checker.finish();
    assert_eq!(stats.answered, 1_000, "{stats:?}");
    good.expect_idle();

    let health = get(server.http, "/healthz");
    assert_eq!(health.status, 200, "healthz: {health:?}");
    good.expect_idle();

    // Unblock the hog's writer (it may be parked on a full socket) and let it end.
    hog.shutdown_both();
    flood.join().expect("hog writer thread");
}

#[test]
fn half_close_still_gets_every_response_then_eof() {
    let server = Server::start(&[]);
    let mut client = Client::connect(server.tcp);
    let reqs: Vec<Req> = (1..=100).map(|id| Req::resting_bid(id, "HALF")).collect();
    client.send_reqs(&reqs);
    client.shutdown_write();
    let mut checker = Checker::new();
    checker.check(&mut client, &reqs);
    let stats = checker.finish();
    assert_eq!(stats.answered, 100, "{stats:?}");
    client.expect_eof();
}
