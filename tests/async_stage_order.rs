//! Async stages keep order where it is promised: a key's events are handled and delivered in
//! arrival order while keys run concurrently; a lane delivers in arrival order.

mod support;

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sedaflow::{AsyncHandler, Batch, Context, Handler, Pipeline};

/// Calls a "service" whose latency varies per event, so later events often end first.
struct Jittery {
    started: Arc<Mutex<Vec<(u8, u32)>>>,
    /// Keys with a call running: a key's next call must not start before its last ended.
    busy: Arc<Mutex<HashSet<u8>>>,
    running: Arc<AtomicUsize>,
    most: Arc<AtomicUsize>,
}

impl AsyncHandler for Jittery {
    type In = (u8, u32);
    async fn handle(&self, (key, seq): (u8, u32), ctx: &mut Context<'_>) {
        self.started.lock().unwrap().push((key, seq));
        assert!(
            self.busy.lock().unwrap().insert(key),
            "key {key} overlaps itself"
        );
        let now = self.running.fetch_add(1, Relaxed) + 1;
        self.most.fetch_max(now, Relaxed);
        tokio::time::sleep(Duration::from_millis(u64::from(
            (seq * 7 + u32::from(key)) % 5,
        )))
        .await;
        self.running.fetch_sub(1, Relaxed);
        self.busy.lock().unwrap().remove(&key);
        ctx.emit(Done(key, seq));
    }
}

/// What the async stage emits: the event it handled.
struct Done(u8, u32);

/// Records the order events arrive in downstream.
struct Sink(Arc<Mutex<Vec<(u8, u32)>>>);

impl Handler for Sink {
    type In = Done;
    fn handle(&mut self, batch: &mut Batch<'_, Done>, _ctx: &mut Context<'_>) {
        self.0
            .lock()
            .unwrap()
            .extend(batch.map(|Done(k, s)| (k, s)));
    }
}

fn collector(seen: &Arc<Mutex<Vec<(u8, u32)>>>) -> impl Fn() -> Sink + Send + Sync + 'static {
    let seen = seen.clone();
    move || Sink(seen.clone())
}

fn per_key(events: &[(u8, u32)], key: u8) -> Vec<u32> {
    events.iter().filter(|e| e.0 == key).map(|e| e.1).collect()
}

#[test]
fn a_keys_events_are_handled_and_delivered_in_order_while_keys_overlap() {
    let started: Arc<Mutex<Vec<(u8, u32)>>> = Arc::default();
    let delivered: Arc<Mutex<Vec<(u8, u32)>>> = Arc::default();
    let running = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let busy: Arc<Mutex<HashSet<u8>>> = Arc::default();
    let (s, r, m) = (started.clone(), running.clone(), most.clone());
    let mut p = Pipeline::builder();
    p.async_stage("enrich", move || Jittery {
        started: s.clone(),
        busy: busy.clone(),
        running: r.clone(),
        most: m.clone(),
    })
    .keyed_by(|e: &(u8, u32)| e.0)
    .concurrency(8, 64);
    p.stage("sink", collector(&delivered)).fixed_threads(1);
    let pipeline = p.build().unwrap();
    let input = pipeline.publisher::<(u8, u32)>().unwrap();
    pipeline.start();
    let mut events: Vec<(u8, u32)> = (0..2000).map(|i| ((i % 8) as u8, i / 8)).collect();
    input.blocking_publish_batch(&mut events).unwrap();
    let report = support::assert_clean(pipeline.shutdown(support::DRAIN));
    let enrich = report.stage("enrich").unwrap();
    assert_eq!((enrich.processed, enrich.panicked), (2000, 0));
    let (started, delivered) = (started.lock().unwrap(), delivered.lock().unwrap());
    for key in 0..8 {
        let expect: Vec<u32> = (0..250).collect();
        assert_eq!(
            per_key(&started, key),
            expect,
            "key {key} handled out of order"
        );
        assert_eq!(
            per_key(&delivered, key),
            expect,
            "key {key} delivered out of order"
        );
    }
    assert!(most.load(Relaxed) >= 2, "keys never ran at once");
}

/// Ends in reverse order of arrival within each run of ten.
struct Reversing;

impl AsyncHandler for Reversing {
    type In = u32;
    async fn handle(&self, n: u32, ctx: &mut Context<'_>) {
        tokio::time::sleep(Duration::from_millis(u64::from(10 - n % 10))).await;
        ctx.emit(Done(0, n));
    }
}

#[test]
fn a_lane_delivers_in_arrival_order_whatever_order_its_calls_end_in() {
    let delivered: Arc<Mutex<Vec<(u8, u32)>>> = Arc::default();
    let mut p = Pipeline::builder();
    p.async_stage("enrich", || Reversing)
        .lanes(1)
        .concurrency(16, 16);
    p.stage("sink", collector(&delivered)).fixed_threads(1);
    let pipeline = p.build().unwrap();
    let input = pipeline.publisher::<u32>().unwrap();
    pipeline.start();
    input
        .blocking_publish_batch(&mut (0..500).collect())
        .unwrap();
    support::assert_clean(pipeline.shutdown(support::DRAIN));
    let order: Vec<u32> = delivered.lock().unwrap().iter().map(|e| e.1).collect();
    assert_eq!(order, (0..500).collect::<Vec<_>>());
}
