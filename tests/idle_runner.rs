//! `Pipeline::idle_runner`: threads outside the pool run a stage's ready batches beside its
//! workers; every event is handled once, each key's in order, and the report balances.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use sedaflow::{handler_fn, Batch, Pipeline};

#[derive(Debug, Clone, Copy)]
struct Ev {
    key: u32,
    seq: u64,
}

#[test]
fn idle_threads_and_the_pool_share_the_lanes_without_loss_or_reordering() {
    const KEYS: u32 = 61;
    const EVENTS: u64 = 50_000;
    let seen: Arc<Mutex<HashMap<u32, Vec<u64>>>> = Arc::default();
    let sink = seen.clone();
    let mut p = Pipeline::builder();
    p.stage("keyed", move || {
        let sink = sink.clone();
        handler_fn(move |batch: &mut Batch<'_, Ev>, _ctx| {
            let mut seen = sink.lock().unwrap();
            for e in batch {
                seen.entry(e.key).or_default().push(e.seq);
            }
        })
    })
    .keyed_by(|e: &Ev| e.key)
    .fixed_threads(1)
    .batch(1, 32)
    .capacity(1024);
    let pipeline = p.build().unwrap();
    let input = pipeline.publisher::<Ev>().unwrap();
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
    let mut batch = Vec::new();
    for seq in 0..EVENTS {
        let key = (seq.wrapping_mul(2_654_435_761) % u64::from(KEYS)) as u32;
        batch.push(Ev { key, seq });
        if batch.len() == 50 {
            input.blocking_publish_batch(&mut batch).unwrap();
        }
    }
    input.blocking_publish_batch(&mut batch).unwrap();
    assert!(pipeline.wait_idle(Duration::from_secs(30)), "drained");
    stop.store(true, Ordering::Relaxed);
    for h in helpers {
        h.join().unwrap();
    }
    let report = pipeline.shutdown(Duration::from_secs(5));
    assert!(report.is_balanced());
    assert_eq!(report.stage("keyed").unwrap().processed, EVENTS);
    let seen = seen.lock().unwrap();
    let total: usize = seen.values().map(Vec::len).sum();
    assert_eq!(total as u64, EVENTS, "each event once");
    for (key, seqs) in seen.iter() {
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "key {key} in order");
    }
}
