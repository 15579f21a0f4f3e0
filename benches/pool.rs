//! Adaptive pool against fixed pools, side by side in one run.
//!
//! `cargo bench --bench pool`: a stage whose handler blocks 1 ms per event (simulated IO) is
//! run with fixed pools of 1..=64 threads and with the adaptive pool (1..=64), all with the
//! default batch settings and controller interval; each run gets the same backlog (queued
//! before the start, so the first batches are the default initial limit) and the same
//! warm-up, then reports events/s over the same window, and the adaptive pool's share of the
//! best fixed pool. Then a pure-CPU handler is run adaptively and its final thread count is
//! compared with the cores.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sedaflow::{handler_fn, Batch, Pipeline};

/// Every variant, fixed or adaptive, gets this long before the measured window.
const WARMUP: Duration = Duration::from_secs(1);
const RUN: Duration = Duration::from_secs(4);

/// Runs a stage doing `work` against a backlog it cannot finish; returns the events/s of the
/// window after the warm-up and the threads at its end. Events are counted as the handler
/// takes them: the report counts a batch when it ends, and a 1024-event batch of 1 ms events
/// started in the warm-up would count in the window.
fn measure(adaptive: Option<usize>, fixed: usize, work: fn(u32)) -> (f64, usize) {
    let handled = Arc::new(AtomicU64::new(0));
    let counter = handled.clone();
    let mut p = Pipeline::builder();
    let stage = p
        .stage("s", move || {
            let counter = counter.clone();
            handler_fn(move |b: &mut Batch<'_, u32>, _| {
                for x in b {
                    work(x);
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .capacity(1_000_000);
    match adaptive {
        Some(max) => {
            stage.threads(1, max);
        }
        None => {
            stage.fixed_threads(fixed);
        }
    }
    let pipeline = p.build().expect("valid");
    let input = pipeline.publisher::<u32>().expect("queue");
    let mut backlog: Vec<u32> = (0..500_000).collect();
    input.try_publish_batch(&mut backlog).expect("fits");
    pipeline.start();
    std::thread::sleep(WARMUP);
    let before = handled.load(Ordering::Relaxed);
    let start = Instant::now();
    std::thread::sleep(RUN);
    let done = handled.load(Ordering::Relaxed) - before;
    let threads = pipeline.report().stages[0].threads;
    let rate = done as f64 / start.elapsed().as_secs_f64();
    // Drop the rest quickly: the figure is taken.
    drop(pipeline.shutdown(Duration::ZERO));
    (rate, threads)
}

fn blocking(_: u32) {
    std::thread::sleep(Duration::from_millis(1));
}

fn cpu(x: u32) {
    let mut h = u64::from(x);
    // black_box each step so the optimiser cannot shorten the loop: ~20 µs per event.
    for _ in 0..20_000 {
        h = std::hint::black_box(h.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1));
    }
}

fn main() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("blocking handler (1 ms/event), {RUN:?} per run, {cores} cores");
    println!("{:<16} {:>12} {:>8}", "pool", "events/s", "threads");
    let mut best = 0.0f64;
    for n in [1, 2, 4, 8, 16, 32, 64] {
        let (rate, threads) = measure(None, n, blocking);
        best = best.max(rate);
        println!("{:<16} {:>12.0} {:>8}", format!("fixed {n}"), rate, threads);
    }
    let (rate, threads) = measure(Some(64), 0, blocking);
    println!("{:<16} {:>12.0} {:>8}", "adaptive 1..64", rate, threads);
    println!("adaptive / best fixed = {:.2}", rate / best);

    println!();
    println!("cpu handler (20k multiply-adds/event)");
    let (fixed_rate, _) = measure(None, cores, cpu);
    let (rate, threads) = measure(Some(64), 0, cpu);
    println!("fixed {cores}: {fixed_rate:.0} events/s; adaptive 1..64: {rate:.0} events/s with {threads} threads (cores: {cores})");
}
