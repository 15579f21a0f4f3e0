//! Shutdown drains every stage in order and the accounting balances, split or fused.

mod support;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use sedaflow::{handler_fn, Batch, BuildError, Pipeline, PublisherError};

/// Parse (64) → square (16) → sum (8), all `Block`: small queues so backpressure and, with
/// `handoff`, workers giving kept lanes back before they block are exercised.
fn three_stage(fuse: bool, handoff: bool, total: Arc<AtomicU64>) -> Pipeline {
    let with_handoff = |capacity: usize| {
        let mut c = sedaflow::StageConfig {
            handoff,
            ..sedaflow::StageConfig::default()
        };
        c.capacity = std::num::NonZeroUsize::new(capacity).expect("non-zero");
        c
    };
    let mut p = Pipeline::builder();
    p.stage("parse", || {
        handler_fn(|b: &mut Batch<'_, String>, ctx| {
            for s in b {
                match s.parse::<u64>() {
                    Ok(v) => ctx.emit(v),
                    Err(_) => ctx.emit(s.len() as u32),
                }
            }
        })
    })
    .config(with_handoff(64))
    .threads(1, 2);
    p.stage("square", || {
        handler_fn(|b: &mut Batch<'_, u64>, ctx| {
            for v in b {
                ctx.emit(v as i64 * v as i64);
            }
        })
    })
    .config(with_handoff(16));
    p.stage("sum", move || {
        let total = total.clone();
        handler_fn(move |b: &mut Batch<'_, i64>, _| {
            let s: i64 = b.sum();
            total.fetch_add(s as u64, Ordering::Relaxed);
        })
    })
    .config(with_handoff(8))
    .fixed_threads(1);
    if fuse {
        p.fuse(["parse", "square", "sum"]);
    }
    p.build().unwrap()
}

#[test]
fn shutdown_loses_nothing_split_fused_or_handed_off() {
    for (fuse, handoff) in [(false, false), (true, false), (false, true)] {
        let total = Arc::new(AtomicU64::new(0));
        let pipeline = three_stage(fuse, handoff, total.clone());
        let input = pipeline.publisher::<String>().unwrap();
        pipeline.start();
        let mut expect = 0u64;
        for i in 0..20_000u64 {
            let s = if i % 100 == 0 {
                "x".to_owned()
            } else {
                i.to_string()
            };
            if i % 100 != 0 {
                expect += i * i;
            }
            input.blocking_publish(s).unwrap();
        }
        let r = support::assert_clean(pipeline.shutdown(support::DRAIN));
        assert_eq!(total.load(Ordering::Relaxed), expect, "fuse={fuse}");
        assert_eq!(r.stage("sum").unwrap().processed, 19_800);
        // The u32s nobody subscribes to are dead letters, counted by type.
        let dead: u64 = r
            .dead_letters
            .iter()
            .filter(|d| d.event_type == "u32")
            .map(|d| d.count)
            .sum();
        assert_eq!(dead, 200, "fuse={fuse}");
        let domains: Vec<&str> = r.stages.iter().map(|s| s.domain.as_str()).collect();
        if fuse {
            assert_eq!(domains, ["parse", "parse", "parse"]);
        } else {
            assert_eq!(domains, ["parse", "square", "sum"]);
        }
    }
}

#[test]
fn fused_stages_take_no_outside_events() {
    let pipeline = three_stage(true, false, Arc::default());
    assert!(matches!(
        pipeline.publisher::<u64>(),
        Err(PublisherError::Unroutable { .. })
    ));
}

