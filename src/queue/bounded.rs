//! The bounded, laned queue in front of every domain.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

use crossbeam::utils::CachePadded;
use crossbeam_channel::{Receiver, Sender};
use parking_lot::{Mutex, MutexGuard};

use super::error::OfferError;
use super::handoff::{self, LaneRunner};
use super::lane::LaneBuf;
use super::published::Published;
use super::room::{pay_owed_wakes, Room};
use crate::config::WhenFull;
use crate::event::KeyFn;
use crate::stats::StageStats;

/// Who is offering: outside publishers are refused once sources are stopped; stages inside the
/// pipeline keep delivering so a drain can finish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    External,
    Internal,
}

/// How long a `Block` queue may make the caller wait.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Wait {
    Never,
    Until(Option<Instant>),
}

struct Lane<T> {
    buf: Mutex<LaneBuf<T>>,
    /// Set while the lane is in the ready channel or being run: at most one worker owns it.
    scheduled: AtomicBool,
}

/// What an offer returns: how it went, or the events it did not take.
pub(crate) type Offered<T> = Result<Published, OfferError<Vec<T>>>;

/// One round of an offer: either finished, or the rest must wait for room.
enum Step<T> {
    Done(Result<(), OfferError<Vec<T>>>),
    MustWait,
}

/// A bounded multi-producer queue split into lanes. Keyed queues pick the lane by key so one
/// key's events stay in one FIFO; unkeyed queues spread whole batches round-robin. A lane with
/// events is in the ready channel (or being run) exactly once.
pub(crate) struct Queue<T> {
    lanes: Box<[Lane<T>]>,
    key: Option<KeyFn<T>>,
    capacity: usize,
    when_full: WhenFull,
    len: CachePadded<AtomicUsize>,
    next_lane: AtomicUsize,
    /// Events a worker takes per batch (set by the batching controller); unkeyed offers are
    /// spread over lanes in runs of this size so several workers can share one big offer.
    batch_limit: AtomicUsize,
    ready_tx: Sender<usize>,
    ready_rx: Receiver<usize>,
    room: Arc<Room>,
    closed: AtomicBool,
    aborted: AtomicBool,
    stats: Arc<StageStats>,
    domain: OnceLock<Weak<dyn LaneRunner>>,
    /// Upstream pool workers may run this queue's lanes (see `queue::handoff`).
    handoff: bool,
}

