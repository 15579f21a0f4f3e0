//! The adaptive pool end to end, with default batch settings and controller interval: grows
//! for blocking work, stays within the cores for CPU work, shrinks back when idle. Assertions
//! are on thread and event counts, never on durations.

mod support;

use std::time::{Duration, Instant};

use sedaflow::{handler_fn, Batch, Pipeline, StageConfig};

fn config(min: usize, max: usize) -> StageConfig {
    let mut c: StageConfig = toml::from_str(&format!(
        "capacity = 100000\n[pool]\nmin = {min}\nmax = {max}\nidle_timeout = \"200ms\"\n"
    ))
    .unwrap();
    c.pool.adaptive = true;
    c
}

/// Publishes `events` in one call, returns the most threads seen while they were processed
/// (or until `enough` threads were seen) and the pipeline (still running).
fn run(p: Pipeline, events: u32, enough: usize) -> (usize, Pipeline) {
    let input = p.publisher::<u32>().unwrap();
    p.start();
    let mut all: Vec<u32> = (0..events).collect();
    input.blocking_publish_batch(&mut all).unwrap();
    let mut most = 0;
    loop {
        let s = p.report().stages[0].clone();
        most = most.max(s.threads);
        if s.processed == u64::from(events) || most >= enough {
            return (most, p);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The SEDA case (IO): 1 ms of blocking per event, 20,000 events queued at once, so a
/// lane's backlog becomes batches of the default initial limit (1024 events, a second each).
#[test]
fn grows_for_blocking_work_then_shrinks_to_min_when_idle() {
    let mut p = Pipeline::builder();
    p.stage("io", || {
        handler_fn(|b: &mut Batch<'_, u32>, _| {
            b.for_each(|_| std::thread::sleep(Duration::from_millis(1)))
        })
    })
    .config(config(1, 32));
    let (most, p) = run(p.build().unwrap(), 20_000, 12);
    assert!(
        most >= 12,
        "a 1 ms blocking stage should grow well past 2 threads, saw at most {most}"
    );
    // Let the backlog finish (bounded wait, only reached on failure).
    assert!(p.wait_idle(support::DRAIN), "{:?}", p.report().stages[0]);
    // Idle now: the pool must shrink to its minimum (bounded wait, only reached on failure).
    let until = Instant::now() + Duration::from_secs(60);
    while p.report().stages[0].threads > 1 {
        assert!(
            Instant::now() < until,
            "idle pool did not shrink: {:?}",
            p.report().stages[0]
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    support::assert_clean(p.shutdown(support::DRAIN));
}

#[test]
fn cpu_bound_work_never_gets_more_threads_than_cores() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut p = Pipeline::builder();
    p.stage("cpu", || {
        handler_fn(|b: &mut Batch<'_, u32>, _| {
            for x in b {
                let mut h = u64::from(x);
                for _ in 0..20_000 {
                    h = h.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                }
                std::hint::black_box(h);
            }
        })
    })
    .config(config(1, 16));
    let (most, p) = run(p.build().unwrap(), 20_000, usize::MAX);
    assert!(
        most <= cores,
        "CPU-bound stage grew to {most} threads on {cores} cores"
    );
    support::assert_clean(p.shutdown(support::DRAIN));
}
