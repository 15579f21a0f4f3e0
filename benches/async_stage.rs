//! An async stage against the blocking pool and plain tokio tasks, in one run.
//!
//! `cargo bench --bench async_stage`: every variant handles the same events, each a call that
//! takes 10 ms (a slow service: `tokio::time::sleep` for futures, `thread::sleep` for the
//! pool), all queued before the start, and reports events/s from start to idle:
//!
//! - the async stage with its adaptive limit (1..=1024, starting at 1);
//! - the blocking pool at fixed sizes (one event per batch, so every thread gets work), and
//!   the best of them;
//! - tokio tasks gated by a semaphore of 1024 permits, spawned as permits free up: what an
//!   embedder would write by hand without a pipeline.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sedaflow::{handler_fn, AsyncHandler, Batch, Context, Pipeline};
use tokio::sync::Semaphore;

const EVENTS: u32 = 50_000;
const CALL: Duration = Duration::from_millis(10);
const LIMIT: usize = 1024;

struct Call;

impl AsyncHandler for Call {
    type In = u32;
    async fn handle(&self, _n: u32, _ctx: &mut Context<'_>) {
        tokio::time::sleep(CALL).await;
    }
}

/// Events/s of `pipeline` over `EVENTS` queued before its start, from start to idle; the
/// pipeline is handed back idle.
fn drain(pipeline: Pipeline) -> (f64, Pipeline) {
    let input = pipeline.publisher::<u32>().expect("a stage takes u32");
    input
        .try_publish_batch(&mut (0..EVENTS).collect())
        .expect("the queue holds every event");
    let start = Instant::now();
    pipeline.start();
    assert!(
        pipeline.wait_idle(Duration::from_secs(600)),
        "did not finish"
    );
    (f64::from(EVENTS) / start.elapsed().as_secs_f64(), pipeline)
}

/// Shuts an idle pipeline down and checks every event was processed.
fn finish(pipeline: Pipeline) {
    let report = pipeline.shutdown(Duration::from_secs(5));
    assert!(report.is_balanced() && report.stages[0].processed == u64::from(EVENTS));
}

fn async_stage() -> (f64, usize) {
    let mut p = Pipeline::builder();
    p.async_stage("call", || Call)
        .capacity(EVENTS as usize)
        .concurrency(1, LIMIT);
    let pipeline = p.build().expect("valid");
    let (rate, pipeline) = drain(pipeline);
    let peak = pipeline.concurrency("call").map_or(0, |c| c.peak_limit);
    finish(pipeline);
    (rate, peak)
}

fn pool(threads: usize) -> f64 {
    let mut p = Pipeline::builder();
    p.stage("call", || {
        handler_fn(|b: &mut Batch<'_, u32>, _| b.for_each(|_| std::thread::sleep(CALL)))
    })
    .capacity(EVENTS as usize)
    .fixed_threads(threads)
    .batch(1, 1);
    let (rate, pipeline) = drain(p.build().expect("valid"));
    finish(pipeline);
    rate
}

fn semaphore(permits: usize) -> f64 {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let done = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    rt.block_on(async {
        let gate = Arc::new(Semaphore::new(permits));
        let mut tasks = Vec::with_capacity(EVENTS as usize);
        for _ in 0..EVENTS {
            let permit = gate.clone().acquire_owned().await.expect("never closed");
            let done = done.clone();
            tasks.push(tokio::spawn(async move {
                tokio::time::sleep(CALL).await;
                done.fetch_add(1, Relaxed);
                drop(permit);
            }));
        }
        for t in tasks {
            t.await.expect("no panics");
        }
    });
    assert_eq!(done.load(Relaxed), u64::from(EVENTS));
    f64::from(EVENTS) / start.elapsed().as_secs_f64()
}

fn main() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("{EVENTS} events, a {CALL:?} call each, {cores} cores");
    println!("{:<28} {:>12}", "variant", "events/s");
    let mut best = (0.0f64, 0);
    for threads in [128, 512, 1024] {
        let rate = pool(threads);
        if rate > best.0 {
            best = (rate, threads);
        }
        println!(
            "{:<28} {:>12.0}",
            format!("blocking pool, {threads} threads"),
            rate
        );
    }
    let tasks = semaphore(LIMIT);
    println!(
        "{:<28} {:>12.0}",
        format!("tokio tasks, semaphore {LIMIT}"),
        tasks
    );
    let (rate, peak) = async_stage();
    println!(
        "{:<28} {:>12.0}",
        format!("async stage, limit 1..={LIMIT}"),
        rate
    );
    println!("async stage peak limit {peak}");
    println!(
        "async / best pool ({} threads) = {:.2}; async / semaphore tasks = {:.2}",
        best.1,
        rate / best.0,
        rate / tasks
    );
}
