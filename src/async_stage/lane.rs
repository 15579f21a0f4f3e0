//! A lane of an async stage at run time: a task that owns the lane from the moment its pool
//! hands it out until it is empty and every call it started has delivered.
//!
//! It takes events from the lane only when the limiter has room for them (so an event not
//! started is still queued, counted by the queue), starts a call per event, and delivers the
//! calls' outputs in the lane's arrival order: a call that ends early waits for the ones
//! before it. Keyed stages chain a key's calls, so the next starts when the previous ended.

use std::any::type_name;
use std::collections::{HashMap, HashSet, VecDeque};
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::task::{Poll, Waker};
use std::time::Instant;

use parking_lot::Mutex;
use tokio::sync::oneshot;
use tokio::task::{JoinError, JoinHandle};

use super::call::{call, KeyTurn, Outcome};
use super::handler::AsyncHandler;
use super::limiter::Permit;
use super::shared::{AsyncShared, Wired};
use crate::bus::{DeadReason, Delivery, Outbox};
use crate::stage::context::Failures;
use crate::stage::{Context, OnPanic};

/// Most events a lane takes from its queue at once (each with room to start).
const CHUNK: usize = 64;

/// A started event, in arrival order.
struct Started<E> {
    call: Call<E>,
    key: Option<u64>,
    seq: u64,
}

enum Call<E> {
    Running(JoinHandle<Outcome<E>>),
    /// Settled without running (a quarantined key), or running ended and taken.
    Ended(Outcome<E>),
}

/// A call task's join result.
type Joined<E> = Result<Outcome<E>, JoinError>;

/// What woke the lane task.
enum Wake<E> {
    Halt,
    /// The head call ended (`None`: it had settled without running).
    Ended(Option<Joined<E>>),
    Room(Permit),
}

/// The result of a call that has ended, without waiting.
fn ended_now<E>(h: &mut JoinHandle<Outcome<E>>) -> Option<Joined<E>> {
    if !h.is_finished() {
        return None;
    }
    match Pin::new(h).poll(&mut std::task::Context::from_waker(Waker::noop())) {
        Poll::Ready(r) => Some(r),
        Poll::Pending => None,
    }
}

/// Counts a lane task out when it ends, however it ends.
struct Active<'a>(&'a AtomicUsize);

impl Drop for Active<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Relaxed);
    }
}

/// The lane task's state.
pub(crate) struct LaneTask<H: AsyncHandler> {
    shared: Arc<AsyncShared<H::In>>,
    handler: Arc<H>,
    lane: usize,
    quarantine: Arc<Mutex<HashSet<u64>>>,
    started: VecDeque<Started<H::In>>,
    /// Per key, the last call started and the signal of its end (keyed stages).
    turns: HashMap<u64, (u64, oneshot::Receiver<bool>)>,
    seq: u64,
    /// The last take found the lane empty: look again once a call has delivered.
    dry: bool,
}

impl<H: AsyncHandler> LaneTask<H> {
    pub(crate) fn new(
        shared: Arc<AsyncShared<H::In>>,
        handler: Arc<H>,
        lane: usize,
        quarantine: Arc<Mutex<HashSet<u64>>>,
    ) -> Self {
        LaneTask {
            shared,
            handler,
            lane,
            quarantine,
            started: VecDeque::new(),
            turns: HashMap::new(),
            seq: 0,
            dry: false,
        }
    }

    /// Runs the lane until it is empty and delivered, or the stage halts.
    pub(crate) async fn run(mut self) {
        let shared = self.shared.clone();
        // Counted out even if a dead-letter handler panics in a delivery: a shutdown past
        // its deadline waits for the count.
        let _active = Active(&shared.active);
        if let Some(wired) = shared.wired.get() {
            self.drive(wired).await;
        }
    }

