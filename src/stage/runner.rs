//! Runs one stage's handler over a batch in one lane: panics isolated, outputs flushed.

use std::any::Any;
use std::collections::HashSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Instant;

use crate::batch::{Batch, Watch, LOOK_FIRST};
use crate::bus::{Bounced, Bus, DeadReason, Delivery, LaneStage, Outbox};
use crate::event::KeyFn;
use crate::stage::context::Failures;
use crate::stage::handler::{Handler, OnPanic};
use crate::stage::Context;
use crate::stats::StageStats;

/// What every lane of a stage shares.
pub(crate) struct StageShared<E> {
    pub(crate) index: usize,
    pub(crate) name: Arc<str>,
    pub(crate) stats: Arc<StageStats>,
    pub(crate) key: Option<KeyFn<E>>,
    pub(crate) on_panic: OnPanic,
    /// Leads its domain (events arrive through the queue, already counted there).
    pub(crate) entry: bool,
}

/// What became of a batch's events besides being processed.
struct Outcome {
    /// The handler panicked on them.
    panicked: u64,
    /// A shutdown deadline left them untaken (reported as queued).
    left: u64,
    /// The handler failed them ([`Context::fail`]).
    failed: u64,
}

/// One stage's state in one lane: its handler instance and buffers.
pub(crate) struct StageSlot<H: Handler> {
    handler: H,
    inbox: Vec<H::In>,
    held: Vec<H::In>,
    quarantine: HashSet<u64>,
    outbox: Outbox,
    bounced: Vec<Bounced>,
    shared: Arc<StageShared<H::In>>,
    lane: usize,
    /// Events between a batch's looks out, from the last batch's time per event.
    look_every: usize,
}

impl<H: Handler> StageSlot<H> {
    pub(crate) fn new(handler: H, shared: Arc<StageShared<H::In>>, lane: usize) -> Self {
        StageSlot {
            handler,
            inbox: Vec::new(),
            held: Vec::new(),
            quarantine: HashSet::new(),
            outbox: Outbox::default(),
            bounced: Vec::new(),
            shared,
            lane,
            look_every: LOOK_FIRST,
        }
    }

    /// Calls the handler until the batch is used up, failing only the events it panics on.
    fn handle_all(&mut self, bus: &Bus, progress: Option<&AtomicU64>) -> Outcome {
        let shared = &*self.shared;
        let mut ctx = Context {
            outbox: &mut self.outbox,
            stage: &shared.name,
            dead: &bus.dead,
            lane: self.lane,
            failed: Failures::of::<H::In>(),
        };
        let track_key = shared.on_panic == OnPanic::QuarantineKey;
        let mut panicked = 0;
        let mut left = 0;
        let total = self.inbox.len() as u64;
        // One span per batch, never per event: while no subscriber wants `trace` spans this
        // is a cached level check, and the fields are not even formatted.
        let span =
            tracing::trace_span!("batch", stage = %shared.name, lane = self.lane, events = total);
        let _in_batch = span.enter();
        while !self.inbox.is_empty() {
            let watch = Watch {
                halt: &bus.halt,
                progress: progress.map(|p| (p, total - self.inbox.len() as u64)),
                every: self.look_every,
            };
            let mut batch = Batch::new(
                &mut self.inbox,
                shared.key.as_ref(),
                &self.quarantine,
                &mut self.held,
                track_key,
                watch,
            );
            let handler = &mut self.handler;
            let outcome = catch_unwind(AssertUnwindSafe(|| handler.handle(&mut batch, &mut ctx)));
            let key = batch.current_key();
            // Gives the untaken events back to the inbox.
            drop(batch);
            if bus.halt.load(Relaxed) {
                // The deadline passed: what the batch did not hand out was never handled.
                left = self.inbox.len() as u64;
                break;
            }
            let Err(payload) = outcome else { break };
            panicked += 1;
            let message = panic_message(payload.as_ref());
            tracing::warn!(stage = %shared.name, %message, "handler panicked; event dead-lettered");
            bus.dead.record_lost(
                std::any::type_name::<H::In>(),
                &shared.name,
                DeadReason::Panicked(message),
            );
            if let (OnPanic::QuarantineKey, Some(k)) = (shared.on_panic, key) {
                self.quarantine.insert(k);
            }
        }
        // Events the handler left in the batch count as processed: it chose not to take them.
        self.inbox.clear();
        for event in self.held.drain(..) {
            let handler = &mut self.handler;
            if catch_unwind(AssertUnwindSafe(|| handler.quarantined(event, &mut ctx))).is_err() {
                panicked += 1;
            }
        }
        Outcome {
            panicked,
            left,
            // Only events of this batch can fail (a handler could fail more of its input
            // type than it was given): the rest of it was processed.
            failed: ctx.failed.count.min(total - panicked - left),
        }
    }

