//! An async stage's domain: its queue and lanes as the pool and pipeline see them.
//!
//! The domain's pool (one thread) only dispatches: a lane it is handed becomes a lane task
//! on the runtime, which owns the lane until it is empty and delivered. The queue keeps
//! counting a lane as busy meanwhile, so draining waits for the calls in flight.

use std::any::Any;
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::runtime::Handle;

use super::handler::AsyncHandler;
use super::lane::LaneTask;
use super::shared::AsyncShared;
use crate::bus::{Bus, LaneStage};
use crate::concurrency::Concurrency;
use crate::domain::{DomainLoad, DomainTask, QueueFace};
use crate::queue::handoff::LaneRunner;
use crate::queue::Queue;

/// How long a shutdown past its deadline waits for the lane tasks to cancel their calls
/// (dropping futures: quick unless a handler's drop blocks).
const CANCEL_WAIT: Duration = Duration::from_secs(1);

/// One lane of an async stage: its handler instance, shared by the lane's calls, and the
/// keys quarantined in it.
pub(crate) struct AsyncLane<H: AsyncHandler> {
    shared: Arc<AsyncShared<H::In>>,
    runtime: Handle,
    handler: Arc<H>,
    lane: usize,
    quarantine: Arc<Mutex<HashSet<u64>>>,
    /// Never filled: an async stage leads its domain alone, so no stage delivers into it
    /// directly (see `domain::Plan`).
    inbox: Vec<H::In>,
}

impl<H: AsyncHandler> AsyncLane<H> {
    pub(crate) fn new(
        shared: Arc<AsyncShared<H::In>>,
        runtime: Handle,
        handler: H,
        lane: usize,
    ) -> Self {
        AsyncLane {
            shared,
            runtime,
            handler: Arc::new(handler),
            lane,
            quarantine: Arc::default(),
            inbox: Vec::new(),
        }
    }
}

impl<H: AsyncHandler> LaneStage for AsyncLane<H> {
    fn inbox_any(&mut self) -> &mut dyn Any {
        &mut self.inbox
    }

    /// Starts the lane task, which takes the lane's events from the queue itself.
    fn run(
        &mut self,
        _: &Bus,
        _: &mut [Box<dyn LaneStage>],
        _: usize,
        _: Option<&AtomicU64>,
        started: Instant,
    ) -> Instant {
        let shared = &self.shared;
        shared.active.fetch_add(1, Relaxed);
        let task = LaneTask::new(
            shared.clone(),
            self.handler.clone(),
            self.lane,
            self.quarantine.clone(),
        );
        self.runtime.spawn(task.run());
        started
    }
}

/// The domain of one async stage.
pub(crate) struct AsyncDomain<E> {
    shared: Arc<AsyncShared<E>>,
    queue: Arc<Queue<E>>,
    lanes: Box<[Mutex<Box<dyn LaneStage>>]>,
    bus: Arc<Bus>,
    load: DomainLoad,
}

impl<E: Send + 'static> AsyncDomain<E> {
    pub(crate) fn new(
        shared: Arc<AsyncShared<E>>,
        queue: Arc<Queue<E>>,
        lanes: Vec<Box<dyn LaneStage>>,
        bus: Arc<Bus>,
    ) -> Self {
        AsyncDomain {
            load: DomainLoad::new(lanes.len()),
            lanes: lanes.into_iter().map(Mutex::new).collect(),
            shared,
            queue,
            bus,
        }
    }
}

impl<E: Send + 'static> LaneRunner for AsyncDomain<E> {
    fn run_lane(&self, lane: usize) {
        if self.shared.halt.is_set() {
            self.queue.let_go(lane);
            return;
        }
        self.lanes[lane]
            .lock()
            .run(&self.bus, &mut [], 1, None, Instant::now());
    }

    fn send_token(&self, token: usize) {
        self.queue.send_token(token);
    }
}

impl<E: Send + 'static> DomainTask for AsyncDomain<E> {
    fn queue(&self) -> &dyn QueueFace {
        &*self.queue
    }

    fn load(&self) -> &DomainLoad {
        &self.load
    }

    /// Cancels the calls in flight and waits (briefly) until every lane task has counted
    /// them, so the report read next balances.
    fn abort(&self) {
        self.queue.abort();
        self.shared.halt.set();
        let until = Instant::now() + CANCEL_WAIT;
        while self.shared.active.load(Relaxed) > 0 && Instant::now() < until {
            std::thread::sleep(Duration::from_micros(200));
        }
    }

    fn concurrency(&self) -> Option<Concurrency> {
        let l = &self.shared.limiter;
        Some(Concurrency {
            in_flight: l.in_flight(),
            limit: l.limit(),
            peak_limit: l.peak_limit(),
            min: l.min,
            max: l.max,
        })
    }
}
