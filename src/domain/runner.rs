//! A domain at run time: one queue, one pool, and per lane the chain of fused stages.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam::utils::CachePadded;
use crossbeam_channel::Receiver;
use parking_lot::Mutex;

use super::after;
use super::queue_face::QueueFace;
use crate::bus::{Bus, LaneStage};
use crate::concurrency::Concurrency;
use crate::queue::handoff::LaneRunner;
use crate::queue::Queue;
use crate::stats::StageStats;

/// Work figures the controllers read (deltas between ticks).
///
/// Handler time and events count as they pass, not only when a batch ends: a batch of slow
/// events can outlast several controller ticks, and a tick that saw no batch end must still
/// see the threads busy and the events go. Each lane notes when its running batch started
/// (two stores per batch) and how many events it has handed out (a store every few events,
/// see `batch::Watch`); a tick adds both to the figures of the batches that ended.
pub(crate) struct DomainLoad {
    /// Handler time of the batches that ended.
    pub(crate) busy_ns: AtomicU64,
    /// Events of the batches that ended.
    pub(crate) events: AtomicU64,
    pub(crate) batches: AtomicU64,
    running: Box<[CachePadded<Running>]>,
    epoch: Instant,
}

/// A lane's running batch.
#[derive(Default)]
struct Running {
    /// When it started, in ns since `epoch` plus one; 0 when no batch runs.
    since: AtomicU64,
    /// Events it has handed out so far.
    taken: AtomicU64,
}

impl DomainLoad {
    pub(crate) fn new(lanes: usize) -> Self {
        DomainLoad {
            busy_ns: AtomicU64::new(0),
            events: AtomicU64::new(0),
            batches: AtomicU64::new(0),
            running: (0..lanes).map(|_| CachePadded::default()).collect(),
            epoch: Instant::now(),
        }
    }

    fn since_epoch(&self, t: Instant) -> u64 {
        u64::try_from(t.saturating_duration_since(self.epoch).as_nanos()).unwrap_or(u64::MAX)
    }

    /// Handler time and events so far, running batches included: between two readings they
    /// rise by every thread's busy time and the events handed out (to within a batch that
    /// ends between the loads).
    pub(crate) fn so_far(&self, now: Instant) -> (Duration, u64) {
        let now = self.since_epoch(now);
        let (mut busy, mut events) = (0u64, 0u64);
        for r in self.running.iter() {
            if let start @ 1.. = r.since.load(Relaxed) {
                busy = busy.saturating_add(now.saturating_sub(start - 1));
                events += r.taken.load(Relaxed);
            }
        }
        let busy = Duration::from_nanos(self.busy_ns.load(Relaxed).saturating_add(busy));
        (busy, self.events.load(Relaxed) + events)
    }

    fn batch_started(&self, lane: usize, at: Instant) {
        let r = &self.running[lane];
        r.taken.store(0, Relaxed);
        r.since.store(self.since_epoch(at) + 1, Relaxed);
    }

    fn batch_ended(&self, lane: usize, busy: Duration, events: usize) {
        let busy = u64::try_from(busy.as_nanos()).unwrap_or(u64::MAX);
        self.busy_ns.fetch_add(busy, Relaxed);
        self.events.fetch_add(events as u64, Relaxed);
        self.running[lane].since.store(0, Relaxed);
        self.batches.fetch_add(1, Relaxed);
    }
}