    async fn drive(&mut self, wired: &Wired<H::In>) {
        loop {
            if self.shared.halt.is_set() {
                self.cancel(wired);
                return;
            }
            if !self.dry {
                self.start(None, wired);
            }
            if self.started.is_empty() && self.dry {
                // A producer that came after the last take finds the lane still held and
                // leaves its events: `release` hands the lane out again if so.
                wired.queue.release(self.lane);
                return;
            }
            match self.wake().await {
                Wake::Halt => {}
                Wake::Ended(joined) => {
                    self.deliver(joined, wired);
                    self.dry = false;
                }
                Wake::Room(permit) => self.start(Some(permit), wired),
            }
        }
    }

    /// Waits for the halt, the head call's end, or room for another call (while the lane
    /// may hold events).
    async fn wake(&mut self) -> Wake<H::In> {
        let shared = self.shared.clone();
        let dry = self.dry;
        let started = &mut self.started;
        let head = poll_fn(|cx| match started.front_mut().map(|s| &mut s.call) {
            Some(Call::Running(h)) => Pin::new(h).poll(cx).map(Some),
            Some(Call::Ended(_)) => Poll::Ready(None),
            None => Poll::Pending,
        });
        tokio::select! {
            biased;
            () = shared.halt.wait() => Wake::Halt,
            ended = head => Wake::Ended(ended),
            permit = shared.limiter.acquire(), if !dry => Wake::Room(permit),
        }
    }

    /// Takes as many events as there is room for (with `first` already in hand) and starts
    /// their calls.
    fn start(&mut self, first: Option<Permit>, wired: &Wired<H::In>) {
        let limiter = &self.shared.limiter;
        let mut permits: Vec<Permit> = first.into_iter().collect();
        while permits.len() < CHUNK {
            match limiter.try_acquire() {
                Some(p) => permits.push(p),
                None => break,
            }
        }
        if permits.is_empty() {
            return;
        }
        let mut events = Vec::with_capacity(permits.len());
        let (n, oldest) = wired.queue.pop(self.lane, permits.len(), &mut events);
        if n < permits.len() {
            self.dry = true;
        } else if permits.len() < CHUNK && wired.queue.len() > 0 {
            // Events wait and the limit is reached: the limit binds.
            limiter.note_throttled();
        }
        if let Some(oldest) = oldest.filter(|_| n > 0) {
            let stats = &self.shared.stats;
            let wait = Instant::now().saturating_duration_since(oldest);
            stats.queue_wait.record(wait);
            stats.metrics.batch_taken(n, wait);
            stats.consume.batches.fetch_add(1, Relaxed);
        }
        for (event, permit) in events.into_iter().zip(permits) {
            self.spawn(event, permit, wired);
        }
    }

    fn spawn(&mut self, event: H::In, permit: Permit, wired: &Wired<H::In>) {
        let seq = self.seq;
        self.seq += 1;
        let key = self.shared.key.as_ref().map(|k| k(&event));
        if let Some(k) = key.filter(|k| self.quarantine.lock().contains(k)) {
            self.started.push_back(Started {
                call: Call::Ended(Outcome::Quarantined(event)),
                key: Some(k),
                seq,
            });
            return;
        }
        let turn = match key {
            Some(k) => {
                let (next, end) = oneshot::channel();
                let previous = self.turns.insert(k, (seq, end)).map(|(_, e)| e);
                KeyTurn {
                    previous,
                    next: Some(next),
                }
            }
            None => KeyTurn {
                previous: None,
                next: None,
            },
        };
        let task = call(
            self.shared.clone(),
            wired.bus.clone(),
            self.handler.clone(),
            self.lane,
            event,
            turn,
            permit,
        );
        self.started.push_back(Started {
            call: Call::Running(tokio::spawn(task)),
            key,
            seq,
        });
    }

