//! A panicking handler fails one event; the stage lives on and the counts stay right.

mod support;

use std::sync::{Arc, Mutex};

use sedaflow::{handler_fn, Batch, Context, DeadReason, Handler, OnPanic, Pipeline};

#[test]
fn a_panic_fails_only_that_event() {
    let dead = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (dead2, seen2) = (dead.clone(), seen.clone());
    let mut p = Pipeline::builder();
    p.stage("flaky", move || {
        let seen = seen2.clone();
        handler_fn(move |batch: &mut Batch<'_, u32>, _ctx| {
            for x in batch {
                assert!(x % 10 != 3, "bad event {x}");
                seen.lock().unwrap().push(x);
            }
        })
    })
    .fixed_threads(2);
    p.on_dead_letter(move |d| dead2.lock().unwrap().push(d.reason));
    let pipeline = p.build().unwrap();
    let input = pipeline.publisher::<u32>().unwrap();
    pipeline.start();
    let mut events: Vec<u32> = (0..1000).collect();
    input.blocking_publish_batch(&mut events).unwrap();
    let r = support::assert_clean(pipeline.shutdown(support::DRAIN));
    let s = r.stage("flaky").unwrap();
    assert_eq!((s.processed, s.panicked), (900, 100));
    assert_eq!(seen.lock().unwrap().len(), 900);
    let dead = dead.lock().unwrap();
    assert_eq!(dead.len(), 100);
    assert!(matches!(&dead[0], DeadReason::Panicked(m) if m.contains("bad event")));
}

/// Keeps a running total per key; a poisoned value tears the key's state.
#[derive(Default)]
struct Totals {
    refused: Arc<Mutex<Vec<(u8, u32)>>>,
}

impl Handler for Totals {
    type In = (u8, u32);
    fn handle(&mut self, batch: &mut Batch<'_, (u8, u32)>, ctx: &mut Context<'_>) {
        for (key, v) in batch {
            assert!(v != 13, "torn state for key {key}");
            ctx.emit(u64::from(v));
        }
    }
    fn quarantined(&mut self, event: (u8, u32), _ctx: &mut Context<'_>) {
        self.refused.lock().unwrap().push(event);
    }
}

#[test]
fn quarantine_key_refuses_the_failed_key_only() {
    let refused: Arc<Mutex<Vec<(u8, u32)>>> = Arc::default();
    let r2 = refused.clone();
    let mut p = Pipeline::builder();
    p.stage("totals", move || Totals {
        refused: r2.clone(),
    })
    .keyed_by(|e: &(u8, u32)| e.0)
    .on_panic(OnPanic::QuarantineKey)
    .fixed_threads(2);
    p.stage("sink", || {
        handler_fn(|b: &mut Batch<'_, u64>, _| b.for_each(drop))
    });
    let pipeline = p.build().unwrap();
    let input = pipeline.publisher::<(u8, u32)>().unwrap();
    pipeline.start();
    let mut events: Vec<(u8, u32)> = (0..40).map(|i| ((i % 4) as u8, i)).collect();
    input.blocking_publish_batch(&mut events).unwrap();
    let r = support::assert_clean(pipeline.shutdown(support::DRAIN));
    // 13 is key 1: it panics; keys 1's later events (17, 21, …, 37) are refused; others flow.
    let refused = refused.lock().unwrap();
    let expect: Vec<(u8, u32)> = (17..40).step_by(4).map(|v| (1, v)).collect();
    assert_eq!(*refused, expect);
    let t = r.stage("totals").unwrap();
    assert_eq!((t.processed, t.panicked), (39, 1));
    assert_eq!(
        r.stage("sink").unwrap().processed,
        40 - 1 - expect.len() as u64
    );
}