/// The generic-free face of a domain, for its pool and the pipeline. Running a lane and
/// waking the pool come from [`LaneRunner`], the face its queue's hand-off sees.
pub(crate) trait DomainTask: LaneRunner {
    /// The domain's queue.
    fn queue(&self) -> &dyn QueueFace;
    fn load(&self) -> &DomainLoad;
    /// Refuses everyone and ends running work early (a shutdown past its deadline).
    fn abort(&self) {
        self.queue().abort();
    }
    /// In-flight calls and limit, for a domain of futures.
    fn concurrency(&self) -> Option<Concurrency> {
        None
    }
    fn ready(&self) -> &Receiver<usize> {
        self.queue().ready()
    }
    fn lanes(&self) -> usize {
        self.queue().lane_count()
    }
    fn queue_len(&self) -> usize {
        self.queue().len()
    }
    fn capacity(&self) -> usize {
        self.queue().capacity()
    }
    fn queued(&self) -> usize {
        self.queue().queued()
    }
    fn oldest_age(&self) -> Duration {
        self.queue().oldest_age()
    }
    fn is_quiet(&self) -> bool {
        self.queue().is_quiet()
    }
    fn close(&self) {
        self.queue().close();
    }
    fn batch_limit(&self) -> &AtomicUsize {
        self.queue().batch_limit()
    }
}

/// Takes a let-go lane back when the work after its batch is done (or panicked).
struct Reclaim<'q, E: Send + 'static> {
    queue: &'q Queue<E>,
    lane: usize,
}

impl<E: Send + 'static> Drop for Reclaim<'_, E> {
    fn drop(&mut self) {
        self.queue.reclaim(self.lane);
    }
}

/// The fused stages of one lane, entry first.
pub(crate) type Chain = Vec<Box<dyn LaneStage>>;

pub(crate) struct Domain<E> {
    queue: Arc<Queue<E>>,
    lanes: Box<[Mutex<Chain>]>,
    bus: Arc<Bus>,
    entry: Arc<StageStats>,
    load: DomainLoad,
}

impl<E: Send + 'static> Domain<E> {
    pub(crate) fn new(
        queue: Arc<Queue<E>>,
        lanes: Vec<Chain>,
        bus: Arc<Bus>,
        entry: Arc<StageStats>,
    ) -> Self {
        Domain {
            load: DomainLoad::new(lanes.len()),
            queue,
            lanes: lanes.into_iter().map(Mutex::new).collect(),
            bus,
            entry,
        }
    }
}

impl<E: Send + 'static> LaneRunner for Domain<E> {
    fn run_lane(&self, lane: usize) {
        {
            // Uncontended: the ready channel hands a lane to one worker at a time.
            let mut chain = self.lanes[lane].lock();
            let limit = self.queue.batch_limit().load(Relaxed).max(1);
            let popped = chain[0]
                .inbox_any()
                .downcast_mut::<Vec<E>>()
                .map(|inbox| self.queue.pop(lane, limit, inbox));
            if let Some((n, Some(oldest))) = popped {
                if n > 0 {
                    let started = Instant::now();
                    self.load.batch_started(lane, started);
                    let wait = started.saturating_duration_since(oldest);
                    self.entry.queue_wait.record(wait);
                    self.entry.metrics.batch_taken(n, wait);
                    let taken = &self.load.running[lane].taken;
                    // Each stage's end is the next one's start; the last one's is the batch's
                    // (its deliveries to other domains' queues are not handler time).
                    let mut at = started;
                    for i in 0..chain.len() {
                        let (head, tail) = chain.split_at_mut(i + 1);
                        let progress = (i == 0).then_some(taken);
                        at = head[i].run(&self.bus, tail, i + 1, progress, at);
                    }
                    self.load
                        .batch_ended(lane, at.saturating_duration_since(started), n);
                }
            }
        }
        let after = after::take();
        if after.is_empty() {
            self.queue.release(lane);
            return;
        }
        // Let go of the lane even with events queued, so a producer can run them while this
        // thread does the IO; then take it back unless someone did.
        self.queue.let_go(lane);
        let _reclaim = Reclaim {
            queue: &self.queue,
            lane,
        };
        after::run(after);
    }

    fn send_token(&self, token: usize) {
        self.queue.send_token(token);
    }
}

impl<E: Send + 'static> DomainTask for Domain<E> {
    fn queue(&self) -> &dyn QueueFace {
        &*self.queue
    }

    fn load(&self) -> &DomainLoad {
        &self.load
    }
}
