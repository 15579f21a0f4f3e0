//! Admission policies on a full queue: block, reject, drop newest, drop oldest.

mod support;

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use sedaflow::{handler_fn, Batch, Context, Handler, OfferError, Pipeline, QueueProbe, WhenFull};

/// A one-thread stage of capacity 4 whose handler waits for the gate before each batch.
fn gated(policy: WhenFull) -> (Pipeline, crossbeam_channel::Sender<()>) {
    let (open, wait) = support::gate();
    let mut p = Pipeline::builder();
    p.stage("slow", move || {
        let wait = wait.clone();
        handler_fn(move |batch: &mut Batch<'_, u32>, _ctx| {
            let _ = wait.recv();
            batch.for_each(drop);
        })
    })
    .capacity(4)
    .when_full(policy)
    .fixed_threads(1)
    .batch(1, 1);
    (p.build().unwrap(), open)
}

/// Publishes until the worker holds one event and the queue holds four.
fn fill(p: &Pipeline) -> sedaflow::Publisher<u32> {
    let input = p.publisher::<u32>().unwrap();
    p.start();
    input.blocking_publish(0).unwrap();
    // The worker takes event 0 and waits at the gate; then four more fill the queue.
    while p.report().stage("slow").unwrap().queued > 0 {
        std::thread::yield_now();
    }
    for i in 1..=4 {
        input.try_publish(i).unwrap();
    }
    input
}

#[test]
fn block_parks_the_producer_and_counts_the_time() {
    let (p, open) = gated(WhenFull::Block);
    let input = fill(&p);
    assert_eq!(input.try_publish(5), Err(OfferError::Full(5)));
    let waited = input.blocking_publish_timeout(6, Duration::from_millis(20));
    assert_eq!(waited, Err(OfferError::Timeout(6)));
    // A batch waits by the same kind of bound, a `Duration`, and comes back whole.
    let waited = input.blocking_publish_batch_timeout(&mut vec![6, 7], Duration::from_millis(20));
    assert_eq!(waited, Err(OfferError::Timeout(vec![6, 7])));
    assert!(p.report().stage("slow").unwrap().blocked >= Duration::from_millis(20));
    let producer = std::thread::spawn(move || input.blocking_publish(7));
    for _ in 0..6 {
        open.send(()).unwrap();
    }
    producer.join().unwrap().unwrap();
    let r = support::assert_clean(p.shutdown(support::DRAIN));
    let s = r.stage("slow").unwrap();
    // Offered: 4 + the try, the single and the batch of two timed out, then 7.
    assert_eq!(
        (s.offered, s.enqueued, s.rejected, s.processed),
        (10, 6, 4, 6)
    );
}

#[test]
fn reject_hands_the_event_back() {
    let (p, open) = gated(WhenFull::Reject);
    let input = fill(&p);
    assert_eq!(
        input.blocking_publish_timeout(5, Duration::from_secs(5)),
        Err(OfferError::Full(5))
    );
    let mut batch = vec![6, 7];
    assert_eq!(
        input.try_publish_batch(&mut batch),
        Err(OfferError::Full(vec![6, 7]))
    );
    for _ in 0..5 {
        open.send(()).unwrap();
    }
    let r = support::assert_clean(p.shutdown(support::DRAIN));
    let s = r.stage("slow").unwrap();
    assert_eq!((s.rejected, s.processed), (3, 5));
}

#[test]
fn drop_newest_and_drop_oldest_are_counted() {
    for (policy, newest, oldest) in [(WhenFull::DropNewest, 3, 0), (WhenFull::DropOldest, 0, 3)] {
        let (p, open) = gated(policy);
        let input = fill(&p);
        for i in 5..8 {
            // `try_` would hand the event back: the waiting call applies the drop policy.
            let outcome = input.blocking_publish(i).unwrap();
            assert_eq!(outcome.is_dropped(), policy == WhenFull::DropNewest);
        }
        for _ in 0..5 {
            open.send(()).unwrap();
        }
        let r = support::assert_clean(p.shutdown(support::DRAIN));
        let s = r.stage("slow").unwrap();
        assert_eq!(
            (s.dropped_newest, s.dropped_oldest),
            (newest, oldest),
            "{policy:?}"
        );
        assert_eq!(s.processed, 5, "{policy:?}");
    }
}

#[test]
fn closed_pipeline_refuses_outside_events() {
    let (p, open) = gated(WhenFull::Block);
    let input = p.publisher::<u32>().unwrap();
    drop(open);
    let r = support::assert_clean(p.shutdown(support::DRAIN));
    assert_eq!(r.stage("slow").unwrap().processed, 0);
    assert_eq!(input.try_publish(1), Err(OfferError::Closed(1)));
}

