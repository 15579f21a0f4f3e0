//! A keyed stage keeps each key's events in arrival order across several threads.

mod support;

use sedaflow::{handler_fn, Batch, Pipeline};
use support::Keyed;

#[test]
fn per_key_order_holds_with_four_threads_over_100k_events() {
    const KEYS: u32 = 257;
    const EVENTS: u64 = 100_000;
    let seen = support::Seen::default();
    let sink = seen.clone();
    let mut p = Pipeline::builder();
    p.stage("keyed", move || {
        let sink = sink.clone();
        handler_fn(move |batch: &mut Batch<'_, Keyed>, _ctx| {
            let local: Vec<Keyed> = batch.collect();
            // Yield inside the batch so lanes really interleave across threads.
            std::thread::yield_now();
            support::note(&sink, local);
        })
    })
    .keyed_by(|e: &Keyed| e.key)
    .fixed_threads(4)
    .batch(1, 64)
    .capacity(4096);
    let pipeline = p.build().unwrap();
    let input = pipeline.publisher::<Keyed>().unwrap();
    pipeline.start();
    support::publish_keyed(&input, EVENTS, KEYS, 100);
    let report = support::assert_clean(pipeline.shutdown(support::DRAIN));
    assert_eq!(report.stage("keyed").unwrap().processed, EVENTS);
    assert_eq!(seen.lock().unwrap().len(), KEYS as usize);
    support::assert_each_once_in_key_order(&seen, EVENTS);
}
