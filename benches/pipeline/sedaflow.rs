//! The sedaflow variants: the same four steps as four stages, split over four queues or fused
//! into one domain.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use std::num::NonZeroUsize;

use sedaflow::{handler_fn, Batch, Context, Pipeline, PipelineBuilder, PoolConfig, StageConfig};

use crate::common::{step1, step2, step3, step4, Run, Variant};
use crate::latency::LatencySink;

/// Events per publish from the producer thread.
const PUBLISH_BATCH: usize = 4096;
/// Every stage: one thread, adaptive batches from 4096 within 64..=8192 (the peers buffer 64k
/// events per hop in the disruptor's ring, 1024 × 256 in crossbeam batch256).
fn stage_config() -> StageConfig {
    let mut c = StageConfig {
        pool: PoolConfig::fixed(NonZeroUsize::MIN),
        // Trivial handlers never block: upstream workers may carry batches on.
        handoff: true,
        ..StageConfig::default()
    };
    c.batch.min = NonZeroUsize::new(64).expect("non-zero");
    c.batch.max = NonZeroUsize::new(8192).expect("non-zero");
    c.batch.initial = NonZeroUsize::new(4096).expect("non-zero");
    c
}

/// What travels between the stages. The throughput run moves the bare value (8 bytes, as the
/// peers do); the latency run keeps each event's stamp beside it for the last stage.
pub trait Payload: Copy + Send + 'static {
    fn first(x: u64) -> Self;
    fn value(self) -> u64;
    fn with(self, value: u64) -> Self;
}

impl Payload for u64 {
    fn first(x: u64) -> Self {
        x
    }
    fn value(self) -> u64 {
        self
    }
    fn with(self, value: u64) -> Self {
        value
    }
}

/// (stamp, value).
impl Payload for (u64, u64) {
    fn first(x: u64) -> Self {
        (x, x)
    }
    fn value(self) -> u64 {
        self.1
    }
    fn with(self, value: u64) -> Self {
        (self.0, value)
    }
}

// One type per hop: the bus routes by type.
#[derive(Clone, Copy)]
pub struct S1<P>(P);
#[derive(Clone, Copy)]
pub struct S2<P>(P);
#[derive(Clone, Copy)]
pub struct S3<P>(P);

pub fn variants() -> Vec<Variant> {
    vec![
        Variant {
            name: "sedaflow split (4 queues)",
            run: |n| throughput(n, false),
        },
        Variant {
            name: "sedaflow fused (1 domain)",
            run: |n| throughput(n, true),
        },
    ]
}

/// The last stage's handler body.
type Last<P> = Box<dyn FnMut(&mut Batch<'_, S3<P>>, &mut Context<'_>) + Send>;

/// Declares the four stages; `last` makes the handler folding step-3 values into the result.
fn declare<P: Payload>(
    fused: bool,
    last: impl Fn() -> Last<P> + Send + Sync + 'static,
) -> PipelineBuilder {
    let mut p = Pipeline::builder();
    p.stage("step1", || {
        handler_fn(|b: &mut Batch<'_, u64>, ctx| {
            ctx.emit_all(b.drain().map(|x| S1(P::first(x).with(step1(x)))))
        })
    })
    .config(stage_config());
    p.stage("step2", || {
        handler_fn(|b: &mut Batch<'_, S1<P>>, ctx| {
            ctx.emit_all(b.drain().map(|S1(p)| S2(p.with(step2(p.value())))))
        })
    })
    .config(stage_config());
    p.stage("step3", || {
        handler_fn(|b: &mut Batch<'_, S2<P>>, ctx| {
            ctx.emit_all(b.drain().map(|S2(p)| S3(p.with(step3(p.value())))))
        })
    })
    .config(stage_config());
    p.stage("step4", move || {
        let mut f = last();
        handler_fn(move |b: &mut Batch<'_, S3<P>>, ctx| f(b, ctx))
    })
    .config(stage_config());
    if fused {
        p.fuse(["step1", "step2", "step3", "step4"]);
    }
    p
}

fn throughput(events: u64, fused: bool) -> Run {
    let sum = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let (s, d) = (sum.clone(), done.clone());
    let pipeline = declare(fused, move || {
        let (s, d) = (s.clone(), d.clone());
        Box::new(move |b: &mut Batch<'_, S3<u64>>, _: &mut Context<'_>| {
            let mut n = 0;
            let local = b.drain().fold(0u64, |acc, S3(x)| {
                n += 1;
                step4(acc, x)
            });
            s.fetch_add(local, Ordering::Relaxed);
            d.fetch_add(n, Ordering::Release);
        })
    })
    .build()
    .expect("valid pipeline");
    let input = pipeline.publisher::<u64>().expect("step1 has a queue");
    pipeline.start();
    let start = Instant::now();
    let mut batch = Vec::with_capacity(PUBLISH_BATCH);
    let mut next = 0;
    while next < events {
        let end = (next + PUBLISH_BATCH as u64).min(events);
        batch.extend(next..end);
        next = end;
        input
            .blocking_publish_batch(&mut batch)
            .expect("pipeline open");
    }
    while done.load(Ordering::Acquire) < events {
        std::thread::yield_now();
    }
    let elapsed = start.elapsed();
    let limits: Vec<usize> = pipeline
        .report()
        .stages
        .iter()
        .map(|s| s.batch_limit)
        .collect();
    if std::env::var_os("SF_DEBUG").is_some() {
        eprintln!("batch limits at the end: {limits:?}");
    }
    let report = pipeline.shutdown(Duration::from_secs(10));
    assert!(report.is_balanced(), "{report}");
    Run {
        events,
        elapsed,
        checksum: sum.load(Ordering::Relaxed),
    }
}

/// The split pipeline for the latency harness: events carry their stamp through the stages.
pub fn latency(sink: LatencySink) -> impl FnMut(u64) {
    let sink = Arc::new(Mutex::new(Some(sink)));
    let pipeline = declare(false, move || {
        // One lane: the first (only) handler takes the sink; it is dropped with the handler.
        let mut sink = sink.lock().ok().and_then(|mut s| s.take());
        Box::new(
            move |b: &mut Batch<'_, S3<(u64, u64)>>, _: &mut Context<'_>| {
                for S3((stamp, _)) in b {
                    if let Some(s) = sink.as_mut() {
                        s.record(stamp);
                    }
                }
            },
        )
    })
    .build()
    .expect("valid pipeline");
    let input = pipeline.publisher::<u64>().expect("step1 has a queue");
    pipeline.start();
    let mut guard = Drain(Some(pipeline));
    move |stamp| {
        // The closure owns the guard: dropping it drains the pipeline.
        let _ = &mut guard;
        input.blocking_publish(stamp).expect("pipeline open");
    }
}

/// Shuts the pipeline down (draining it) when the harness drops the send closure.
struct Drain(Option<Pipeline>);

impl Drop for Drain {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            p.shutdown(Duration::from_secs(10));
        }
    }
}