/// Consumers wake blocked producers only once a queue is down to half its capacity, so a
/// producer refills half a queue per wake-up. A consumer that stops above that mark (here it
/// blocks on a full downstream queue) must still wake them: otherwise the producer would
/// sleep beside a queue with room until downstream moves.
#[test]
fn a_consumer_stalled_above_the_low_watermark_still_wakes_producers() {
    #[derive(Debug)]
    struct Fwd(u32);
    let (started_tx, started) = crossbeam_channel::unbounded();
    let (open, wait) = support::gate();
    let mut p = Pipeline::builder();
    p.stage("a", || {
        handler_fn(|b: &mut Batch<'_, u32>, ctx| ctx.emit_all(b.drain().map(Fwd)))
    })
    .capacity(4)
    .fixed_threads(1)
    .batch(1, 1);
    p.stage("b", move || {
        let (started_tx, wait) = (started_tx.clone(), wait.clone());
        handler_fn(move |b: &mut Batch<'_, Fwd>, _ctx| {
            for Fwd(i) in b {
                let _ = started_tx.send(i);
                let _ = wait.recv();
            }
        })
    })
    .capacity(1)
    .fixed_threads(1)
    .batch(1, 1);
    let p = p.build().unwrap();
    let input = p.publisher::<u32>().unwrap();
    p.start();
    let queued = |stage: &str| p.report().stage(stage).unwrap().queued;

    // b's worker holds 0 at its gate and b's queue holds 1; a's worker takes 2 and blocks
    // delivering it.
    input.blocking_publish(0).unwrap();
    assert_eq!(started.recv().unwrap(), 0);
    input.blocking_publish(1).unwrap();
    while queued("b") < 1 {
        std::thread::yield_now();
    }
    input.blocking_publish(2).unwrap();
    while queued("a") > 0 {
        std::thread::yield_now();
    }
    // a is full; one more producer waits for room.
    for i in 3..=6 {
        input.try_publish(i).unwrap();
    }
    let (done_tx, done) = crossbeam_channel::bounded(1);
    let producer = std::thread::spawn(move || {
        let r = input.blocking_publish(7);
        let _ = done_tx.send(());
        r
    });
    while p.report().stage("a").unwrap().offered < 8 {
        std::thread::yield_now();
    }
    std::thread::sleep(Duration::from_millis(20));

    // One step of b: a's worker delivers 2, takes 3 (a keeps 3 of 4: above the mark) and
    // blocks on b again. Before blocking it owes the producer its wake-up.
    open.send(()).unwrap();
    assert_eq!(started.recv().unwrap(), 1);
    let woken = done.recv_timeout(Duration::from_secs(10)).is_ok();
    for _ in 0..7 {
        open.send(()).unwrap();
    }
    assert!(woken, "the producer was never woken although a had room");
    producer.join().unwrap().unwrap();
    let r = support::assert_clean(p.shutdown(support::DRAIN));
    assert_eq!(r.stage("b").unwrap().processed, 8);
}

/// Admission control outside the pipeline needs what a stage holds, not only what waits in
/// its queue: the event being handled has left the queue but not reached the next stage.
#[test]
fn a_probe_counts_queued_events_and_the_batch_being_handled() {
    let (p, open) = gated(WhenFull::Block);
    let probe = p.queue_probe("slow").unwrap();
    let _input = fill(&p);
    assert_eq!((probe.len(), probe.backlog(), probe.capacity()), (4, 5, 4));
    for _ in 0..5 {
        open.send(()).unwrap();
    }
    support::assert_clean(p.shutdown(support::DRAIN));
    assert_eq!((probe.len(), probe.backlog()), (0, 0));
}

/// A stage that emits `v` events for each `v` and, once a batch is handed on, notes how many
/// it emitted and what the next stage's probe held then.
struct Split {
    next: Arc<OnceLock<QueueProbe>>,
    seen: Arc<Mutex<Vec<(usize, usize)>>>,
    emitted: usize,
}

impl Handler for Split {
    type In = u32;

    fn handle(&mut self, batch: &mut Batch<'_, u32>, ctx: &mut Context<'_>) {
        for v in batch {
            for _ in 0..v {
                ctx.emit(u64::from(v));
                self.emitted += 1;
            }
        }
    }

    fn handed_on(&mut self) {
        let backlog = self.next.get().map_or(0, QueueProbe::backlog);
        let emitted = std::mem::take(&mut self.emitted);
        self.seen.lock().unwrap().push((emitted, backlog));
    }
}

/// A count a handler keeps beside the engine's (the requests its events carry, say) is
/// settled in `Handler::handed_on`: by then the batch's output is in the next stage's
/// backlog, so nothing is counted in neither place.
#[test]
fn handed_on_comes_once_per_batch_after_its_output_reached_the_next_stage() {
    let (open, wait) = support::gate();
    let (next, seen) = (Arc::new(OnceLock::new()), Arc::new(Mutex::new(Vec::new())));
    let mut p = Pipeline::builder();
    let (n, s) = (next.clone(), seen.clone());
    p.stage("split", move || Split {
        next: n.clone(),
        seen: s.clone(),
        emitted: 0,
    })
    .fixed_threads(1)
    .batch(1, 1);
    p.stage("sink", move || {
        let wait = wait.clone();
        handler_fn(move |batch: &mut Batch<'_, u64>, _ctx| {
            let _ = wait.recv();
            batch.for_each(drop);
        })
    })
    .fixed_threads(1);
    let p = p.build().unwrap();
    let _ = next.set(p.queue_probe("sink").unwrap());
    let input = p.publisher::<u32>().unwrap();
    p.start();
    input.blocking_publish(3).unwrap();
    input.blocking_publish(2).unwrap();
    // The sink waits at its gate: whatever it took is still in its backlog.
    while seen.lock().unwrap().len() < 2 {
        std::thread::yield_now();
    }
    assert_eq!(*seen.lock().unwrap(), [(3, 3), (2, 5)]);
    for _ in 0..5 {
        open.send(()).unwrap();
    }
    let r = support::assert_clean(p.shutdown(support::DRAIN));
    assert_eq!(r.stage("sink").unwrap().processed, 5);
    assert_eq!(seen.lock().unwrap().len(), 2, "once per batch");
}
