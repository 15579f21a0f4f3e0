//! The journal over the real binary: `sedaflow serve --journal DIR`, killed with SIGKILL in
//! the middle of a load and restarted on the same directory, serves the state every answered
//! request left; a torn or corrupt journal tail is cut off with a warning; a graceful stop
//! loses nothing; a write that fails (file size limit, as a full disk) aborts the server
//! before it acks, and everything it acked is recovered.

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use serde_json::Value;
use support::{Client, Model, Req, Rng, Server, Side, Tif, TICKS};

/// Requests a load client keeps unanswered at most: bounds how far the journal may run ahead
/// of what the client saw, so few candidate states need checking after the restart.
const WINDOW: usize = 16;
/// Load clients, one symbol each (so each symbol's requests come from one client).
const CLIENTS: usize = 4;
/// Answers (all clients) after which the server is killed.
const KILL_AFTER: usize = 4_000;
/// A load client stops after this many requests if the kill has not come (it always should).
const MAX_REQUESTS: usize = 1_000_000;

/// Starts the server on the journal in `dir`, with segments of `segment_bytes` when given
/// (small segments rotate and snapshot during the test). Admission control is off: a slow
/// disk under a busy machine must not turn orders into `overloaded` refusals here.
fn start_with(dir: &Path, segment_bytes: Option<u64>) -> Server {
    let mut config = String::new();
    if let Some(bytes) = segment_bytes {
        config.push_str(&format!("journal_segment_bytes = {bytes}\n"));
    }
    config.push_str("[admission]\nenabled = false\n");
    // Inside the journal directory, which leaves files it does not name alone.
    let path = dir.join("server.toml");
    fs::write(&path, config).expect("write the config file");
    let (dir, path) = (dir.display().to_string(), path.display().to_string());
    Server::start(&["--journal", &dir, "--config", &path])
}

fn start(dir: &Path) -> Server {
    start_with(dir, None)
}

fn journal_args(dir: &Path) -> [String; 2] {
    ["--journal".to_owned(), dir.display().to_string()]
}

