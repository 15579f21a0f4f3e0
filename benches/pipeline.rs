//! Pipeline throughput/latency benchmark: the same four trivial stages over
//! u64 events, run by each variant.
//!
//! `cargo bench --bench pipeline [-- [--quick] [FILTER]]`
//!
//! * `--quick`: one timed run per variant (instead of 3) and shorter latency runs.
//! * `FILTER`: only run variants (throughput and latency) whose name contains it.
//!
//! Throughput: each variant's event count is calibrated so a run takes about a
//! second; the median of the runs is reported, and every run's checksum is
//! checked against the single-threaded reference.
//!
//! Latency: pipelines are offered 100k events/s open-loop and the end-to-end
//! latency is recorded at the last stage (see `pipeline/latency.rs`).

// The modules live under benches/pipeline/ so cargo doesn't take them for
// bench targets; a crate root's `mod` would look in benches/ itself.
#[path = "pipeline/common.rs"]
mod common;
#[path = "pipeline/latency.rs"]
mod latency;
#[path = "pipeline/peers.rs"]
mod peers;
#[path = "pipeline/sedaflow.rs"]
mod sedaflow;

use std::collections::HashMap;
use std::time::Duration;

use common::{reference_checksum, Run, Variant};
use latency::{measure_latency, LatencyConfig, LatencyReport};

/// Aim each timed run at this long...
const TARGET: Duration = Duration::from_secs(1);
/// ...and accept a calibration run as a sample once it takes this long.
const MIN_RUN: Duration = Duration::from_millis(500);
/// First calibration size; not a multiple of 256 so the batched variant's
/// partial last batch is exercised.
const START_EVENTS: u64 = 1_000_037;
/// Offered rate for the latency runs.
const LATENCY_RATE: u64 = 100_000;

/// A named latency run: drives one pipeline through [`measure_latency`].
#[derive(Clone, Copy)]
struct LatencyVariant {
    name: &'static str,
    run: fn(&LatencyConfig) -> LatencyReport,
}

/// Throughput variants, in table order.
fn variants() -> Vec<Variant> {
    let mut all = sedaflow::variants();
    all.extend(peers::all());
    all
}

/// Latency variants.
fn latency_variants() -> Vec<LatencyVariant> {
    use disruptor::{BusySpin, BusySpinWithSpinLoopHint};
    use peers::{crossbeam_latency, disruptor_latency, sleep_1us, Yield};
    vec![
        LatencyVariant {
            name: "latency sedaflow split",
            run: |cfg| measure_latency(cfg, sedaflow::latency),
        },
        LatencyVariant {
            name: "latency crossbeam per-event",
            run: |cfg| measure_latency(cfg, crossbeam_latency),
        },
        LatencyVariant {
            name: "latency disruptor busy-spin",
            run: |cfg| measure_latency(cfg, |sink| disruptor_latency(BusySpin, sink)),
        },
        LatencyVariant {
            name: "latency disruptor spin-hint",
            run: |cfg| {
                measure_latency(cfg, |sink| {
                    disruptor_latency(BusySpinWithSpinLoopHint, sink)
                })
            },
        },
        LatencyVariant {
            name: "latency disruptor yield",
            run: |cfg| measure_latency(cfg, |sink| disruptor_latency(Yield, sink)),
        },
        LatencyVariant {
            name: "latency disruptor sleep-1us",
            run: |cfg| measure_latency(cfg, |sink| disruptor_latency(sleep_1us(), sink)),
        },
    ]
}

struct Options {
    quick: bool,
    filter: Option<String>,
}

impl Options {
    fn from_args() -> Self {
        let mut options = Options {
            quick: false,
            filter: None,
        };
        for arg in std::env::args().skip(1) {
            match arg.as_str() {
                "--quick" => options.quick = true,
                // cargo bench passes --bench to harness = false targets.
                "--bench" => {}
                flag if flag.starts_with('-') => eprintln!("ignoring unknown flag {flag}"),
                _ => options.filter = Some(arg),
            }
        }
        options
    }

    fn selects(&self, name: &str) -> bool {
        self.filter.as_deref().is_none_or(|f| name.contains(f))
    }

    fn repeats(&self) -> usize {
        if self.quick {
            1
        } else {
            3
        }
    }
}

/// Reference checksums by event count (computing one costs about as much as
/// an `inline` run, so reuse them).
#[derive(Default)]
struct Checksums(HashMap<u64, u64>);

impl Checksums {
    fn check(&mut self, name: &str, run: &Run) {
        let expected = *self
            .0
            .entry(run.events)
            .or_insert_with(|| reference_checksum(run.events));
        assert_eq!(
            run.checksum, expected,
            "{name}: wrong checksum for {} events",
            run.events
        );
    }
}