    /// Delivers the head call's output (`joined`: its join result, `None` when it settled
    /// without running) and that of every call behind it that has ended too, in order.
    fn deliver(&mut self, joined: Option<Joined<H::In>>, wired: &Wired<H::In>) {
        let mut ready = Vec::new();
        let mut emits = false;
        let mut joined = joined;
        while let Some(head) = self.started.pop_front() {
            let outcome = match head.call {
                Call::Ended(o) => Ok(o),
                Call::Running(mut h) => match joined.take().or_else(|| ended_now(&mut h)) {
                    Some(r) => r.map_err(|e| e.to_string()),
                    None => {
                        self.started.push_front(Started {
                            call: Call::Running(h),
                            key: head.key,
                            seq: head.seq,
                        });
                        break;
                    }
                },
            };
            if let Some(k) = head.key {
                if self.turns.get(&k).is_some_and(|(s, _)| *s == head.seq) {
                    self.turns.remove(&k);
                }
            }
            emits |= match &outcome {
                Ok(Outcome::Done { outbox, .. } | Outcome::Panicked { outbox, .. }) => {
                    !outbox.is_empty()
                }
                _ => false,
            };
            ready.push((outcome, head.key));
        }
        let mut settle_all = || {
            for (outcome, key) in ready.drain(..) {
                self.settle(outcome, key, wired);
            }
        };
        if emits {
            // Delivery may block on a full downstream queue (`Block`): let the runtime move
            // its other tasks to another worker meanwhile.
            tokio::task::block_in_place(settle_all);
        } else {
            settle_all();
        }
    }

    /// Delivers one call's output and counts it.
    fn settle(
        &mut self,
        outcome: Result<Outcome<H::In>, String>,
        key: Option<u64>,
        wired: &Wired<H::In>,
    ) {
        let shared = &*self.shared;
        let consume = &shared.stats.consume;
        let dead = &wired.bus.dead;
        match outcome {
            Ok(Outcome::Done { mut outbox, failed }) => {
                self.flush(&mut outbox, wired);
                let count = if failed {
                    &consume.failed
                } else {
                    &consume.processed
                };
                count.fetch_add(1, Relaxed);
            }
            Ok(Outcome::Quarantined(event)) => {
                dead.record(
                    std::iter::once(event),
                    None,
                    Some(&shared.name),
                    DeadReason::Quarantined,
                );
                // As a sync stage's quarantined events: handled (refused), not failed.
                consume.processed.fetch_add(1, Relaxed);
            }
            Ok(Outcome::Panicked {
                mut outbox,
                message,
            }) => {
                self.flush(&mut outbox, wired);
                self.failed(message, key, wired);
            }
            // The call task itself failed outside the guarded future.
            Err(message) => self.failed(message, key, wired),
        }
    }

    fn failed(&self, message: String, key: Option<u64>, wired: &Wired<H::In>) {
        let shared = &*self.shared;
        tracing::warn!(stage = %shared.name, %message, "async handler panicked; event dead-lettered");
        wired.bus.dead.record_lost(
            type_name::<H::In>(),
            &shared.name,
            DeadReason::Panicked(message),
        );
        if let (OnPanic::QuarantineKey, Some(k)) = (shared.on_panic, key) {
            self.quarantine.lock().insert(k);
        }
        shared.stats.consume.panicked.fetch_add(1, Relaxed);
    }

    /// Routes what one call emitted; refusals are dead-lettered (an async handler has no
    /// `bounced` hook).
    fn flush(&self, outbox: &mut Outbox, wired: &Wired<H::In>) {
        if outbox.is_empty() {
            return;
        }
        let shared = &*self.shared;
        let mut bounced = Vec::new();
        outbox.flush(&mut Delivery {
            bus: &wired.bus,
            from: shared.index,
            from_name: &shared.name,
            later: &mut [],
            offset: 1,
            bounced: &mut bounced,
        });
        let mut ctx = Context {
            outbox,
            stage: &shared.name,
            dead: &wired.bus.dead,
            lane: self.lane,
            failed: Failures::uncounted(),
        };
        for b in bounced {
            ctx.dead_letter_bounced(b);
        }
    }

    /// A shutdown deadline passed: calls in flight are cancelled and, with the events that
    /// waited for their key's turn, reported as queued (never as processed); the lane is let
    /// go with what is still in it.
    fn cancel(&mut self, wired: &Wired<H::In>) {
        let left = self.started.len() as u64;
        for s in self.started.drain(..) {
            if let Call::Running(h) = s.call {
                h.abort();
            }
        }
        if left > 0 {
            self.shared
                .stats
                .consume
                .left_at_shutdown
                .fetch_add(left, Relaxed);
        }
        wired.queue.let_go(self.lane);
    }
}
