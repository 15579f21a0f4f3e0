//! Traffic shaping (`[limits]` read rates): a limit pauses reads and never drops, so every
//! request is answered; the server reads no faster than the limit; a SIGHUP applies a changed
//! config file.
//!
//! No timing is asserted from below: the rate bounds are upper bounds (over `t` seconds the
//! server reads at most `rate × t` plus a burst and one read per connection), which hold on any
//! machine, however slow.

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use support::{post, signal, wait_until, Client, Server};

const PING: &str = r#"{"op":"ping"}"#;
const PONG: &str = r#"{"type":"pong"}"#;

/// Tolerance of the rate bounds, on top of the burst and one read per connection.
const TOLERANCE: f64 = 0.05;
/// What a limit lends at once: 100 ms of its rate (README, "Traffic shaping").
const BURST_SECS: f64 = 0.1;

/// A config file in the test target's scratch directory, removed when dropped.
struct ConfigFile(PathBuf);

impl ConfigFile {
    fn new(name: &str, toml: &str) -> ConfigFile {
        let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("shaping-{name}-{}.toml", std::process::id()));
        let file = ConfigFile(path);
        file.write(toml);
        file
    }

    fn write(&self, toml: &str) {
        fs::write(&self.0, toml)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", self.0.display()));
    }

    fn path(&self) -> &str {
        self.0.to_str().expect("the scratch path is UTF-8")
    }

    fn start(&self) -> Server {
        Server::start(&["--config", self.path()])
    }
}

impl Drop for ConfigFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(Path::new(&self.0));
    }
}

/// Sends `total` pings in rounds of `window` (so no read carries more than `window`), waiting
/// for each round's pongs; calls `answered` with the count so far after each round.
fn ping_rounds(client: &mut Client, total: usize, window: usize, mut answered: impl FnMut(usize)) {
    let mut done = 0;
    while done < total {
        let round = window.min(total - done);
        let batch = format!("{PING}\n").repeat(round);
        client.send_raw(batch.as_bytes());
        for _ in 0..round {
            assert_eq!(client.recv_line(), PONG);
        }
        done += round;
        answered(done);
    }
}

/// Asserts that `answered` requests in `elapsed` are no more than a `rate` limit lets through
/// with `readers` connections reading at most `window` requests at a time.
#[track_caller]
fn assert_within_limit(
    answered: usize,
    elapsed: Duration,
    rate: f64,
    (readers, window): (usize, usize),
) {
    let most = rate * elapsed.as_secs_f64() * (1.0 + TOLERANCE)
        + (rate * BURST_SECS).max(1.0)
        + (readers * window) as f64;
    assert!(
        answered as f64 <= most,
        "{answered} requests answered in {elapsed:?}: more than a {rate}/s limit allows ({most:.0})"
    );
}

