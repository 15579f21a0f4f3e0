//! `Pipeline::idle_runner`: threads outside the pool run a stage's ready batches beside its
//! workers; every event is handled once, each key's in order, and the report balances.

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;

use sedaflow::{handler_fn, Batch, Pipeline};
use support::Keyed;

#[test]
fn idle_threads_and_the_pool_share_the_lanes_without_loss_or_reordering() {
    const KEYS: u32 = 61;
    const EVENTS: u64 = 50_000;
    let seen = support::Seen::default();
    let sink = seen.clone();
    let mut p = Pipeline::builder();
    p.stage("keyed", move || {
        let sink = sink.clone();
        handler_fn(move |batch: &mut Batch<'_, Keyed>, _ctx| support::note(&sink, batch))
    })
    .keyed_by(|e: &Keyed| e.key)
    .fixed_threads(1)
    .batch(1, 32)
    .capacity(1024);
    let pipeline = p.build().unwrap();
    let input = pipeline.publisher::<Keyed>().unwrap();
    let idle = pipeline.idle_runner("keyed").expect("a sync stage");
    assert!(pipeline.idle_runner("missing").is_none());
    pipeline.start();

    // Two threads that run whatever is ready whenever they look, racing the pool's worker.
    let stop = Arc::new(AtomicBool::new(false));
    let helpers: Vec<_> = (0..2)
        .map(|_| {
            let (idle, stop) = (idle.clone(), stop.clone());
            thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    idle.run_ready(4);
                    thread::yield_now();
                }
            })
        })
        .collect();
    support::publish_keyed(&input, EVENTS, KEYS, 50);
    assert!(pipeline.wait_idle(support::DRAIN), "drained");
    stop.store(true, Ordering::Relaxed);
    for h in helpers {
        h.join().unwrap();
    }
    let report = support::assert_clean(pipeline.shutdown(support::DRAIN));
    assert_eq!(report.stage("keyed").unwrap().processed, EVENTS);
    support::assert_each_once_in_key_order(&seen, EVENTS);
}
