//! A shutdown deadline is a bound even mid-batch, and a pipeline can be waited on until it is
//! idle without shutting it down. Counts are asserted exactly; the one duration asserted is
//! the bound itself, with a wide margin.

mod support;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sedaflow::{handler_fn, Batch, Pipeline};

/// One thread, default batch settings, 1 ms per event; counts the events it took.
fn slow(taken: Arc<AtomicU64>, started: Arc<AtomicBool>) -> Pipeline {
    let mut p = Pipeline::builder();
    p.stage("slow", move || {
        let (taken, started) = (taken.clone(), started.clone());
        handler_fn(move |b: &mut Batch<'_, u32>, _ctx| {
            started.store(true, Ordering::Release);
            for _ in b {
                taken.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(1));
            }
        })
    })
    .fixed_threads(1);
    p.build().unwrap()
}

#[test]
fn a_deadline_cuts_a_running_batch_and_its_rest_counts_as_queued() {
    let (taken, started) = (Arc::default(), Arc::default());
    let pipeline = slow(Arc::clone(&taken), Arc::clone(&started));
    let input = pipeline.publisher::<u32>().unwrap();
    // One push before the start: the worker's first batch is the default initial limit
    // (1024 events, about a second of work).
    input.try_publish_batch(&mut (0..2048).collect()).unwrap();
    pipeline.start();
    while !started.load(Ordering::Acquire) {
        std::thread::yield_now();
    }
    let report = pipeline.shutdown(Duration::from_millis(100));
    let s = report.stage("slow").unwrap();
    assert!(!report.drained);
    assert!(report.is_balanced(), "{s:?}");
    assert!(
        report.elapsed < Duration::from_millis(700),
        "shutdown(100 ms) took {:?}",
        report.elapsed
    );
    assert_eq!(
        s.processed,
        taken.load(Ordering::Relaxed),
        "only the events the handler took count as processed"
    );
    assert_eq!(s.processed + s.queued, 2048, "{s:?}");
    assert!(s.processed < 1024, "{s:?}");
}

#[test]
fn a_cut_batch_of_a_fused_stage_balances_too() {
    let mut p = Pipeline::builder();
    p.stage("parse", || {
        handler_fn(|b: &mut Batch<'_, u32>, ctx| ctx.emit_all(b.drain().map(u64::from)))
    })
    .fixed_threads(1);
    p.stage("slow", || {
        handler_fn(|b: &mut Batch<'_, u64>, _ctx| {
            b.for_each(|_| std::thread::sleep(Duration::from_millis(1)))
        })
    });
    p.fuse(["parse", "slow"]);
    let pipeline = p.build().unwrap();
    let input = pipeline.publisher::<u32>().unwrap();
    input.try_publish_batch(&mut (0..1024).collect()).unwrap();
    pipeline.start();
    std::thread::sleep(Duration::from_millis(20));
    let report = pipeline.shutdown(Duration::from_millis(50));
    assert!(report.is_balanced(), "{report}");
    let (parse, slow) = (
        report.stage("parse").unwrap(),
        report.stage("slow").unwrap(),
    );
    assert_eq!(parse.processed, 1024, "the entry stage finished its batch");
    assert_eq!(slow.enqueued, 1024);
    assert_eq!(slow.processed + slow.queued, 1024, "{slow:?}");
    assert!(slow.queued > 0, "{slow:?}");
}

#[test]
fn wait_idle_waits_for_every_stage_without_shutting_down() {
    let mut p = Pipeline::builder();
    p.stage("double", || {
        handler_fn(|b: &mut Batch<'_, u32>, ctx| {
            for n in b {
                std::thread::sleep(Duration::from_micros(50));
                ctx.emit(u64::from(n) * 2);
            }
        })
    });
    p.stage("sum", || {
        handler_fn(|b: &mut Batch<'_, u64>, _ctx| {
            for _ in b {
                std::thread::sleep(Duration::from_micros(50));
            }
        })
    });
    let pipeline = p.build().unwrap();
    let input = pipeline.publisher::<u32>().unwrap();
    pipeline.start();
    for round in 1..=3u64 {
        input
            .blocking_publish_batch(&mut (0..500).collect())
            .unwrap();
        assert!(pipeline.wait_idle(support::DRAIN), "round {round}");
        let r = pipeline.report();
        for s in &r.stages {
            assert_eq!((s.processed, s.queued), (500 * round, 0), "{}", s.name);
        }
        assert!(r.is_balanced());
    }
    support::assert_clean(pipeline.shutdown(support::DRAIN));
}

#[test]
fn wait_idle_times_out_while_a_batch_runs() {
    let (open, wait) = support::gate();
    let mut p = Pipeline::builder();
    p.stage("gated", move || {
        let wait = wait.clone();
        handler_fn(move |b: &mut Batch<'_, u32>, _ctx| {
            let _ = wait.recv();
            b.for_each(drop);
        })
    });
    let pipeline = p.build().unwrap();
    let input = pipeline.publisher::<u32>().unwrap();
    pipeline.start();
    input.blocking_publish(1).unwrap();
    assert!(!pipeline.wait_idle(Duration::from_millis(50)));
    open.send(()).unwrap();
    assert!(pipeline.wait_idle(support::DRAIN));
    assert_eq!(pipeline.report().stage("gated").unwrap().processed, 1);
    support::assert_clean(pipeline.shutdown(support::DRAIN));
}
