//! The in-flight limit of an async stage adapts within its bounds: it grows for a slow
//! service whose latency stays flat, and stays low for one that queues calls.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use sedaflow::{AsyncHandler, Context, Pipeline};

/// A service that runs `capacity` calls at once; past that, calls queue inside it and each
/// takes longer in proportion (`capacity` 0: never queues).
struct Service {
    capacity: usize,
    running: Arc<AtomicUsize>,
    most: Arc<AtomicUsize>,
}

impl AsyncHandler for Service {
    type In = u32;
    async fn handle(&self, _n: u32, _ctx: &mut Context<'_>) {
        let now = self.running.fetch_add(1, Relaxed) + 1;
        self.most.fetch_max(now, Relaxed);
        let load = if self.capacity == 0 {
            1.0
        } else {
            (now as f64 / self.capacity as f64).max(1.0)
        };
        tokio::time::sleep(Duration::from_millis(4).mul_f64(load)).await;
        self.running.fetch_sub(1, Relaxed);
    }
}

/// Runs `events` through a stage calling `Service { capacity }` with the limit in `1..=max`;
/// returns the highest limit chosen and the most calls seen at once.
fn run(capacity: usize, max: usize, events: u32) -> (usize, usize) {
    let running = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let (r, m) = (running.clone(), most.clone());
    let mut p = Pipeline::builder();
    p.async_stage("call", move || Service {
        capacity,
        running: r.clone(),
        most: m.clone(),
    })
    .concurrency(1, max);
    let pipeline = p.build().unwrap();
    let input = pipeline.publisher::<u32>().unwrap();
    input.try_publish_batch(&mut (0..events).collect()).unwrap();
    pipeline.start();
    assert!(pipeline.wait_idle(support::DRAIN));
    let c = pipeline.concurrency("call").unwrap();
    assert_eq!((c.min, c.max, c.in_flight), (1, max, 0));
    assert!(c.limit <= max);
    let report = support::assert_clean(pipeline.shutdown(support::DRAIN));
    assert_eq!(report.stage("call").unwrap().processed, u64::from(events));
    (c.peak_limit, most.load(Relaxed))
}

#[test]
fn the_limit_grows_for_a_slow_service_and_stays_within_its_bounds() {
    let (peak, most) = run(0, 32, 4000);
    assert!(peak > 1, "the limit never grew");
    assert!(
        peak <= 32 && most <= 32,
        "bounds broken: limit {peak}, calls at once {most}"
    );
    assert!(most > 1, "calls never overlapped");
}

#[test]
fn the_limit_stays_low_for_a_service_that_queues_calls() {
    // Past 8 calls at once the service slows down in proportion: a limit of 64 would make
    // every call 8 times slower, so the controller must never get there.
    let (peak, most) = run(8, 256, 3000);
    assert!(peak > 1, "the limit never grew");
    assert!(peak < 64, "the limit ran up to {peak}");
    assert!(most < 64, "{most} calls at once");
}

#[test]
fn a_sync_stage_has_no_concurrency_reading() {
    let mut p = Pipeline::builder();
    p.stage("sync", || {
        sedaflow::handler_fn(|b: &mut sedaflow::Batch<'_, u32>, _| b.for_each(drop))
    });
    let pipeline = p.build().unwrap();
    assert_eq!(pipeline.concurrency("sync"), None);
    assert_eq!(pipeline.concurrency("nope"), None);
}