#[test]
fn fan_out_needs_a_cloner() {
    let mk = |fan: bool| {
        let mut p = Pipeline::builder();
        p.stage("a", || {
            handler_fn(|b: &mut Batch<'_, u64>, _| b.for_each(drop))
        });
        p.stage("b", || {
            handler_fn(|b: &mut Batch<'_, u64>, _| b.for_each(drop))
        });
        if fan {
            p.fan_out::<u64>();
        }
        p.build()
    };
    assert!(matches!(
        mk(false),
        Err(BuildError::FanOutNeedsClone { .. })
    ));
    let pipeline = mk(true).unwrap();
    let input = pipeline.publisher::<u64>().unwrap();
    pipeline.start();
    let mut v: Vec<u64> = (0..100).collect();
    input.blocking_publish_batch(&mut v).unwrap();
    let r = support::assert_clean(pipeline.shutdown(support::DRAIN));
    assert_eq!(r.stage("a").unwrap().processed, 100);
    assert_eq!(r.stage("b").unwrap().processed, 100);
}

#[test]
fn bad_declarations_are_refused_with_a_reason() {
    let mut p = Pipeline::builder();
    p.stage("a", || {
        handler_fn(|b: &mut Batch<'_, u64>, _| b.for_each(drop))
    })
    .capacity(0);
    assert!(matches!(p.build(), Err(BuildError::Config { .. })));
    let mut p = Pipeline::builder();
    p.stage("a", || {
        handler_fn(|b: &mut Batch<'_, u64>, _| b.for_each(drop))
    });
    p.stage("a", || {
        handler_fn(|b: &mut Batch<'_, u32>, _| b.for_each(drop))
    });
    assert_eq!(
        p.build().unwrap_err(),
        BuildError::DuplicateStage("a".into())
    );
    assert_eq!(Pipeline::builder().build().unwrap_err(), BuildError::Empty);
}

#[tokio::test(flavor = "current_thread")]
async fn async_publishers_wait_without_blocking_the_runtime() {
    let mut p = Pipeline::builder();
    p.stage("slow", || {
        handler_fn(|b: &mut Batch<'_, u64>, _| {
            for _ in b {
                std::thread::yield_now();
            }
        })
    })
    .capacity(2)
    .fixed_threads(1)
    .batch(1, 1);
    let pipeline = p.build().unwrap();
    let input = pipeline.publisher::<u64>().unwrap();
    pipeline.start();
    // On a single-threaded runtime, a blocking wait would starve this ticking task.
    let ticker = tokio::spawn(async {
        let mut n = 0u32;
        for _ in 0..5 {
            tokio::task::yield_now().await;
            n += 1;
        }
        n
    });
    for i in 0..500 {
        input.publish(i).await.unwrap();
    }
    assert_eq!(ticker.await.unwrap(), 5);
    let r = support::assert_clean(pipeline.shutdown(support::DRAIN));
    assert_eq!(r.stage("slow").unwrap().processed, 500);
}

#[test]
fn public_types_are_send_and_sync() {
    fn both<T: Send + Sync>() {}
    both::<Pipeline>();
    both::<sedaflow::Publisher<String>>();
    both::<sedaflow::Report>();
    both::<sedaflow::Published>();
}

#[tokio::test(flavor = "current_thread")]
async fn caller_runs_publishers_run_handed_off_stages_here_and_lose_nothing() {
    let caller = std::thread::current().id();
    let ran_here = Arc::new(AtomicU64::new(0));
    let total = Arc::new(AtomicU64::new(0));
    let config = |capacity: usize| {
        let mut c = sedaflow::StageConfig {
            handoff: true,
            ..sedaflow::StageConfig::default()
        };
        // Small queues: some offers find them full and take the waiting path.
        c.capacity = std::num::NonZeroUsize::new(capacity).expect("non-zero");
        c
    };
    let mut p = Pipeline::builder();
    let here = ran_here.clone();
    p.stage("double", move || {
        let here = here.clone();
        handler_fn(move |b: &mut Batch<'_, u64>, ctx| {
            if std::thread::current().id() == caller {
                here.fetch_add(1, Ordering::Relaxed);
            }
            ctx.emit_all(b.map(|v| v as i64 * 2));
        })
    })
    .config(config(64));
    let t = total.clone();
    p.stage("sum", move || {
        let t = t.clone();
        handler_fn(move |b: &mut Batch<'_, i64>, _| {
            t.fetch_add(b.sum::<i64>() as u64, Ordering::Relaxed);
        })
    })
    .config(config(16));
    let pipeline = p.build().unwrap();
    let input = pipeline.publisher::<u64>().unwrap().caller_runs(true);
    pipeline.start();
    let mut batch = Vec::new();
    for chunk in (0..10_000u64).collect::<Vec<_>>().chunks(50) {
        batch.extend_from_slice(chunk);
        input.publish_batch(&mut batch).await.unwrap();
        assert!(batch.is_empty());
    }
    let r = support::assert_clean(pipeline.shutdown(support::DRAIN));
    assert_eq!(r.stage("sum").unwrap().processed, 10_000);
    assert_eq!(
        total.load(Ordering::Relaxed),
        2 * (0..10_000u64).sum::<u64>()
    );
    assert!(
        ran_here.load(Ordering::Relaxed) > 0,
        "the publishing thread ran no batch itself"
    );
}

/// Where a one-lane hand-off stage's first batch waits for another thread to publish.
#[derive(Clone, Copy, PartialEq)]
enum PushWhile {
    /// While the batch runs (the lane is held).
    Batch,
    /// While the work the batch left for after its lane's release runs.
    After,
}

/// Waits (up to 10 s) until `flag` is set.
fn wait_for(flag: &std::sync::atomic::AtomicBool, what: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !flag.load(Ordering::Acquire) {
        assert!(
            std::time::Instant::now() < deadline,
            "{what} never happened"
        );
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

type Log = Arc<std::sync::Mutex<Vec<(&'static str, std::thread::ThreadId)>>>;

/// Publishes `[1]` here (the caller runs the one-lane hand-off stage) and `[2]` from another
/// thread while the first batch is at `when`. With `leave`, the first batch leaves work
/// for after its lane's release. Returns the stage's log (each batch and that work, with
/// the thread that ran it) and the other thread's id.
fn push_while(
    when: PushWhile,
    leave: bool,
) -> (
    Vec<(&'static str, std::thread::ThreadId)>,
    std::thread::ThreadId,
) {
    use std::sync::atomic::AtomicBool;

    let ran: Log = Arc::default();
    let (reached, pushed) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let wait = {
        let (reached, pushed) = (reached.clone(), pushed.clone());
        Arc::new(move |at: PushWhile| {
            if at == when {
                reached.store(true, Ordering::Release);
                wait_for(&pushed, "the other thread's push");
            }
        })
    };
    let log = |ran: &Log, what| {
        ran.lock()
            .unwrap()
            .push((what, std::thread::current().id()))
    };
    let mut p = Pipeline::builder();
    let r = ran.clone();
    p.stage("work", move || {
        let (wait, ran) = (wait.clone(), r.clone());
        handler_fn(move |b: &mut Batch<'_, u64>, ctx| {
            let first = b.collect::<Vec<u64>>() == [1];
            log(&ran, if first { "batch [1]" } else { "batch [2]" });
            if first {
                wait(PushWhile::Batch);
            }
            if first && leave {
                let (wait, ran) = (wait.clone(), ran.clone());
                ctx.after_release(move || {
                    wait(PushWhile::After);
                    log(&ran, "after [1]");
                });
            }
        })
    })
    .config(sedaflow::StageConfig {
        handoff: true,
        lanes: std::num::NonZeroUsize::new(1),
        ..sedaflow::StageConfig::default()
    });
    let pipeline = p.build().unwrap();
    let input = pipeline.publisher::<u64>().unwrap().caller_runs(true);
    pipeline.start();
    let other = input.clone();
    let pusher = std::thread::spawn(move || {
        wait_for(&reached, "the first batch's wait");
        other.try_publish_batch(&mut vec![2]).unwrap();
        pushed.store(true, Ordering::Release);
        std::thread::current().id()
    });
    input.try_publish_batch(&mut vec![1]).unwrap();
    let there = pusher.join().unwrap();
    let r = support::assert_clean(pipeline.shutdown(support::DRAIN));
    assert_eq!(r.stage("work").unwrap().processed, 2);
    let log = ran.lock().unwrap().clone();
    (log, there)
}

/// Work left for after a batch runs with the lane free: a producer that comes meanwhile
/// runs the lane's next batch on its own thread instead of waiting behind that work.
#[test]
fn a_lane_is_free_while_the_work_left_after_its_batch_runs() {
    let (ran, there) = push_while(PushWhile::After, true);
    let here = std::thread::current().id();
    assert_eq!(
        ran,
        [
            ("batch [1]", here),
            ("batch [2]", there),
            ("after [1]", here)
        ]
    );
}

/// Events that arrived during a batch are not stranded when its lane is let go for the work
/// after it: the releasing thread takes the lane back and runs them.
#[test]
fn a_lane_let_go_with_events_queued_is_taken_back_after_the_work() {
    let (ran, _) = push_while(PushWhile::Batch, true);
    let here = std::thread::current().id();
    assert_eq!(
        ran,
        [
            ("batch [1]", here),
            ("after [1]", here),
            ("batch [2]", here)
        ]
    );
}

/// Events pushed into a hand-off lane while another thread runs it are run by that thread
/// when it releases the lane (flat combining), not handed to the pool with a wake-up.
#[test]
fn a_lane_busy_on_a_caller_takes_what_arrives_meanwhile_along() {
    let (ran, _) = push_while(PushWhile::Batch, false);
    let here = std::thread::current().id();
    assert_eq!(ran, [("batch [1]", here), ("batch [2]", here)]);
}
