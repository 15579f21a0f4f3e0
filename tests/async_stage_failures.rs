//! An async stage's failures are counted as a sync stage's are: a panicking call fails one
//! event, a quarantined key is refused, and a shutdown past its deadline reports the calls it
//! cancelled and the events it never started as queued.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sedaflow::{AsyncHandler, Batch, Context, DeadReason, Handler, OnPanic, Pipeline};

/// Fails on every value ending in 3, after emitting what it saw.
struct Flaky;

impl AsyncHandler for Flaky {
    type In = (u8, u32);
    async fn handle(&self, (key, v): (u8, u32), ctx: &mut Context<'_>) {
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert!(v % 10 != 3, "bad event {v}");
        ctx.emit(u64::from(v) + u64::from(key));
    }
}

struct Count(Arc<Mutex<u64>>);

impl Handler for Count {
    type In = u64;
    fn handle(&mut self, batch: &mut Batch<'_, u64>, _ctx: &mut Context<'_>) {
        *self.0.lock().unwrap() += batch.count() as u64;
    }
}

#[test]
fn a_panicking_call_fails_only_its_event() {
    let dead = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::new(Mutex::new(0));
    let (d, s) = (dead.clone(), seen.clone());
    let mut p = Pipeline::builder();
    p.async_stage("flaky", || Flaky).concurrency(4, 32);
    p.stage("count", move || Count(s.clone()));
    p.on_dead_letter(move |l| d.lock().unwrap().push(l.reason));
    let pipeline = p.build().unwrap();
    let input = pipeline.publisher::<(u8, u32)>().unwrap();
    pipeline.start();
    input
        .blocking_publish_batch(&mut (0..1000).map(|v| (0, v)).collect())
        .unwrap();
    let r = support::assert_clean(pipeline.shutdown(support::DRAIN));
    let f = r.stage("flaky").unwrap();
    assert_eq!((f.processed, f.panicked), (900, 100));
    assert_eq!(*seen.lock().unwrap(), 900);
    let dead = dead.lock().unwrap();
    assert_eq!(dead.len(), 100);
    assert!(matches!(&dead[0], DeadReason::Panicked(m) if m.contains("bad event")));
}

#[test]
fn quarantine_key_refuses_the_failed_key_only() {
    let seen = Arc::new(Mutex::new(0));
    let s = seen.clone();
    let mut p = Pipeline::builder();
    p.async_stage("flaky", || Flaky)
        .keyed_by(|e: &(u8, u32)| e.0)
        .on_panic(OnPanic::QuarantineKey)
        .concurrency(8, 8);
    p.stage("count", move || Count(s.clone()));
    let pipeline = p.build().unwrap();
    let input = pipeline.publisher::<(u8, u32)>().unwrap();
    // Keys are v % 4. Key 1 (1, 5, 9, 13, …) panics on 13: its 6 later events are refused.
    // Key 3 (3, 7, 11, …) panics on 3: its 9 later events are refused. Keys 0 and 2 flow.
    let mut events: Vec<(u8, u32)> = (0..40).map(|v| ((v % 4) as u8, v)).collect();
    input.try_publish_batch(&mut events).unwrap();
    pipeline.start();
    let r = support::assert_clean(pipeline.shutdown(support::DRAIN));
    let f = r.stage("flaky").unwrap();
    let quarantined = r
        .dead_letters
        .iter()
        .find(|d| d.reason == "quarantined")
        .map_or(0, |d| d.count);
    assert_eq!(f.panicked, 2, "13 (key 1) and 3 (key 3)");
    assert_eq!(quarantined, 6 + 9, "key 1 after 13, key 3 after 3");
    assert_eq!(f.processed, 40 - 2);
    assert_eq!(*seen.lock().unwrap(), 40 - 2 - 15);
}

/// Calls a service that answers after `ms` milliseconds (or never, for `None`).
struct Slow(Option<u64>);

impl AsyncHandler for Slow {
    type In = u32;
    async fn handle(&self, _n: u32, _ctx: &mut Context<'_>) {
        match self.0 {
            Some(ms) => tokio::time::sleep(Duration::from_millis(ms)).await,
            None => std::future::pending().await,
        }
    }
}

#[test]
fn shutdown_waits_for_the_calls_in_flight() {
    let mut p = Pipeline::builder();
    p.async_stage("slow", || Slow(Some(20))).concurrency(1, 64);
    let pipeline = p.build().unwrap();
    let input = pipeline.publisher::<u32>().unwrap();
    pipeline.start();
    input.try_publish_batch(&mut (0..300).collect()).unwrap();
    let r = support::assert_clean(pipeline.shutdown(support::DRAIN));
    let s = r.stage("slow").unwrap();
    assert_eq!((s.processed, s.queued), (300, 0));
}

#[test]
fn a_deadline_cancels_calls_in_flight_and_reports_them_queued() {
    let mut p = Pipeline::builder();
    p.async_stage("stuck", || Slow(None)).concurrency(4, 4);
    let pipeline = p.build().unwrap();
    let input = pipeline.publisher::<u32>().unwrap();
    pipeline.start();
    input.try_publish_batch(&mut (0..100).collect()).unwrap();
    let r = pipeline.shutdown(Duration::from_millis(200));
    assert!(!r.drained);
    let s = r.stage("stuck").unwrap();
    assert!(s.is_balanced(), "{s:?}");
    // Four calls were cancelled, 96 events never started: all queued, none processed.
    assert_eq!((s.processed, s.panicked, s.queued), (0, 0, 100));
}

/// Refuses odd amounts with an application error.
struct Picky;

#[derive(Debug, thiserror::Error)]
#[error("odd amount {0}")]
struct Odd(u32);

impl AsyncHandler for Picky {
    type In = u32;
    async fn handle(&self, n: u32, ctx: &mut Context<'_>) {
        tokio::task::yield_now().await;
        if n % 2 == 1 {
            ctx.fail(n, Odd(n));
        }
    }
}

#[test]
fn a_call_that_fails_its_event_counts_it_failed_and_dead_letters_it() {
    let mut p = Pipeline::builder();
    p.async_stage("picky", || Picky).concurrency(2, 8);
    let pipeline = p.build().unwrap();
    let input = pipeline.publisher::<u32>().unwrap();
    pipeline.start();
    input.try_publish_batch(&mut (0..100).collect()).unwrap();
    let r = support::assert_clean(pipeline.shutdown(support::DRAIN));
    let s = r.stage("picky").unwrap();
    assert_eq!((s.processed, s.failed, s.panicked), (50, 50, 0));
    let failed = r.dead_letters.iter().find(|d| d.reason == "failed");
    assert_eq!(failed.map(|d| d.count), Some(50));
}