/// Asserts that reads (or HTTP requests) paused for a limit of `scope` (`global`, `conn`).
#[track_caller]
fn assert_paused(server: &Server, scope: &str) {
    let scope = format!(r#"scope="{scope}""#);
    let paused = server.series(
        "sedaflow_net_read_paused_seconds_sum",
        &[r#"reason="shaping""#, &scope],
    );
    assert!(
        paused.is_some_and(|s| s > 0.0),
        "nothing paused for the {scope} limit: {paused:?}"
    );
}

fn requests_limit(server: &Server) -> Option<f64> {
    server.series(
        "sedaflow_net_read_limit_per_second",
        &[r#"scope="global""#, r#"unit="requests""#],
    )
}

#[test]
fn a_global_request_limit_answers_a_flood_from_every_connection_at_most_at_the_limit() {
    const RATE: f64 = 300.0;
    const CONNS: usize = 4;
    const EACH: usize = 180;
    const WINDOW: usize = 16;
    let config = ConfigFile::new("global", "[limits]\nread_requests_per_sec = 300\n");
    let server = config.start();
    assert_eq!(requests_limit(&server), Some(RATE));

    let started = Instant::now();
    let floods: Vec<_> = (0..CONNS)
        .map(|_| {
            let mut client = Client::connect(server.tcp);
            thread::spawn(move || {
                let mut got = 0;
                ping_rounds(&mut client, EACH, WINDOW, |n| got = n);
                client.expect_idle();
                got
            })
        })
        .collect();
    let answered: usize = floods
        .into_iter()
        .map(|t| t.join().expect("a flooding client panicked"))
        .sum();
    let elapsed = started.elapsed();

    assert_eq!(answered, CONNS * EACH, "every request is answered");
    assert_within_limit(answered, elapsed, RATE, (CONNS, WINDOW));
    assert_paused(&server, "global");
}

#[test]
fn the_global_request_limit_holds_http_order_entry_too() {
    const RATE: f64 = 100.0;
    const CLIENTS: usize = 4;
    const EACH: usize = 40;
    let config = ConfigFile::new("http", "[limits]\nread_requests_per_sec = 100\n");
    let server = config.start();
    let http = server.http;

    // A connection per request: a limit per connection could not hold them back.
    let started = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            thread::spawn(move || {
                for _ in 0..EACH {
                    let r = post(http, "/orders", PING);
                    assert_eq!(r.status, 200, "{r:?}");
                    assert_eq!(r.body, format!("[{PONG}]"), "{r:?}");
                }
            })
        })
        .collect();
    for client in clients {
        client.join().expect("an HTTP client panicked");
    }
    let elapsed = started.elapsed();

    // Each request waits out its debt before it is handed on: no read per connection.
    assert_within_limit(CLIENTS * EACH, elapsed, RATE, (0, 0));
    assert_paused(&server, "global");
}

#[test]
fn a_connection_limit_slows_the_flooding_connection_and_not_a_quiet_one() {
    const RATE: f64 = 50.0;
    const EACH: usize = 200;
    const WINDOW: usize = 10;
    let config = ConfigFile::new("conn", "[limits]\nconn_read_requests_per_sec = 50\n");
    let server = config.start();

    let (progress_tx, progress) = std::sync::mpsc::channel();
    let mut flooding = Client::connect(server.tcp);
    let started = Instant::now();
    let flood = thread::spawn(move || {
        ping_rounds(&mut flooding, EACH, WINDOW, |n| {
            let _ = progress_tx.send(n);
        });
    });
    // Once the flood is past its burst, a quiet connection's few pings (within its own burst)
    // are answered while the flood still has most of its requests ahead.
    let mut flooded = progress.recv().expect("the flood's first round");
    let mut quiet = Client::connect(server.tcp);
    for _ in 0..3 {
        quiet.send(PING);
        quiet.expect(PONG);
    }
    flooded = progress.try_iter().last().unwrap_or(flooded);
    assert!(
        flooded < EACH,
        "the quiet connection waited for the whole flood ({flooded} of {EACH} answered)"
    );

    flood.join().expect("the flooding client panicked");
    let elapsed = started.elapsed();
    assert_within_limit(EACH, elapsed, RATE, (1, WINDOW));
    assert_paused(&server, "conn");
}

#[test]
fn sighup_applies_a_changed_limit_and_keeps_the_running_one_when_the_file_is_bad() {
    let config = ConfigFile::new("reload", "[limits]\nread_requests_per_sec = 100\n");
    let mut server = config.start();
    assert_eq!(requests_limit(&server), Some(100.0));

    // A new rate applies; a setting that takes a restart is named in the log.
    config.write("[limits]\nread_requests_per_sec = 250\nidle_timeout = \"10m\"\n");
    signal(server.pid(), libc::SIGHUP);
    wait_until("the reloaded limit", || {
        requests_limit(&server) == Some(250.0)
    });
    wait_until("the restart notice", || {
        server.stderr().contains("limits.idle_timeout")
    });

    // An invalid file changes nothing.
    config.write("[limits]\nread_requests_per_sec = 0\n");
    signal(server.pid(), libc::SIGHUP);
    wait_until("the refusal in the log", || {
        server.stderr().contains("not reloaded")
    });
    assert_eq!(requests_limit(&server), Some(250.0));

    // Removing the limit turns it off; the server serves on.
    config.write("");
    signal(server.pid(), libc::SIGHUP);
    wait_until("the limit off", || requests_limit(&server) == Some(0.0));
    server.assert_running();
    let mut client = Client::connect(server.tcp);
    client.send(PING);
    client.expect(PONG);
}

#[test]
fn sigterm_ends_a_pause_and_answers_every_request_read() {
    const SENT: usize = 40;
    // One request a second: the pings read at once owe many seconds of pause.
    let config = ConfigFile::new("stop", "[limits]\nconn_read_requests_per_sec = 1\n");
    let mut server = config.start();
    let mut client = Client::connect(server.tcp);
    client.send_raw(format!("{PING}\n").repeat(SENT).as_bytes());
    assert_eq!(client.recv_line(), PONG);
    wait_until("the reader paused", || {
        server.series(
            "sedaflow_net_read_paused_connections",
            &[r#"reason="shaping""#],
        ) == Some(1.0)
    });

    server.sigterm();
    // Whatever was read is answered, then the connection ends: nothing is cut short.
    let mut answered = 1;
    while let Some(line) = client.try_recv_line().expect("a clean end of stream") {
        assert_eq!(line, PONG);
        answered += 1;
    }
    assert!(answered <= SENT, "{answered} answers to {SENT} pings");
    // The pause owed is far longer than this hang guard: the stop ended it.
    let status = server.wait_exit(Duration::from_secs(15));
    assert!(status.success(), "{status}");
}
