//! Peer implementations of the four-stage pipeline, for comparison with sedaflow.
//!
//! Every threaded variant runs one thread (or task) per stage plus a producer,
//! so five runnable threads share the machine's cores. Each variant spawns its
//! workers first and starts the clock just before the first event is offered.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use disruptor::wait_strategies::WaitStrategy;
use disruptor::{BusySpin, BusySpinWithSpinLoopHint, Producer, Sequence, Sleep};

use crate::common::{step1, step2, step3, step4, Run, RunFn, Variant};
use crate::latency::LatencySink;

/// Channel capacity (in messages) for the per-event channel variants.
const CAPACITY: usize = 1024;
/// Events per message in the batched crossbeam variant.
const BATCH: usize = 256;
/// Ring size of the disruptor (64k slots).
const RING: usize = 1 << 16;

/// All peer variants, in table order. `inline` and `crossbeam per-event` are
/// the table's reference columns, so keep their names stable.
pub fn all() -> Vec<Variant> {
    let table: [(&'static str, RunFn); 10] = [
        ("inline", inline),
        ("crossbeam per-event", crossbeam_per_event),
        // Same channel capacity (1024 messages) as the per-event variant...
        ("crossbeam batch256", |n| crossbeam_batch(n, CAPACITY)),
        // ...and the same number of buffered events per hop (4 x 256).
        ("crossbeam batch256 cap4", |n| {
            crossbeam_batch(n, CAPACITY / BATCH)
        }),
        ("flume per-event", flume_per_event),
        ("tokio mpsc", tokio_mpsc),
        ("disruptor busy-spin", |n| disruptor_chain(n, BusySpin)),
        ("disruptor spin-hint", |n| {
            disruptor_chain(n, BusySpinWithSpinLoopHint)
        }),
        ("disruptor yield", |n| disruptor_chain(n, Yield)),
        ("disruptor sleep-1us", |n| disruptor_chain(n, sleep_1us())),
    ];
    table
        .into_iter()
        .map(|(name, run)| Variant { name, run })
        .collect()
}

/// All four steps in one loop on one thread: the upper bound.
fn inline(events: u64) -> Run {
    let start = Instant::now();
    let mut sum = 0;
    for x in 0..events {
        sum = step4(sum, step3(step2(step1(x))));
    }
    Run {
        events,
        elapsed: start.elapsed(),
        checksum: sum,
    }
}

// ---------------------------------------------------------------- crossbeam

fn crossbeam_stage(
    rx: crossbeam_channel::Receiver<u64>,
    tx: crossbeam_channel::Sender<u64>,
    f: impl Fn(u64) -> u64 + Send + 'static,
) -> JoinHandle<()> {
    thread::spawn(move || {
        for x in rx {
            // A send error means the downstream stage is gone: stop quietly.
            if tx.send(f(x)).is_err() {
                break;
            }
        }
    })
}

fn crossbeam_per_event(events: u64) -> Run {
    use crossbeam_channel::bounded;
    let (tx0, rx0) = bounded(CAPACITY);
    let (tx1, rx1) = bounded(CAPACITY);
    let (tx2, rx2) = bounded(CAPACITY);
    let (tx3, rx3) = bounded::<u64>(CAPACITY);
    let stages = [
        crossbeam_stage(rx0, tx1, step1),
        crossbeam_stage(rx1, tx2, step2),
        crossbeam_stage(rx2, tx3, step3),
    ];
    let sink = thread::spawn(move || rx3.iter().fold(0, step4));

    let start = Instant::now();
    let producer = thread::spawn(move || {
        for x in 0..events {
            tx0.send(x).expect("stage 1 hung up");
        }
    });
    let checksum = sink.join().expect("sink panicked");
    let elapsed = start.elapsed();
    producer.join().expect("producer panicked");
    stages
        .into_iter()
        .for_each(|s| s.join().expect("stage panicked"));
    Run {
        events,
        elapsed,
        checksum,
    }
}

fn crossbeam_batch_stage(
    rx: crossbeam_channel::Receiver<Vec<u64>>,
    tx: crossbeam_channel::Sender<Vec<u64>>,
    f: impl Fn(u64) -> u64 + Send + 'static,
) -> JoinHandle<()> {
    thread::spawn(move || {
        for mut batch in rx {
            batch.iter_mut().for_each(|x| *x = f(*x));
            if tx.send(batch).is_err() {
                break;
            }
        }
    })
}

/// Like `crossbeam per-event`, but a message carries a `Vec` of up to 256
/// events and each channel holds `cap` messages. The sink returns emptied Vecs
/// to the producer through a return channel, so steady state allocates
/// nothing.
fn crossbeam_batch(events: u64, cap: usize) -> Run {
    use crossbeam_channel::bounded;
    let (tx0, rx0) = bounded(cap);
    let (tx1, rx1) = bounded(cap);
    let (tx2, rx2) = bounded(cap);
    let (tx3, rx3) = bounded::<Vec<u64>>(cap);
    // Room for every batch that can be in flight, so the sink never blocks.
    let (recycle_tx, recycle_rx) = bounded::<Vec<u64>>(4 * cap + 8);
    let stages = [
        crossbeam_batch_stage(rx0, tx1, step1),
        crossbeam_batch_stage(rx1, tx2, step2),
        crossbeam_batch_stage(rx2, tx3, step3),
    ];
    let sink = thread::spawn(move || {
        let mut sum = 0;
        for mut batch in rx3 {
            sum = batch.iter().fold(sum, |s, &x| step4(s, x));
            batch.clear();
            // If the pool is full the Vec is simply dropped.
            let _ = recycle_tx.try_send(batch);
        }
        sum
    });

    let start = Instant::now();
    let producer = thread::spawn(move || {
        let mut next = 0;
        while next < events {
            let mut batch = recycle_rx
                .try_recv()
                .unwrap_or_else(|_| Vec::with_capacity(BATCH));
            let end = events.min(next + BATCH as u64);
            batch.extend(next..end);
            next = end;
            tx0.send(batch).expect("stage 1 hung up");
        }
    });
    let checksum = sink.join().expect("sink panicked");
    let elapsed = start.elapsed();
    producer.join().expect("producer panicked");
    stages
        .into_iter()
        .for_each(|s| s.join().expect("stage panicked"));
    Run {
        events,
        elapsed,
        checksum,
    }
}

// -------------------------------------------------------------------- flume

fn flume_stage(
    rx: flume::Receiver<u64>,
    tx: flume::Sender<u64>,
    f: impl Fn(u64) -> u64 + Send + 'static,
) -> JoinHandle<()> {
    thread::spawn(move || {
        for x in rx {
            if tx.send(f(x)).is_err() {
                break;
            }
        }
    })
}

fn flume_per_event(events: u64) -> Run {
    use flume::bounded;
    let (tx0, rx0) = bounded(CAPACITY);
    let (tx1, rx1) = bounded(CAPACITY);
    let (tx2, rx2) = bounded(CAPACITY);
    let (tx3, rx3) = bounded::<u64>(CAPACITY);
    let stages = [
        flume_stage(rx0, tx1, step1),
        flume_stage(rx1, tx2, step2),
        flume_stage(rx2, tx3, step3),
    ];
    let sink = thread::spawn(move || rx3.iter().fold(0, step4));

    let start = Instant::now();
    let producer = thread::spawn(move || {
        for x in 0..events {
            tx0.send(x).expect("stage 1 hung up");
        }
    });
    let checksum = sink.join().expect("sink panicked");
    let elapsed = start.elapsed();
    producer.join().expect("producer panicked");
    stages
        .into_iter()
        .for_each(|s| s.join().expect("stage panicked"));
    Run {
        events,
        elapsed,
        checksum,
    }
}

// -------------------------------------------------------------------- tokio

async fn tokio_stage(
    mut rx: tokio::sync::mpsc::Receiver<u64>,
    tx: tokio::sync::mpsc::Sender<u64>,
    f: impl Fn(u64) -> u64,
) {
    while let Some(x) = rx.recv().await {
        if tx.send(f(x)).await.is_err() {
            break;
        }
    }
}

/// Five tasks (producer + 4 stages) on a 2-worker multi-thread runtime. The
/// producer is a task too: `block_on`'s own future would run on the calling
/// thread, adding a third OS thread.
fn tokio_mpsc(events: u64) -> Run {
    use tokio::sync::mpsc::channel;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("tokio runtime");
    let (checksum, elapsed) = rt.block_on(async move {
        let (tx0, rx0) = channel(CAPACITY);
        let (tx1, rx1) = channel(CAPACITY);
        let (tx2, rx2) = channel(CAPACITY);
        let (tx3, mut rx3) = channel::<u64>(CAPACITY);
        let stages = [
            tokio::spawn(tokio_stage(rx0, tx1, step1)),
            tokio::spawn(tokio_stage(rx1, tx2, step2)),
            tokio::spawn(tokio_stage(rx2, tx3, step3)),
        ];
        let sink = tokio::spawn(async move {
            let mut sum = 0;
            while let Some(x) = rx3.recv().await {
                sum = step4(sum, x);
            }
            sum
        });

        let start = Instant::now();
        let producer = tokio::spawn(async move {
            for x in 0..events {
                tx0.send(x).await.expect("stage 1 hung up");
            }
        });
        let checksum = sink.await.expect("sink panicked");
        let elapsed = start.elapsed();
        producer.await.expect("producer panicked");
        for s in stages {
            s.await.expect("stage panicked");
        }
        (checksum, elapsed)
    });
    Run {
        events,
        elapsed,
        checksum,
    }
}

// ---------------------------------------------------------------- disruptor

/// `thread::yield_now` between polls. disruptor 4.4 ships only `BusySpin`,
/// `BusySpinWithSpinLoopHint` and `Sleep`, but its `WaitStrategy` trait is
/// public, so a yielding strategy is a few lines.
#[derive(Clone, Copy)]
pub struct Yield;

impl WaitStrategy for Yield {
    fn wait_for(&self, _sequence: Sequence) {
        thread::yield_now();
    }
}

pub fn sleep_1us() -> Sleep {
    Sleep::new(Duration::from_micros(1))
}

/// One ring slot. Handlers only get `&Slot`, so each stage writes its result
/// into its own atomic field for the next stage to read. Relaxed suffices: the
/// disruptor's sequence cursors are Release/Acquire and order these accesses.
#[derive(Default)]
struct Slot {
    /// Written by the producer (which has `&mut`): the input, or in latency
    /// mode the send stamp.
    input: u64,
    a: AtomicU64,
    b: AtomicU64,
    c: AtomicU64,
}

/// Publish one event, backing off with `wait` while the ring is full (the
/// crate's own `publish` always busy-spins there, which on a 2-core machine
/// starves the consumers the producer is waiting for).
fn publish<P: Producer<Slot>, W: WaitStrategy>(producer: &mut P, wait: &W, input: u64) {
    while producer.try_publish(|slot| slot.input = input).is_err() {
        wait.wait_for(0);
    }
}

/// Builds producer → h1 → h2 → h3 → h4, each handler gated on the previous
/// one; `last` sees each slot after h3 has written `c`.
fn disruptor_pipeline<W: WaitStrategy + 'static>(
    wait: W,
    mut last: impl FnMut(&Slot, bool) + Send + 'static,
) -> impl Producer<Slot> {
    disruptor::build_single_producer(RING, Slot::default, wait)
        .handle_events_with(|s: &Slot, _: Sequence, _: bool| {
            s.a.store(step1(s.input), Ordering::Relaxed)
        })
        .and_then()
        .handle_events_with(|s: &Slot, _: Sequence, _: bool| {
            s.b.store(step2(s.a.load(Ordering::Relaxed)), Ordering::Relaxed)
        })
        .and_then()
        .handle_events_with(|s: &Slot, _: Sequence, _: bool| {
            s.c.store(step3(s.b.load(Ordering::Relaxed)), Ordering::Relaxed)
        })
        .and_then()
        .handle_events_with(move |s: &Slot, _: Sequence, end_of_batch: bool| last(s, end_of_batch))
        .build()
}

