//! Read pauses by reason: the server stops reading a client whose unsent output is above the
//! write watermark, or whose requests are unanswered at the in-flight limit. `/metrics` shows
//! the reader paused now under that reason; once the client reads (or its answers come), the
//! pause ends, its time is recorded under the reason, and every request is answered.
//!
//! No timing is asserted: every wait is a bounded hang guard.

mod support;

use std::sync::mpsc;
use std::thread;

use support::{wait_until, Client, Req, Server};

/// Every reason a reader pauses for.
const REASONS: [&str; 3] = ["watermark", "in_flight", "shaping"];

/// How many readers are paused now for `reason`.
fn paused_now(server: &Server, reason: &str) -> Option<f64> {
    let label = format!(r#"reason="{reason}""#);
    server.series("sedaflow_net_read_paused_connections", &[&label])
}

/// The `_count` or `_sum` (`part`) of the seconds readers paused for `reason`.
fn paused_seconds(server: &Server, part: &str, reason: &str) -> Option<f64> {
    let name = format!("sedaflow_net_read_paused_seconds_{part}");
    let label = format!(r#"reason="{reason}""#);
    server.series(&name, &[&label, r#"scope="conn""#])
}

/// Starts a server with `config`; no reader is paused yet, and none has paused for `reason`.
fn start(config: &str, reason: &str) -> Server {
    let server = Server::start_with_config(config);
    for r in REASONS {
        assert_eq!(paused_now(&server, r), Some(0.0), "{r} before any client");
    }
    assert_eq!(paused_seconds(&server, "count", reason), Some(0.0));
    server
}

/// Waits until the one reader is paused for `reason` (and not by shaping: no limit is set).
fn wait_paused(server: &Server, reason: &str) {
    wait_until(&format!("the reader paused for {reason}"), || {
        paused_now(server, reason) == Some(1.0)
    });
    assert_eq!(paused_now(server, "shaping"), Some(0.0), "no shaping limit");
}

/// Once every answer is read, the reader is paused no more and its pause was recorded.
fn assert_resumed(server: &Server, reason: &str) {
    wait_until(&format!("the reader no longer paused for {reason}"), || {
        paused_now(server, reason) == Some(0.0)
    });
    let count = paused_seconds(server, "count", reason);
    assert!(
        count.is_some_and(|n| n >= 1.0),
        "the {reason} pause is recorded when it ends: {count:?}"
    );
    let sum = paused_seconds(server, "sum", reason);
    assert!(
        sum.is_some_and(|s| s > 0.0),
        "paused seconds for {reason}: {sum:?}"
    );
}

/// Reads the acks of resting bids `1..=n`, in order.
fn read_acks(client: &mut Client, n: u64) {
    for id in 1..=n {
        client.expect(&format!(r#"{{"type":"ack","id":{id}}}"#));
    }
}

fn bids(ids: std::ops::RangeInclusive<u64>, symbol: &str) -> String {
    ids.map(|id| Req::resting_bid(id, symbol).to_line() + "\n")
        .collect()
}

#[test]
fn unsent_output_above_the_high_watermark_pauses_the_reader_until_the_client_reads() {
    // A small send buffer: unsent output piles up on the server after a few kilobytes.
    const CONFIG: &str = "[limits]\nwrite_high_watermark = 8192\nwrite_low_watermark = 1024\n\
                          [socket]\nsend_buffer = 4096\n";
    const ROUND: u64 = 1024;
    let server = start(CONFIG, "watermark");
    let mut client = Client::connect(server.tcp);

    // The client sends resting bids in rounds and reads nothing. Each round is announced
    // before it is written: the write blocks once the server stops reading.
    let (go, rounds) = mpsc::channel::<()>();
    let (announce, announced) = mpsc::channel::<u64>();
    let mut writer = client.writer();
    let flood = thread::spawn(move || {
        let mut sent = 0;
        while rounds.recv().is_ok() {
            let round = bids(sent + 1..=sent + ROUND, "HIGH");
            sent += ROUND;
            announce.send(sent).expect("the test waits for each round");
            writer
                .send_raw(round.as_bytes())
                .and_then(|()| writer.flush())
                .expect("the server reads every round");
        }
    });
    // A round at a time, until one pauses the reader instead of being read.
    let sent = loop {
        go.send(()).expect("the flooding client runs");
        let sent = announced.recv().expect("the round's announcement");
        let mut paused = false;
        wait_until("the round read, or the reader paused", || {
            paused = paused_now(&server, "watermark") == Some(1.0);
            paused || server.metric("sedaflow_server_requests_total") >= sent as f64
        });
        if paused {
            break sent;
        }
    };
    wait_paused(&server, "watermark");

    drop(go);
    read_acks(&mut client, sent);
    flood.join().expect("the flooding client panicked");
    client.expect_idle();
    assert_resumed(&server, "watermark");
}

#[test]
fn too_many_unanswered_requests_pause_the_reader_until_they_are_answered() {
    // One matching thread taking 100 ms an order, every order admitted.
    const CONFIG: &str = r#"
[limits]
max_in_flight = 4

[synthetic]
match_delay = "100ms"

[stages.match]
handoff = false
pool = { min = 1, max = 1, adaptive = false }

[admission]
enabled = false
"#;
    const SENT: u64 = 40;
    let server = start(CONFIG, "in_flight");
    let mut client = Client::connect(server.tcp);

    // All at once: the reader reads more than four before any is answered.
    client.send_raw(bids(1..=SENT, "SLOW").as_bytes());
    wait_paused(&server, "in_flight");
    assert_eq!(
        paused_now(&server, "watermark"),
        Some(0.0),
        "no output waits"
    );

    read_acks(&mut client, SENT);
    client.expect_idle();
    assert_resumed(&server, "in_flight");
}
