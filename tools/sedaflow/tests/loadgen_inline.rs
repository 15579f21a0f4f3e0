//! The load generator against the inline baseline server, in process, both loops: every
//! request is answered, nothing is lost, the mix trades and cancels.

// The baseline is a module of the server benchmark, not a library.
#[path = "../benches/server/inline.rs"]
mod inline;

use std::num::{NonZeroU64, NonZeroUsize};
use std::time::Duration;

use inline::run_inline;
use sedaflow_loadgen::{self as loadgen, LoadgenConfig, LoadgenSummary};
use tokio::net::TcpListener;

async fn against_inline_server(config: LoadgenConfig) -> LoadgenSummary {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(run_inline(
        listener,
        Default::default(),
        std::future::pending::<()>(),
    ));
    let summary = loadgen::run(LoadgenConfig { addr, ..config })
        .await
        .unwrap();
    server.abort();
    summary
}

fn small() -> LoadgenConfig {
    LoadgenConfig {
        connections: NonZeroUsize::new(3).unwrap(),
        pipeline: NonZeroUsize::new(4).unwrap(),
        duration: Duration::from_millis(400),
        warmup: Duration::from_millis(100),
        symbols: NonZeroUsize::new(2).unwrap(),
        cancel_pct: 20,
        ..LoadgenConfig::default()
    }
}

fn assert_complete(summary: &LoadgenSummary) {
    assert!(summary.sent > 0, "{summary}");
    assert_eq!(summary.answered, summary.sent, "{summary}");
    assert_eq!(summary.lost, 0);
    assert_eq!(summary.errors, 0);
    assert_eq!(
        summary.acks + summary.cancelled + summary.rejected(),
        summary.answered
    );
    assert!(summary.acks > 0 && summary.fills > 0 && summary.cancelled > 0);
    // The only reject the mix can cause: a cancel that lost the race with a fill.
    assert!(summary
        .rejects
        .keys()
        .all(|reason| reason == "unknown order"));
    assert_eq!(summary.latency.count, summary.answered);
    assert!(summary.latency.p50 <= summary.latency.p99);
    assert!(summary.elapsed >= Duration::from_millis(400));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_loop_answers_everything() {
    let summary = against_inline_server(small()).await;
    assert_complete(&summary);
    assert_eq!(summary.send_lag.count, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_loop_keeps_the_rate() {
    let summary = against_inline_server(LoadgenConfig {
        rate: NonZeroU64::new(2_000),
        ..small()
    })
    .await;
    assert_complete(&summary);
    // 2000/s for 0.4 s after the warm-up, on a fixed schedule.
    assert!(summary.sent.abs_diff(800) <= 3, "{summary}");
    assert_eq!(summary.send_lag.count, summary.sent);
}