fn disruptor_chain<W: WaitStrategy + 'static>(events: u64, wait: W) -> Run {
    let result = Arc::new(AtomicU64::new(0));
    let mut producer = {
        let result = Arc::clone(&result);
        let mut sum = 0;
        disruptor_pipeline(wait, move |s, end_of_batch| {
            sum = step4(sum, s.c.load(Ordering::Relaxed));
            // The final event always ends a batch, so the last store is the total.
            if end_of_batch {
                result.store(sum, Ordering::Relaxed);
            }
        })
    };

    let start = Instant::now();
    for x in 0..events {
        publish(&mut producer, &wait, x);
    }
    // Dropping the producer drains the ring and joins the handler threads.
    drop(producer);
    let elapsed = start.elapsed();
    Run {
        events,
        elapsed,
        checksum: result.load(Ordering::Relaxed),
    }
}

// ------------------------------------------------------------------ latency

/// The disruptor chain for the latency harness: returns the "send one stamped
/// event" closure; the last handler records each event's stamp into `sink`.
pub fn disruptor_latency<W: WaitStrategy + 'static>(
    wait: W,
    mut sink: LatencySink,
) -> impl FnMut(u64) {
    let mut producer = disruptor_pipeline(wait, move |s, _| sink.record(s.input));
    // Dropping the closure drops the producer, which joins the handlers; the
    // last handler's closure (and the sink in it) is dropped with its thread.
    move |stamp| publish(&mut producer, &wait, stamp)
}

/// The crossbeam per-event chain for the latency harness. Messages are
/// `(stamp, value)` so the stamp survives the transforms.
pub fn crossbeam_latency(mut sink: LatencySink) -> impl FnMut(u64) {
    use crossbeam_channel::{bounded, Receiver, Sender};
    fn stage(rx: Receiver<(u64, u64)>, tx: Sender<(u64, u64)>, f: fn(u64) -> u64) {
        thread::spawn(move || {
            for (stamp, x) in rx {
                if tx.send((stamp, f(x))).is_err() {
                    break;
                }
            }
        });
    }
    let (tx0, rx0) = bounded(CAPACITY);
    let (tx1, rx1) = bounded(CAPACITY);
    let (tx2, rx2) = bounded(CAPACITY);
    let (tx3, rx3) = bounded::<(u64, u64)>(CAPACITY);
    stage(rx0, tx1, step1);
    stage(rx1, tx2, step2);
    stage(rx2, tx3, step3);
    // Detached: the sink hands its histogram back when this thread drops it.
    thread::spawn(move || {
        for (stamp, _) in rx3 {
            sink.record(stamp);
        }
    });
    move |stamp| tx0.send((stamp, stamp)).expect("stage 1 hung up")
}
