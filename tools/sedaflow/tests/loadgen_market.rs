//! The load generator's market-data subscribers against the real server: while a short
//! order load runs, every subscriber's depth and trade sequences are unbroken and every
//! rebuilt book equals `GET /depth` at the end; `sedaflow loadgen --md-subscribers` prints
//! what they saw and exits 0.

mod support;

use std::num::NonZeroUsize;
use std::process::Command;
use std::time::Duration;

use sedaflow_loadgen::{self as loadgen, LoadgenConfig};
use support::{get, Server};

const SUBSCRIBERS: usize = 4;
const SYMBOLS: usize = 3;

#[test]
fn subscribers_see_every_change_of_a_load_run_and_rebuild_every_book() {
    let server = Server::start(&[]);
    let config = LoadgenConfig {
        addr: server.tcp,
        http: server.http,
        connections: NonZeroUsize::new(3).expect("non-zero"),
        pipeline: NonZeroUsize::new(8).expect("non-zero"),
        duration: Duration::from_millis(800),
        symbols: NonZeroUsize::new(SYMBOLS).expect("non-zero"),
        cancel_pct: 15,
        amend_pct: 10,
        md_subscribers: SUBSCRIBERS,
        // More than the mix has: the subscribers follow all of its symbols.
        md_symbols: NonZeroUsize::new(8).expect("non-zero"),
        ..LoadgenConfig::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let summary = runtime.block_on(loadgen::run(config)).expect("load run");
    assert!(summary.answered > 0 && summary.fills > 0, "{summary}");
    assert_eq!(summary.lost, 0, "{summary}");
    let market = summary.market.as_ref().expect("market-data summary");
    assert_eq!((market.subscribers, market.symbols), (SUBSCRIBERS, SYMBOLS));
    assert_eq!(market.gaps, 0, "{market}");
    assert_eq!(market.errors, 0, "{market}");
    assert_eq!((market.slow_consumers, market.cut), (0, 0), "{market}");
    assert_eq!(market.books_checked, (SUBSCRIBERS * SYMBOLS) as u64);
    assert_eq!(market.mismatches, 0, "{market}");
    assert!(market.clean());
    // Each subscriber got every trade of the run: on a fresh server, each symbol's last
    // `match` is its number of trades.
    let traded: u64 = (0..SYMBOLS)
        .map(|s| {
            let last = get(server.http, &format!("/trades?symbol=SYM{s}&limit=1")).json();
            last[0]["match"].as_u64().unwrap_or(0)
        })
        .sum();
    assert!(traded > 0);
    assert_eq!(market.trades, traded * SUBSCRIBERS as u64, "{market}");
    assert!(market.messages > market.trades && market.bytes > market.messages);
    assert_eq!(market.latency.count, market.trades);
    assert!(market.latency.p50 <= market.latency.p99);
}

#[test]
fn the_loadgen_command_reports_market_data_and_exits_zero() {
    let server = Server::start(&[]);
    let output = Command::new(env!("CARGO_BIN_EXE_sedaflow"))
        .args(["loadgen", "--addr", &server.tcp.to_string()])
        .args(["--http", &server.http.to_string()])
        .args([
            "--connections",
            "2",
            "--duration",
            "300ms",
            "--symbols",
            "2",
        ])
        .args(["--md-subscribers", "2", "--md-symbols", "1"])
        .output()
        .expect("running sedaflow loadgen");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("  Market data: 2 subscribers x 1 symbols (depth, trades)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("gaps: 0, mismatches: 0 of 2 books"),
        "{stdout}"
    );
    assert!(stdout.contains("Messages/sec:"), "{stdout}");
}
