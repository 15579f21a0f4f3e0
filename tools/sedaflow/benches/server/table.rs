//! The comparison's tables: a row per server, medians over the rounds, ratios to the inline
//! baseline (row 0).

use std::time::Duration;

use sedaflow_loadgen::LoadgenSummary;

use super::{Cost, Target};

/// The median of a latency percentile `f` over a server's open-loop runs.
fn percentile(runs: &[LoadgenSummary], f: fn(&LoadgenSummary) -> Duration) -> Duration {
    let mut v: Vec<f64> = runs.iter().map(|o| f(o).as_secs_f64()).collect();
    Duration::from_secs_f64(median(&mut v))
}

/// A row per server: the median maximum against the inline baseline's (row 0), the
/// closed-loop range, and the median open-loop latencies.
pub(crate) fn print_table(
    picked: &[&Target],
    closed: &[Vec<f64>],
    max: &[f64],
    cpu: &[Cost],
    open: &[Vec<LoadgenSummary>],
) {
    let percentile = |i: usize, f: fn(&LoadgenSummary) -> Duration| percentile(&open[i], f);
    let inline_p99 = percentile(0, |o| o.latency.p99);
    println!();
    println!(
        "{:<30} {:>12} {:>9} {:>19} {:>9} {:>5} {:>12} {:>12} {:>10} {:>10} {:>10} {:>9}",
        "server",
        "max orders/s",
        "vs inline",
        "closed-loop range",
        "cpu µs/o",
        "idle",
        "loops/moved",
        "open rate/s",
        "p50",
        "p99",
        "p99.9",
        "p99 vs"
    );
    for (i, t) in picked.iter().enumerate() {
        let (lo, hi) = closed[i]
            .iter()
            .fold((f64::MAX, 0.0f64), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        let p99 = percentile(i, |o| o.latency.p99);
        // Loops started and sessions moved in a measured closed-loop run (median).
        let moves = cpu[i]
            .moves
            .map_or("-".into(), |m| format!("{:.0}/{:.0}", m.started, m.moved));
        println!(
            "{:<30} {:>12.0} {:>8.2}x {:>19} {:>9.2} {:>4.0}% {:>12} {:>12.0} {:>10.1?} {:>10.1?} {:>10.1?} {:>8.2}x",
            t.name,
            max[i],
            max[i] / max[0],
            format!("{:.0}k-{:.0}k", lo / 1e3, hi / 1e3),
            cpu[i].per_order,
            cpu[i].idle * 100.0,
            moves,
            max[i] / 2.0,
            percentile(i, |o| o.latency.p50),
            p99,
            percentile(i, |o| o.latency.p999),
            p99.as_secs_f64() / inline_p99.as_secs_f64()
        );
    }
}

/// The open-loop latencies of every server at one rate (`rate`, the same for all), against
/// the inline baseline's.
pub(crate) fn print_same_rate(picked: &[&Target], rate: &[f64], open: &[Vec<LoadgenSummary>]) {
    let inline_p99 = percentile(&open[0], |o| o.latency.p99);
    println!();
    println!(
        "{:<30} {:>12} {:>10} {:>10} {:>10} {:>9}",
        "at a third of inline's max", "open rate/s", "p50", "p99", "p99.9", "p99 vs"
    );
    for (i, t) in picked.iter().enumerate() {
        let p99 = percentile(&open[i], |o| o.latency.p99);
        println!(
            "{:<30} {:>12.0} {:>10.1?} {:>10.1?} {:>10.1?} {:>8.2}x",
            t.name,
            rate[i],
            percentile(&open[i], |o| o.latency.p50),
            p99,
            percentile(&open[i], |o| o.latency.p999),
            p99.as_secs_f64() / inline_p99.as_secs_f64()
        );
    }
}

/// The middle value (the mean of the two middle ones for an even count).
pub(crate) fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}
