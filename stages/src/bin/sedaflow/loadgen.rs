//! `sedaflow loadgen`: drives a running server and prints a `wrk --latency`-style summary.

use sedaflow_stages::loadgen::{self, LoadgenConfig, LoadgenSummary};

/// Runs the load generator on its own runtime.
pub(crate) fn run_to_summary(config: LoadgenConfig) -> Result<LoadgenSummary, String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("sf-loadgen")
        .enable_all()
        .build()
        .map_err(|e| format!("loadgen runtime: {e}"))?;
    runtime
        .block_on(loadgen::run(config))
        .map_err(|e| e.to_string())
}

pub(crate) fn run(config: LoadgenConfig) -> Result<(), String> {
    let summary = run_to_summary(config)?;
    println!("{summary}");
    if summary.lost > 0 {
        return Err(format!("{} requests were never answered", summary.lost));
    }
    Ok(())
}
