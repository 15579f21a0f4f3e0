//! The market-data rows: the default server while WebSocket subscribers follow the load's
//! book changes and trades, against the same server without them (issue 19's target: at
//! least 0.8× its orders/s).
//!
//! Each subscriber subscribes to `depth` and `trades` of every symbol of the load (8, so
//! the 8 busiest) before the measured run starts, checks every sequence and rebuilds every
//! book, which must equal `GET /depth` at the end (the load generator's `--md-subscribers`).
//! The subscribers run in this process beside the order load, on a runtime of 2 threads of
//! their own, so they take CPU from the server as a real subscriber on this machine would.
//! The second row runs them at the lowest priority: on 2 cores they cannot keep up with the
//! load's trades either way (each trade goes to all of them), and its ratio is then mostly
//! what serving them costs the server.

use std::path::Path;
use std::time::Duration;

use sedaflow_loadgen::{LoadgenSummary, MarketSummary};

use super::{median, serve, Target};

/// WebSocket subscribers of the market-data rows.
pub(crate) const SUBSCRIBERS: usize = 100;

/// The server the market-data rows are compared with: the same server, no subscribers.
pub(crate) const WITHOUT: &str = "sedaflow (stage per queue)";

/// Market-data subscribers beside a target's measured load.
#[derive(Clone, Copy)]
pub(crate) struct Subscribers {
    pub(crate) count: usize,
    /// Their threads' nice value (19: they run only when the server and the order load
    /// leave a core idle, as subscribers on other machines would take nothing from them).
    pub(crate) nice: i32,
}

impl Subscribers {
    pub(crate) const NONE: Subscribers = Subscribers { count: 0, nice: 0 };
}

/// The market-data rows' servers: the default one with [`SUBSCRIBERS`] subscribers at the
/// load's priority (the measure), and with them at the lowest (what serving them
/// costs the server alone).
pub(crate) fn targets(sedaflow: &Path) -> [Target; 2] {
    let row = |name, nice| Target {
        name,
        bin: sedaflow.to_path_buf(),
        args: serve(&[]),
        accounts: 0,
        market: Subscribers {
            count: SUBSCRIBERS,
            nice,
        },
    };
    [
        row("market data (100 subscribers)", 0),
        row("market data (niced subscribers)", 19),
    ]
}

/// A row per target with subscribers: its median closed-loop orders/s against
/// [`WITHOUT`]'s, and the median over rounds of what the subscribers saw (messages/s,
/// trade delivery latency, how long the feed took to settle after the load); slow
/// consumers, gaps and mismatches summed over rounds.
pub(crate) fn print_table(picked: &[&Target], closed: &[Vec<LoadgenSummary>], max: &[f64]) {
    let Some(without) = picked.iter().position(|t| t.name == WITHOUT) else {
        return;
    };
    let mut header = false;
    for (i, t) in picked.iter().enumerate() {
        let markets: Vec<&MarketSummary> =
            closed[i].iter().filter_map(|s| s.market.as_ref()).collect();
        if markets.is_empty() {
            continue;
        }
        if !header {
            println!();
            println!(
                "{:<30} {:>9} {:>9} {:>6} {:>10} {:>10} {:>10} {:>8} {:>5} {:>5} {:>5}",
                "market data",
                "orders/s",
                "without",
                "ratio",
                "msg/s",
                "trade p50",
                "trade p99",
                "settle",
                "slow",
                "gaps",
                "mism."
            );
            header = true;
        }
        let of = |f: fn(&MarketSummary) -> f64| {
            median(&mut markets.iter().map(|m| f(m)).collect::<Vec<_>>())
        };
        let sum = |f: fn(&MarketSummary) -> u64| markets.iter().map(|m| f(m)).sum::<u64>();
        println!(
            "{:<30} {:>9.0} {:>9.0} {:>5.2}x {:>10.0} {:>10.1?} {:>10.1?} {:>8.1?} {:>5} {:>5} {:>5}",
            t.name,
            max[i],
            max[without],
            max[i] / max[without],
            of(|m| m.messages_per_sec),
            Duration::from_secs_f64(of(|m| m.latency.p50.as_secs_f64())),
            Duration::from_secs_f64(of(|m| m.latency.p99.as_secs_f64())),
            Duration::from_secs_f64(of(|m| m.settle.as_secs_f64())),
            sum(|m| m.slow_consumers),
            sum(|m| m.gaps),
            sum(|m| m.mismatches),
        );
        for first in markets
            .iter()
            .flat_map(|m| [&m.first_gap, &m.first_mismatch, &m.first_error])
            .flatten()
            .take(3)
        {
            println!("  {first}");
        }
    }
}