/// The contract's fixed opening on ACME: alice's two resting sells (one partly filled), bob's
/// resting buy.
fn opening(server: &Server) {
    let mut a = Client::login(server.tcp, "alice", "");
    let mut b = Client::login(server.tcp, "bob", "");
    a.send(r#"{"op":"limit","id":1,"symbol":"ACME","side":"sell","price":"10.05","qty":100}"#);
    a.expect(r#"{"type":"ack","id":1}"#);
    b.send(r#"{"op":"limit","id":2,"symbol":"ACME","side":"buy","price":"10.10","qty":40}"#);
    b.expect(r#"{"type":"ack","id":2}"#);
    b.expect(r#"{"type":"fill","id":2,"symbol":"ACME","side":"buy","price":"10.05","qty":40,"leaves":0,"match":1}"#);
    b.expect(r#"{"type":"done","id":2,"reason":"filled","leaves":0}"#);
    a.expect(r#"{"type":"fill","id":1,"symbol":"ACME","side":"sell","price":"10.05","qty":40,"leaves":60,"match":1}"#);
    a.send(r#"{"op":"limit","id":3,"symbol":"ACME","side":"sell","price":"10.20","qty":50}"#);
    a.expect(r#"{"type":"ack","id":3}"#);
    b.send(r#"{"op":"limit","id":4,"symbol":"ACME","side":"buy","price":"9.90","qty":30}"#);
    b.expect(r#"{"type":"ack","id":4}"#);
}

/// What a load client sent and how many of its requests were answered before the kill.
struct Sent {
    /// Its account, and the symbol only it trades.
    account: String,
    symbol: String,
    reqs: Vec<Req>,
    answered: usize,
}

/// Limits (some `ioc`) and markets around a mid price, crossing often, and cancels of recent
/// ids: every request is valid, so each gets exactly one first answer (`ack`, or for a cancel
/// `done` or `reject`), in request order.
fn next_req(rng: &mut Rng, symbol: &str, id: u64) -> Req {
    let side = if rng.below(2) == 0 {
        Side::Buy
    } else {
        Side::Sell
    };
    let symbol = symbol.to_owned();
    match rng.below(20) {
        0 => Req::Market {
            id,
            symbol,
            side,
            qty: 1 + rng.below(50),
        },
        1..=2 => Req::Cancel {
            id: id.saturating_sub(1 + rng.below(20)).max(1),
            symbol,
        },
        roll => Req::Limit {
            id,
            symbol,
            side,
            price: 100 * TICKS - 10 + rng.below(21),
            qty: 1 + rng.below(100),
            tif: match roll {
                3 => Tif::Ioc,
                4 => Tif::Fok,
                5 => Tif::Post,
                _ => Tif::Gtc,
            },
        },
    }
}

/// A first answer: the one response each request gets that tells it was taken.
fn is_first_answer(v: &Value) -> bool {
    match v["type"].as_str() {
        Some("ack" | "reject") => true,
        Some("done") => v["reason"] == "cancelled",
        _ => false,
    }
}

/// Sends requests with at most [`WINDOW`] unanswered until the connection breaks.
fn load_client(addr: std::net::SocketAddr, k: usize, answers: &AtomicUsize) -> Sent {
    let (account, symbol) = (format!("load{k}"), format!("J{k}"));
    let mut rng = Rng::new(0x5eda + k as u64);
    let mut client = Client::login(addr, &account, "");
    let mut sent = Sent {
        account,
        symbol,
        reqs: Vec::new(),
        answered: 0,
    };
    'run: while sent.reqs.len() < MAX_REQUESTS {
        while sent.reqs.len() < sent.answered + WINDOW {
            let req = next_req(&mut rng, &sent.symbol, sent.reqs.len() as u64 + 1);
            if client.try_send(&req.to_line()).is_err() {
                break 'run;
            }
            sent.reqs.push(req);
        }
        let line = match client.try_recv_line() {
            Ok(Some(line)) => line,
            // Killed: end of stream or reset.
            Ok(None) | Err(_) => break,
        };
        let v: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("response is not JSON ({e}): {line}"));
        if is_first_answer(&v) {
            sent.answered += 1;
            answers.fetch_add(1, Ordering::Relaxed);
        }
    }
    sent
}

/// The resting `(id, leaves)` and the trade count of every state the journal may hold for
/// this client: its requests applied up to any point between the last answered and the last
/// sent.
fn candidates(sent: &Sent) -> Vec<(Vec<(u64, u64)>, u64)> {
    let mut model = Model::new();
    let mut out = Vec::new();
    for (i, req) in sent.reqs.iter().enumerate() {
        if i >= sent.answered {
            out.push((model.resting(&sent.symbol), model.trades(&sent.symbol)));
        }
        let _ = model.apply(0, req);
    }
    out.push((model.resting(&sent.symbol), model.trades(&sent.symbol)));
    out
}

/// Probes the restarted server's book of `sent.symbol` and checks it is one of the states
/// the journal may hold: cancels, as their account, every order resting in any of them
/// (reading each one's leaves; ownership survived), checks nothing else rests, and that the
/// next trade's `match` follows on.
fn check_recovered(server: &Server, sent: &Sent, probe_id: &mut u64) {
    let candidates = candidates(sent);
    let mut ids: Vec<u64> = candidates
        .iter()
        .flat_map(|(resting, _)| resting.iter().map(|&(id, _)| id))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let mut probe = Client::login(server.tcp, &sent.account, "");
    let symbol = &sent.symbol;
    let mut found = Vec::new();
    for &id in &ids {
        probe.send(&format!(
            r#"{{"op":"cancel","id":{id},"symbol":"{symbol}"}}"#
        ));
        let v = probe.recv();
        match v["type"].as_str() {
            Some("done") => found.push((id, v["leaves"].as_u64().unwrap_or(0))),
            Some("reject") => assert_eq!(v["reason"], "unknown order", "{v}"),
            _ => panic!("unexpected answer to a cancel: {v}"),
        }
    }
    let matching = candidates.iter().position(|(resting, _)| *resting == found);
    let Some(at) = matching else {
        panic!(
            "{symbol}: the recovered book {found:?} is none of the states between the last \
             answered request ({}) and the last sent ({}): an answered order was lost or a \
             trade replayed twice",
            sent.answered,
            sent.reqs.len()
        );
    };
    // Nothing else rests: market orders both ways sweep nothing.
    for side in ["buy", "sell"] {
        *probe_id += 1;
        let id = *probe_id;
        probe.send(&format!(
            r#"{{"op":"market","id":{id},"symbol":"{symbol}","side":"{side}","qty":1000000000}}"#
        ));
        probe.expect(&format!(r#"{{"type":"ack","id":{id}}}"#));
        probe.expect(&format!(
            r#"{{"type":"done","id":{id},"reason":"expired","leaves":1000000000}}"#
        ));
    }
    // The next trade's match id follows the journaled trades: none was lost or repeated.
    let trades = candidates[at].1;
    *probe_id += 2;
    let (sell, buy) = (*probe_id - 1, *probe_id);
    probe.send(&format!(
        r#"{{"op":"limit","id":{sell},"symbol":"{symbol}","side":"sell","price":"7","qty":1}}"#
    ));
    probe.expect(&format!(r#"{{"type":"ack","id":{sell}}}"#));
    probe.send(&format!(
        r#"{{"op":"limit","id":{buy},"symbol":"{symbol}","side":"buy","price":"7","qty":1}}"#
    ));
    let answers = probe.recv_n(5);
    let fill = answers
        .iter()
        .find(|v| v["type"] == "fill" && v["id"] == buy)
        .unwrap_or_else(|| panic!("no fill for the crossing buy: {answers:?}"));
    assert_eq!(fill["match"], trades + 1, "{symbol}: {fill}");
}

#[test]
fn answered_orders_survive_sigkill_mid_load() {
    sigkill_mid_load(None);
}

#[test]
fn answered_orders_survive_sigkill_mid_load_across_segments_and_snapshots() {
    sigkill_mid_load(Some(8 * 1024));
}

fn sigkill_mid_load(segment_bytes: Option<u64>) {
    let dir = tempfile::tempdir().expect("a temporary journal directory");
    let mut server = start_with(dir.path(), segment_bytes);
    opening(&server);

    let answers = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|k| {
            let (addr, answers) = (server.tcp, answers.clone());
            thread::spawn(move || load_client(addr, k, &answers))
        })
        .collect();
    while answers.load(Ordering::Relaxed) < KILL_AFTER {
        assert!(
            !clients.iter().any(|c| c.is_finished()),
            "a load client stopped before the kill"
        );
        thread::sleep(Duration::from_millis(5));
    }
    server.kill();
    if segment_bytes.is_some() {
        let names = fs::read_dir(dir.path())
            .expect("read the journal directory")
            .map(|e| e.expect("a directory entry").file_name())
            .collect::<Vec<_>>();
        assert!(
            names.iter().any(|n| n.to_string_lossy().ends_with(".snap")),
            "segments rotated into a snapshot during the load: {names:?}"
        );
    }
    let sent: Vec<Sent> = clients
        .into_iter()
        .map(|c| c.join().expect("load client"))
        .collect();

    let server = start_with(dir.path(), segment_bytes);
    // The first connection after the restart must not inherit a journaled owner's id: if it
    // did, the fill of client A's resting order 3 would come here too.
    let mut c = Client::connect(server.tcp);
    c.send(r#"{"op":"limit","id":100,"symbol":"ACME","side":"buy","price":"10.20","qty":50}"#);
    c.expect(r#"{"type":"ack","id":100}"#);
    c.expect(r#"{"type":"fill","id":100,"symbol":"ACME","side":"buy","price":"10.05","qty":50,"leaves":0,"match":2}"#);
    c.expect(r#"{"type":"done","id":100,"reason":"filled","leaves":0}"#);
    c.expect_idle();
    // Orders and ids are their accounts' still: bob's order 4 rests (its id is a duplicate
    // for him on ACME, and only he finds it, 30 open), and alice may not reuse id 3.
    let (mut alice, mut bob) = (
        Client::login(server.tcp, "alice", ""),
        Client::login(server.tcp, "bob", ""),
    );
    bob.send(r#"{"op":"limit","id":4,"symbol":"ACME","side":"sell","price":"11","qty":1}"#);
    bob.expect(r#"{"type":"reject","id":4,"reason":"duplicate id"}"#);
    alice.send(r#"{"op":"limit","id":3,"symbol":"OTHER","side":"sell","price":"11","qty":1}"#);
    alice.expect(r#"{"type":"reject","id":3,"reason":"id not increasing"}"#);
    alice.send(r#"{"op":"cancel","id":4,"symbol":"ACME"}"#);
    alice.expect(r#"{"type":"reject","id":4,"reason":"unknown order"}"#);
    alice.send(r#"{"op":"cancel","id":1,"symbol":"ACME"}"#);
    alice.expect(r#"{"type":"done","id":1,"reason":"cancelled","leaves":10}"#);
    alice.send(r#"{"op":"cancel","id":3,"symbol":"ACME"}"#);
    alice.expect(r#"{"type":"done","id":3,"reason":"cancelled","leaves":50}"#);
    bob.send(r#"{"op":"cancel","id":4,"symbol":"ACME"}"#);
    bob.expect(r#"{"type":"done","id":4,"reason":"cancelled","leaves":30}"#);

    let mut probe_id = 10_000_000;
    for s in &sent {
        assert!(s.answered > 0, "{}: no answer before the kill", s.symbol);
        check_recovered(&server, s, &mut probe_id);
    }
}

/// The newest segment file of a journal directory.
fn newest_segment(dir: &Path) -> PathBuf {
    let mut segments: Vec<PathBuf> = fs::read_dir(dir)
        .expect("read the journal directory")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    segments.sort();
    segments
        .pop()
        .unwrap_or_else(|| panic!("no journal segment in {}", dir.display()))
}

const TORN_WARNING: &str = "torn or corrupt tail truncated";

#[test]
fn a_torn_or_corrupt_tail_is_cut_off_with_a_warning() {
    let dir = tempfile::tempdir().expect("a temporary journal directory");
    let mut server = start(dir.path());
    let mut a = Client::login(server.tcp, "alice", "");
    a.send(r#"{"op":"limit","id":1,"symbol":"ACME","side":"sell","price":"10","qty":100}"#);
    a.expect(r#"{"type":"ack","id":1}"#);
    a.send(r#"{"op":"limit","id":2,"symbol":"ACME","side":"sell","price":"11","qty":50}"#);
    a.expect(r#"{"type":"ack","id":2}"#);
    // The journal's metrics: group commits happened, each with its sync time.
    let page = support::get(server.metrics, "/metrics").body;
    let commits = page
        .lines()
        .find_map(|l| l.strip_prefix("sedaflow_journal_writes_total "))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .unwrap_or_else(|| panic!("no sedaflow_journal_writes_total in:\n{page}"));
    assert!(commits >= 1.0, "{commits} commits");
    assert!(
        page.contains("# HELP sedaflow_journal_sync_seconds"),
        "{page}"
    );
    server.kill();

    // Garbage after the last record (a write that never completed): nothing is lost.
    let segment = newest_segment(dir.path());
    let mut bytes = fs::read(&segment).expect("read the segment");
    bytes.extend_from_slice(b"\x17\x00\x00\x00garbage after the last record");
    fs::write(&segment, &bytes).expect("append garbage");
    let mut server = start(dir.path());
    let log = server.stderr();
    assert!(log.contains(TORN_WARNING), "no warning in:\n{log}");
    assert!(log.contains("WARN"), "not a warning:\n{log}");
    let mut b = Client::login(server.tcp, "alice", "");
    b.send(r#"{"op":"limit","id":3,"symbol":"ACME","side":"sell","price":"12","qty":7}"#);
    b.expect(r#"{"type":"ack","id":3}"#);
    server.kill();

    // The last record cut in the middle: it is lost, everything before it kept.
    let segment = newest_segment(dir.path());
    let bytes = fs::read(&segment).expect("read the segment");
    assert!(bytes.len() > 8, "order 3 was journaled in a new segment");
    fs::write(&segment, &bytes[..bytes.len() - 5]).expect("truncate the segment");
    let server = start(dir.path());
    assert!(server.stderr().contains(TORN_WARNING));
    let mut c = Client::login(server.tcp, "alice", "");
    c.send(r#"{"op":"cancel","id":3,"symbol":"ACME"}"#);
    c.expect(r#"{"type":"reject","id":3,"reason":"unknown order"}"#);
    c.send(r#"{"op":"cancel","id":2,"symbol":"ACME"}"#);
    c.expect(r#"{"type":"done","id":2,"reason":"cancelled","leaves":50}"#);
    c.send(r#"{"op":"cancel","id":1,"symbol":"ACME"}"#);
    c.expect(r#"{"type":"done","id":1,"reason":"cancelled","leaves":100}"#);
}

#[test]
fn a_graceful_stop_drains_through_the_journal_and_a_restart_resumes() {
    let dir = tempfile::tempdir().expect("a temporary journal directory");
    let mut server = start(dir.path());
    opening(&server);
    server.sigterm();
    let status = server.wait_exit(Duration::from_secs(30));
    assert!(status.success(), "serve exited with {status}");

    let server = start(dir.path());
    let mut c = Client::login(server.tcp, "alice", "");
    let mut bob = Client::login(server.tcp, "bob", "");
    for (id, leaves) in [(1, 60), (3, 50), (4, 30)] {
        let owner = if id == 4 { &mut bob } else { &mut c };
        owner.send(&format!(r#"{{"op":"cancel","id":{id},"symbol":"ACME"}}"#));
        owner.expect(&format!(
            r#"{{"type":"done","id":{id},"reason":"cancelled","leaves":{leaves}}}"#
        ));
    }
    // Match ids go on from the one trade before the stop.
    c.send(r#"{"op":"limit","id":5,"symbol":"ACME","side":"sell","price":"5","qty":1}"#);
    c.expect(r#"{"type":"ack","id":5}"#);
    c.send(r#"{"op":"limit","id":6,"symbol":"ACME","side":"buy","price":"5","qty":1}"#);
    c.expect(r#"{"type":"ack","id":6}"#);
    c.expect(r#"{"type":"fill","id":6,"symbol":"ACME","side":"buy","price":"5","qty":1,"leaves":0,"match":2}"#);
}

/// Largest file the server may write in the disk-failure test: its journal segment soon
/// reaches it, and the next write fails (`EFBIG`) as on a full disk.
const FILE_SIZE_LIMIT: libc::rlim_t = 16 * 1024;

#[test]
fn a_journal_write_failure_stops_the_server_before_it_acks() {
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().expect("a temporary journal directory");
    let args = journal_args(dir.path());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut server = Server::start_with(&args, |command| {
        // SAFETY: between fork and exec only async-signal-safe calls: signal(2), setrlimit(2).
        unsafe {
            command.pre_exec(|| {
                // Ignored, SIGXFSZ does not kill: the write fails with EFBIG instead.
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                let limit = libc::rlimit {
                    rlim_cur: FILE_SIZE_LIMIT,
                    rlim_max: FILE_SIZE_LIMIT,
                };
                // No core file from the abort in the working directory.
                let no_core = libc::rlimit {
                    rlim_cur: 0,
                    rlim_max: 0,
                };
                if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0
                    || libc::setrlimit(libc::RLIMIT_CORE, &no_core) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    });
    let mut a = Client::login(server.tcp, "alice", "");
    let mut acked = Vec::new();
    for id in 1..=10_000u64 {
        let price = 1 + id % 50;
        let line = format!(
            r#"{{"op":"limit","id":{id},"symbol":"FULL","side":"buy","price":"{price}","qty":{id}}}"#
        );
        if a.try_send(&line).is_err() {
            break;
        }
        match a.try_recv_line() {
            Ok(Some(reply)) => {
                assert_eq!(reply, format!(r#"{{"type":"ack","id":{id}}}"#));
                acked.push(id);
            }
            // The server stopped: no answer to this order.
            Ok(None) | Err(_) => break,
        }
    }
    assert!(
        acked.len() < 10_000,
        "the server never hit the file size limit"
    );
    let status = server.wait_exit(Duration::from_secs(30));
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(libc::SIGABRT), "{status}");
    let log = server.stderr();
    assert!(log.contains("batch not durable"), "{log}");

    // Everything acked is durable: each order still rests with its whole quantity.
    let server = start(dir.path());
    let mut c = Client::login(server.tcp, "alice", "");
    assert!(
        !acked.is_empty(),
        "some orders were acked before the failure"
    );
    for id in acked {
        c.send(&format!(r#"{{"op":"cancel","id":{id},"symbol":"FULL"}}"#));
        c.expect(&format!(
            r#"{{"type":"done","id":{id},"reason":"cancelled","leaves":{id}}}"#
        ));
    }
}