/// Round to two significant digits so calibrated sizes read well.
fn round_events(n: f64) -> u64 {
    let magnitude = 10f64.powi(n.log10().floor() as i32 - 1);
    ((n / magnitude).round() * magnitude).max(1.0) as u64
}

/// Calibrate the event count, take `repeats` runs, return the median one.
fn measure(variant: &Variant, repeats: usize, checksums: &mut Checksums) -> Run {
    let timed = |events: u64, checksums: &mut Checksums| {
        let run = (variant.run)(events);
        checksums.check(variant.name, &run);
        run
    };
    let mut events = START_EVENTS;
    let mut runs = Vec::with_capacity(repeats);
    loop {
        let run = timed(events, checksums);
        let scale = TARGET.as_secs_f64() / run.elapsed.as_secs_f64();
        if run.elapsed >= MIN_RUN {
            runs.push(run);
            // A run far over target would make the repeats drag: shrink them.
            if scale < 0.5 {
                events = round_events(events as f64 * scale);
            }
            break;
        }
        // Grow at most 100x per step in case a short run was a fluke.
        events = round_events(events as f64 * scale.min(100.0));
    }
    while runs.len() < repeats {
        runs.push(timed(events, checksums));
    }
    let rates: Vec<String> = runs
        .iter()
        .map(|r| format!("{:.2}", r.events_per_sec() / 1e6))
        .collect();
    eprintln!(
        "  {:<28} {} events/run, M events/s: {}",
        variant.name,
        runs.last().map_or(0, |r| r.events),
        rates.join(" ")
    );
    runs.sort_by(|a, b| a.events_per_sec().total_cmp(&b.events_per_sec()));
    runs[runs.len() / 2]
}

fn print_throughput(results: &[(&'static str, Run)]) {
    let rate_of = |name: &str| {
        results
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, r)| r.events_per_sec())
    };
    let crossbeam = rate_of("crossbeam per-event");
    let inline = rate_of("inline");
    let ratio = |rate: f64, base: Option<f64>| {
        base.map_or("-".to_string(), |b| format!("{:.3}x", rate / b))
    };
    println!();
    println!(
        "{:<28} {:>14} {:>14} {:>12}",
        "variant", "events/s (M)", "vs crossbeam", "vs inline"
    );
    for (name, run) in results {
        let rate = run.events_per_sec();
        println!(
            "{:<28} {:>14.2} {:>14} {:>12}",
            name,
            rate / 1e6,
            ratio(rate, crossbeam),
            ratio(rate, inline)
        );
    }
}

fn print_latency(results: &[(&'static str, LatencyReport)], config: &LatencyConfig) {
    println!();
    println!(
        "latency at {} events/s offered, {:?} measured after {:?} warm-up (us)",
        config.rate, config.duration, config.warmup
    );
    println!(
        "{:<28} {:>9} {:>9} {:>9} {:>9} {:>10} {:>12} {:>13}",
        "variant", "p50", "p99", "p99.9", "max", "recorded", "offered/s", "max lag (us)"
    );
    for (name, r) in results {
        println!(
            "{:<28} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>10} {:>12.0} {:>13.1}",
            name,
            r.p50_us,
            r.p99_us,
            r.p999_us,
            r.max_us,
            r.recorded,
            r.achieved_rate,
            r.max_send_lag_us
        );
    }
}

fn main() {
    let options = Options::from_args();
    let mut checksums = Checksums::default();

    let mut throughput = Vec::new();
    for variant in variants().iter().filter(|v| options.selects(v.name)) {
        throughput.push((
            variant.name,
            measure(variant, options.repeats(), &mut checksums),
        ));
    }
    if !throughput.is_empty() {
        print_throughput(&throughput);
    }

    let config = LatencyConfig {
        rate: LATENCY_RATE,
        duration: if options.quick {
            Duration::from_secs(1)
        } else {
            Duration::from_secs(2)
        },
        warmup: Duration::from_millis(if options.quick { 200 } else { 500 }),
    };
    let mut latencies = Vec::new();
    for variant in latency_variants()
        .iter()
        .filter(|v| options.selects(v.name))
    {
        let report = (variant.run)(&config);
        assert_eq!(
            report.received, report.sent,
            "{}: events lost",
            variant.name
        );
        eprintln!(
            "  {:<28} p50 {:.1} us, p99 {:.1} us",
            variant.name, report.p50_us, report.p99_us
        );
        latencies.push((variant.name, report));
    }
    if !latencies.is_empty() {
        print_latency(&latencies, &config);
    }
}