    /// Routes what the handler emitted; refusals go back to the handler once, then dead.
    fn flush(&mut self, bus: &Bus, later: &mut [Box<dyn LaneStage>], offset: usize) {
        for round in 0..2 {
            if self.outbox.is_empty() {
                return;
            }
            let mut d = Delivery {
                bus,
                from: self.shared.index,
                from_name: &self.shared.name,
                later: &mut *later,
                offset,
                bounced: &mut self.bounced,
            };
            self.outbox.flush(&mut d);
            let mut ctx = Context {
                outbox: &mut self.outbox,
                stage: &self.shared.name,
                dead: &bus.dead,
                lane: self.lane,
                // The bounced events are the stage's output: failing them is no failure of
                // its input.
                failed: Failures::uncounted(),
            };
            for b in self.bounced.drain(..) {
                if round == 0 {
                    let handler = &mut self.handler;
                    if catch_unwind(AssertUnwindSafe(|| handler.bounced(b, &mut ctx))).is_err() {
                        tracing::warn!(stage = %self.shared.name, "bounced() panicked");
                    }
                } else {
                    ctx.dead_letter_bounced(b);
                }
            }
        }
    }
}

impl<H: Handler> LaneStage for StageSlot<H> {
    fn inbox_any(&mut self) -> &mut dyn Any {
        &mut self.inbox
    }

    fn run(
        &mut self,
        bus: &Bus,
        later: &mut [Box<dyn LaneStage>],
        offset: usize,
        progress: Option<&AtomicU64>,
        started: Instant,
    ) -> Instant {
        let n = self.inbox.len() as u64;
        if n == 0 {
            return started;
        }
        let stats = self.shared.stats.clone();
        if !self.shared.entry {
            // A fused stage is handed its events directly: they are offered and enqueued at once.
            stats.produce.offered.fetch_add(n, Relaxed);
            stats.produce.enqueued.fetch_add(n, Relaxed);
        }
        let Outcome {
            panicked,
            left,
            failed,
        } = self.handle_all(bus, progress);
        let handled = Instant::now();
        let took = handled.saturating_duration_since(started);
        // Delivered before they count as processed: an event is always in this stage's
        // count or the next one's (admission control reads `QueueProbe::backlog`).
        self.flush(bus, later, offset);
        let handler = &mut self.handler;
        if catch_unwind(AssertUnwindSafe(|| handler.handed_on())).is_err() {
            tracing::warn!(stage = %self.shared.name, "handed_on() panicked");
        }
        let consume = &stats.consume;
        consume
            .processed
            .fetch_add(n - panicked - left - failed, Relaxed);
        if panicked > 0 {
            consume.panicked.fetch_add(panicked, Relaxed);
        }
        if failed > 0 {
            consume.failed.fetch_add(failed, Relaxed);
        }
        if left > 0 {
            consume.left_at_shutdown.fetch_add(left, Relaxed);
        }
        consume.batches.fetch_add(1, Relaxed);
        consume
            .busy_ns
            .fetch_add(u64::try_from(took.as_nanos()).unwrap_or(u64::MAX), Relaxed);
        let per_event = took / u32::try_from(n).unwrap_or(u32::MAX);
        self.look_every = Watch::every_for(per_event);
        stats.service.record(per_event);
        stats.metrics.batch_served(n, per_event);
        handled
    }
}

/// The message of a caught panic, for its dead letter.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_owned())
}