impl<T: Send + 'static> Queue<T> {
    pub(crate) fn new(
        capacity: usize,
        when_full: WhenFull,
        lanes: usize,
        key: Option<KeyFn<T>>,
        stats: Arc<StageStats>,
        batch_limit: usize,
    ) -> Self {
        let lanes = lanes.max(1);
        // Room for every lane plus one stop token per possible worker: sends never block.
        let (ready_tx, ready_rx) = crossbeam_channel::bounded(lanes + 1024);
        Queue {
            lanes: (0..lanes)
                .map(|_| Lane {
                    buf: Mutex::new(LaneBuf::new()),
                    scheduled: AtomicBool::new(false),
                })
                .collect(),
            key,
            capacity,
            when_full,
            len: CachePadded::new(AtomicUsize::new(0)),
            next_lane: AtomicUsize::new(0),
            batch_limit: AtomicUsize::new(batch_limit.max(1)),
            ready_tx,
            ready_rx,
            room: Arc::default(),
            closed: AtomicBool::new(false),
            aborted: AtomicBool::new(false),
            stats,
            domain: OnceLock::new(),
            handoff: false,
        }
    }

    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    pub(crate) fn len(&self) -> usize {
        self.len.load(Ordering::Acquire)
    }

    pub(crate) fn batch_limit(&self) -> &AtomicUsize {
        &self.batch_limit
    }

    pub(crate) fn lane_count(&self) -> usize {
        self.lanes.len()
    }

    pub(crate) fn ready(&self) -> &Receiver<usize> {
        &self.ready_rx
    }

    /// Wakes a worker parked on the ready channel without giving it a lane.
    pub(crate) fn send_token(&self, token: usize) {
        let _ = self.ready_tx.try_send(token);
    }

    /// Stops taking events from outside publishers.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.room.wake();
    }

    /// Refuses everyone and releases blocked producers (forced stop after a deadline).
    pub(crate) fn abort(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.aborted.store(true, Ordering::SeqCst);
        self.room.wake();
    }

    fn refuses(&self, origin: Origin) -> bool {
        self.aborted.load(Ordering::Acquire)
            || (origin == Origin::External && self.closed.load(Ordering::Acquire))
    }

    /// Enqueue time of the oldest queued event.
    pub(crate) fn oldest(&self) -> Option<Instant> {
        self.lanes
            .iter()
            .filter_map(|l| l.buf.lock().oldest())
            .min()
    }

    /// Whether no events are queued and no lane is scheduled or running.
    pub(crate) fn is_quiet(&self) -> bool {
        self.len() == 0
            && self
                .lanes
                .iter()
                .all(|l| !l.scheduled.load(Ordering::Acquire))
    }

    /// Offers `events`, waiting for room as `wait` allows when the policy is `Block`. On
    /// success `events` is empty; on error the events not taken are handed back and `events`
    /// is empty too. `Wait::Never` never drops either: a full queue of any policy refuses
    /// with `Full`.
    pub(crate) fn offer(&self, events: &mut Vec<T>, wait: Wait, origin: Origin) -> Offered<T> {
        self.begin(events);
        let mut blocked: Option<Instant> = None;
        let mut done = Published::default();
        let outcome = loop {
            match self.step(events, origin, wait, &mut done) {
                Step::Done(r) => break r,
                Step::MustWait => {
                    handoff::give_back();
                    pay_owed_wakes();
                    let deadline = match wait {
                        Wait::Until(d) => d,
                        Wait::Never => None,
                    };
                    blocked.get_or_insert_with(Instant::now);
                    let fits = self
                        .room
                        .wait_until(deadline, || self.has_room() || self.refuses(origin));
                    if !fits {
                        break Err(OfferError::Timeout(std::mem::take(events)));
                    }
                }
            }
        };
        self.finish(blocked, &outcome);
        outcome.map(|()| done)
    }

    /// As [`Queue::offer`] with an unbounded wait, parking the task instead of the thread.
    pub(crate) async fn offer_async(&self, events: &mut Vec<T>, origin: Origin) -> Offered<T> {
        self.begin(events);
        let mut blocked: Option<Instant> = None;
        let mut done = Published::default();
        let outcome = loop {
            match self.step(events, origin, Wait::Until(None), &mut done) {
                Step::Done(r) => break r,
                Step::MustWait => {
                    pay_owed_wakes();
                    blocked.get_or_insert_with(Instant::now);
                    self.room
                        .wait_async(|| self.has_room() || self.refuses(origin))
                        .await;
                }
            }
        };
        self.finish(blocked, &outcome);
        outcome.map(|()| done)
    }

    fn begin(&self, events: &[T]) {
        self.stats
            .produce
            .offered
            .fetch_add(events.len() as u64, Ordering::Relaxed);
    }

    fn finish(&self, blocked: Option<Instant>, outcome: &Result<(), OfferError<Vec<T>>>) {
        if let Some(since) = blocked {
            let d = since.elapsed();
            let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
            self.stats
                .produce
                .blocked_ns
                .fetch_add(ns, Ordering::Relaxed);
            self.stats.metrics.producer_blocked(d);
        }
        if let Err(e) = outcome {
            let n = match e {
                OfferError::Full(v) | OfferError::Timeout(v) | OfferError::Closed(v) => v.len(),
            };
            self.stats
                .produce
                .rejected
                .fetch_add(n as u64, Ordering::Relaxed);
        }
    }

    fn has_room(&self) -> bool {
        self.len() < self.capacity
    }

    /// Admits as much of `events` as fits, then applies the policy to the rest; `done` adds
    /// up what was taken and dropped.
    fn step(
        &self,
        events: &mut Vec<T>,
        origin: Origin,
        wait: Wait,
        done: &mut Published,
    ) -> Step<T> {
        loop {
            if self.refuses(origin) {
                return Step::Done(Err(OfferError::Closed(std::mem::take(events))));
            }
            let k = self.reserve(events.len());
            if k > 0 {
                self.push(events, k);
                done.enqueued += k;
            }
            if events.is_empty() {
                return Step::Done(Ok(()));
            }
            match (self.when_full, wait) {
                (WhenFull::Block, Wait::Until(_)) => return Step::MustWait,
                // `try_` calls never wait and never drop: the caller decides.
                (_, Wait::Never) | (WhenFull::Reject, _) => {
                    return Step::Done(Err(OfferError::Full(std::mem::take(events))))
                }
                (WhenFull::DropNewest, _) => {
                    self.stats
                        .produce
                        .dropped_newest
                        .fetch_add(events.len() as u64, Ordering::Relaxed);
                    done.dropped += events.len();
                    events.clear();
                    return Step::Done(Ok(()));
                }
                (WhenFull::DropOldest, _) => self.make_room(events, done),
            }
        }
    }

    /// `DropOldest`: evicts queued events so the rest of `events` fits. Events of a batch larger
    /// than the whole queue count as enqueued and at once evicted: the batch's own oldest.
    fn make_room(&self, events: &mut Vec<T>, done: &mut Published) {
        let produce = &self.stats.produce;
        if events.len() > self.capacity {
            let excess = events.len() - self.capacity;
            events.drain(..excess);
            produce.enqueued.fetch_add(excess as u64, Ordering::Relaxed);
            produce
                .dropped_oldest
                .fetch_add(excess as u64, Ordering::Relaxed);
            done.dropped += excess;
        }
        let mut need = events.len();
        let start = self.lane_for(&events[0]);
        for i in 0..self.lanes.len() {
            if need == 0 {
                break;
            }
            let lane = &self.lanes[(start + i) % self.lanes.len()];
            let evicted = lane.buf.lock().evict(need);
            if evicted > 0 {
                need -= evicted;
                done.evicted += evicted;
                self.len.fetch_sub(evicted, Ordering::AcqRel);
                produce
                    .dropped_oldest
                    .fetch_add(evicted as u64, Ordering::Relaxed);
            }
        }
    }

    /// Claims room for up to `n` events and returns how many fit.
    fn reserve(&self, n: usize) -> usize {
        let mut cur = self.len.load(Ordering::Acquire);
        loop {
            let k = n.min(self.capacity.saturating_sub(cur));
            if k == 0 {
                return 0;
            }
            match self
                .len
                .compare_exchange_weak(cur, cur + k, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    self.stats.note_depth(cur + k);
                    return k;
                }
                Err(now) => cur = now,
            }
        }
    }

    fn lane_for(&self, event: &T) -> usize {
        match &self.key {
            Some(key) => (key(event) % self.lanes.len() as u64) as usize,
            None => self.next_lane.load(Ordering::Relaxed) % self.lanes.len(),
        }
    }

    /// The lane every event of `events` goes to, if they all go to one: a one-lane queue, or
    /// a keyed offer of one key's lane (a read's frames from one connection, a batch of one
    /// book's orders). Each key is read once, and a mixed offer stops at its first stray.
    fn sole_lane(&self, events: &[T]) -> Option<usize> {
        let lanes = self.lanes.len() as u64;
        match &self.key {
            _ if lanes == 1 => Some(0),
            None => None,
            Some(key) => {
                let (first, rest) = events.split_first()?;
                let lane = key(first) % lanes;
                rest.iter()
                    .all(|e| key(e) % lanes == lane)
                    .then_some(lane as usize)
            }
        }
    }

    /// Pushes the first `k` (reserved) events: runs of one lane go in under one lock; a whole
    /// offer into one lane swaps buffers instead of copying.
    fn push(&self, all: &mut Vec<T>, k: usize) {
        let now = Instant::now();
        if k == all.len() {
            if let Some(lane) = self.sole_lane(all) {
                self.lanes[lane].buf.lock().push_vec(all, now);
                self.schedule(lane);
                self.stats
                    .produce
                    .enqueued
                    .fetch_add(k as u64, Ordering::Relaxed);
                return;
            }
        }
        let mut events = all.drain(..k);
        let n = k;
        match &self.key {
            None => {
                // One lane: the whole offer goes in under one lock.
                let run = match self.lanes.len() {
                    1 => usize::MAX,
                    _ => self.batch_limit.load(Ordering::Relaxed).max(1),
                };
                while events.len() > 0 {
                    let lane = self.next_lane.fetch_add(1, Ordering::Relaxed) % self.lanes.len();
                    let take = run.min(events.len());
                    self.lanes[lane]
                        .buf
                        .lock()
                        .push_run(events.by_ref().take(take), now);
                    self.schedule(lane);
                }
            }
            Some(key) => {
                // Each event's key is read once; consecutive events of one lane go in under
                // one lock, and the lane is scheduled once its lock is released.
                let lanes = self.lanes.len() as u64;
                let mut open: Option<(usize, MutexGuard<'_, LaneBuf<T>>)> = None;
                for event in events {
                    let lane = (key(&event) % lanes) as usize;
                    match &mut open {
                        Some((at, buf)) if *at == lane => buf.push_one(event, now),
                        _ => {
                            if let Some((at, buf)) = open.take() {
                                drop(buf);
                                self.schedule(at);
                            }
                            let mut buf = self.lanes[lane].buf.lock();
                            buf.push_one(event, now);
                            open = Some((lane, buf));
                        }
                    }
                }
                if let Some((at, buf)) = open {
                    drop(buf);
                    self.schedule(at);
                }
            }
        }
        self.stats
            .produce
            .enqueued
            .fetch_add(n as u64, Ordering::Relaxed);
    }

    fn schedule(&self, lane: usize) {
        if !self.lanes[lane].scheduled.swap(true, Ordering::AcqRel) {
            self.hand_out(lane);
        }
    }

    /// Gives a scheduled lane to the calling worker (hand-off) or else to the pool.
    fn hand_out(&self, lane: usize) {
        let kept = self.handoff && self.domain.get().is_some_and(|d| handoff::keep(d, lane));
        if !kept {
            let _ = self.ready_tx.try_send(lane);
        }
    }

    /// Tells the queue which domain runs it, so pool workers can run its lanes by hand-off.
    pub(crate) fn set_domain(&self, domain: Weak<dyn LaneRunner>) {
        let _ = self.domain.set(domain);
    }

    /// Allows hand-off of this queue's lanes to upstream workers.
    pub(crate) fn with_handoff(mut self, on: bool) -> Self {
        self.handoff = on;
        self
    }

    /// Takes up to `max` events of a lane the caller owns (it received the lane from the ready
    /// channel). Returns the count and the oldest event's enqueue time.
    pub(crate) fn pop(
        &self,
        lane: usize,
        max: usize,
        into: &mut Vec<T>,
    ) -> (usize, Option<Instant>) {
        let (n, oldest) = self.lanes[lane].buf.lock().pop_into(max, into);
        if n > 0 {
            let left = self.len.fetch_sub(n, Ordering::AcqRel) - n;
            self.room.taken(left <= self.capacity / 2);
        }
        (n, oldest)
    }

    /// Hands a lane back after a batch: re-queued behind other ready lanes if it has more.
    pub(crate) fn release(&self, lane: usize) {
        let l = &self.lanes[lane];
        let buf = l.buf.lock();
        if buf.is_empty() {
            l.scheduled.store(false, Ordering::Release);
        } else {
            drop(buf);
            // Producers that found the lane busy left their events to whoever runs it: the
            // releasing worker carries on with them (flat combining) instead of waking the pool.
            self.hand_out(lane);
        }
    }

    /// Unschedules a lane after a batch even if events are queued: a producer that comes
    /// meanwhile schedules (and may run) it. The caller must [`Queue::reclaim`] it after.
    pub(crate) fn let_go(&self, lane: usize) {
        self.lanes[lane].scheduled.store(false, Ordering::Release);
    }

    /// Schedules a let-go lane again if events wait in it and nobody else took it.
    pub(crate) fn reclaim(&self, lane: usize) {
        let l = &self.lanes[lane];
        if !l.buf.lock().is_empty() {
            self.schedule(lane);
        }
    }

    /// Events still queued in each lane (for reports after a forced stop).
    pub(crate) fn queued(&self) -> usize {
        self.lanes.iter().map(|l| l.buf.lock().len()).sum()
    }

    /// How long ago the oldest queued event was enqueued.
    pub(crate) fn oldest_age(&self) -> Duration {
        self.oldest().map(|t| t.elapsed()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::internal_events::stage::{StageInfo, StageMetrics};

    type Ev = (u64, u32);

    fn keyed(lanes: usize) -> Queue<Ev> {
        let info = StageInfo {
            position: 0,
            domain: "q".into(),
            entry: true,
            keyed: true,
            when_full: "block",
        };
        let stats = Arc::new(StageStats::new(StageMetrics::new(&"q".into(), &info)));
        let key: KeyFn<Ev> = Arc::new(|e: &Ev| e.0);
        Queue::new(1024, WhenFull::Block, lanes, Some(key), stats, 64)
    }

    fn popped(q: &Queue<Ev>, lane: usize) -> Vec<Ev> {
        let mut out = Vec::new();
        q.pop(lane, 100, &mut out);
        out
    }

    #[test]
    fn a_keyed_offer_of_one_lane_crosses_whole_and_a_mixed_one_splits_by_key() {
        let q = keyed(4);
        // One key's events (a read's frames from one connection): the buffer itself is queued.
        let mut one: Vec<Ev> = (0..10).map(|i| (5, i)).collect();
        let buffer = one.as_ptr();
        assert_eq!(
            q.offer(&mut one, Wait::Never, Origin::Internal)
                .unwrap()
                .enqueued,
            10
        );
        assert!(one.is_empty());
        let out = popped(&q, 1);
        assert_eq!(out.as_ptr(), buffer);
        assert_eq!(out, (0..10).map(|i| (5, i)).collect::<Vec<_>>());

        // Mixed keys: each lane gets its own events, in order.
        let mut mixed = vec![(1, 0), (2, 1), (5, 2), (2, 3), (1, 4)];
        q.offer(&mut mixed, Wait::Never, Origin::Internal).unwrap();
        assert_eq!(popped(&q, 1), [(1, 0), (5, 2), (1, 4)]);
        assert_eq!(popped(&q, 2), [(2, 1), (2, 3)]);
        assert_eq!(q.len(), 0);
    }

    #[test]
    fn a_one_lane_keyed_queue_takes_any_offer_whole() {
        let q = keyed(1);
        let mut mixed: Vec<Ev> = vec![(3, 0), (8, 1), (3, 2)];
        let buffer = mixed.as_ptr();
        q.offer(&mut mixed, Wait::Never, Origin::Internal).unwrap();
        let out = popped(&q, 0);
        assert_eq!(out.as_ptr(), buffer);
        assert_eq!(out, [(3, 0), (8, 1), (3, 2)]);
    }
}
