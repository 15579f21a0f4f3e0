//! A keyed stage keeps each key's events in arrival order across several threads.

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sedaflow::{handler_fn, Batch, Pipeline};

#[derive(Debug, Clone, Copy)]
struct Ev {
    key: u32,
    seq: u64,
}

#[test]
fn per_key_order_holds_with_four_threads_over_100k_events() {
    const KEYS: u32 = 257;
    const EVENTS: u64 = 100_000;
    let seen: Arc<Mutex<HashMap<u32, Vec<u64>>>> = Arc::default();
    let sink = seen.clone();
    let mut p = Pipeline::builder();
    p.stage("keyed", move || {
        let sink = sink.clone();
        handler_fn(move |batch: &mut Batch<'_, Ev>, _ctx| {
            let mut local: Vec<Ev> = batch.collect();
            // Yield inside the batch so lanes really interleave across threads.
            std::thread::yield_now();
            let mut seen = sink.lock().unwrap();
            for e in local.drain(..) {
                seen.entry(e.key).or_default().push(e.seq);
            }
        })
    })
    .keyed_by(|e: &Ev| e.key)
    .fixed_threads(4)
    .batch(1, 64)
    .capacity(4096);
    let pipeline = p.build().unwrap();
    let input = pipeline.publisher::<Ev>().unwrap();
    pipeline.start();
    let mut batch = Vec::new();
    for seq in 0..EVENTS {
        batch.push(Ev {
            key: (seq.wrapping_mul(2_654_435_761) % KEYS as u64) as u32,
            seq,
        });
        if batch.len() == 100 {
            input.blocking_publish_batch(&mut batch).unwrap();
        }
    }
    input.blocking_publish_batch(&mut batch).unwrap();
    let report = support::assert_clean(pipeline.shutdown(support::DRAIN));
    assert_eq!(report.stage("keyed").unwrap().processed, EVENTS);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), KEYS as usize);
    let total: usize = seen.values().map(Vec::len).sum();
    assert_eq!(total as u64, EVENTS);
    for (key, seqs) in seen.iter() {
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "key {key} out of order"
        );
    }
}
