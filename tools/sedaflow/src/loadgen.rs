//! `sedaflow loadgen`: drives a running server and prints a `wrk --latency`-style summary.

use clap::Args;
use sedaflow_loadgen::{self as loadgen, LoadgenConfig, LoadgenSummary};

use super::sweep::{self, SweepArgs};

#[derive(Args)]
pub(crate) struct LoadgenArgs {
    #[command(flatten)]
    config: LoadgenConfig,
    #[command(flatten)]
    sweep: SweepArgs,
}

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

pub(crate) fn run(args: LoadgenArgs) -> Result<(), String> {
    if args.sweep.requested() {
        // The sweep's servers are its own, on ports only it knows.
        if args.config.md_subscribers > 0 {
            return Err("--md-subscribers does not combine with --sweep".into());
        }
        return sweep::run(args.sweep, args.config);
    }
    let summary = run_to_summary(args.config)?;
    println!("{summary}");
    if summary.lost > 0 {
        return Err(format!("{} requests were never answered", summary.lost));
    }
    match &summary.market {
        Some(market) if !market.clean() => Err(format!(
            "market data: {} gaps, {} mismatched books, {} unexpected frames",
            market.gaps, market.mismatches, market.errors
        )),
        _ => Ok(()),
    }
}
