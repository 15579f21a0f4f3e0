//! What a handler can do besides reading its batch: emit events, dead-letter them.

use std::sync::Arc;

use crate::bus::{Bounced, DeadLetters, DeadReason, Outbox};
use crate::event::Event;

/// A handler's view of the bus during one batch. Emitted events are buffered per type and
/// routed once when the batch ends, so `emit` costs about a `Vec::push`.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use sedaflow::{handler_fn, Batch, DeadReason, Pipeline};
///
/// let mut p = Pipeline::builder();
/// p.stage("route", || handler_fn(|batch: &mut Batch<'_, i64>, ctx| {
///     assert_eq!(ctx.stage(), "route");
///     for n in batch {
///         match n {
///             0 => ctx.dead_letter(n, DeadReason::Refused("zero")),
///             n if n < 0 => ctx.emit_to("debits", n),
///             n => ctx.emit(n as u64),
///         }
///     }
/// }));
/// p.stage("debits", || handler_fn(|b: &mut Batch<'_, i64>, _ctx| b.for_each(drop)))
///     .topic("debits");
/// p.stage("credits", || handler_fn(|b: &mut Batch<'_, u64>, _ctx| b.for_each(drop)));
/// let pipeline = p.build()?;
/// let input = pipeline.publisher::<i64>()?;
/// pipeline.start();
/// input.try_publish_batch(&mut vec![5, -3, 0, 7]).unwrap();
/// let report = pipeline.shutdown(Duration::from_secs(5));
/// assert_eq!(report.stage("debits").unwrap().processed, 1);
/// assert_eq!(report.stage("credits").unwrap().processed, 2);
/// assert_eq!(report.dead_letters[0].reason, "refused");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Context<'a> {
    pub(crate) outbox: &'a mut Outbox,
    pub(crate) stage: &'a Arc<str>,
    pub(crate) dead: &'a DeadLetters,
    pub(crate) lane: usize,
}

impl std::fmt::Debug for Context<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("stage", &self.stage)
            .field("lane", &self.lane)
            .finish()
    }
}

impl Context<'_> {
    /// Publishes `event` to the subscribers of its type.
    pub fn emit<T: Event>(&mut self, event: T) {
        self.outbox.push(None, event);
    }

    /// Publishes every event of `events` to the subscribers of their type: one type check for
    /// all of them, then one write loop, which is what a batch-at-a-time handler wants
    /// (`ctx.emit_all(batch.drain().map(transform))`).
    pub fn emit_all<T: Event>(&mut self, events: impl IntoIterator<Item = T>) {
        self.outbox.extend(None, events);
    }

    /// Publishes `event` to the subscribers of its type on `topic`.
    pub fn emit_to<T: Event>(&mut self, topic: &'static str, event: T) {
        self.outbox.push(Some(topic), event);
    }

    /// Runs `work` on this thread once the lane is released: for IO the batch caused that
    /// needs none of the stage's state (writing the sockets it filled, say), so another
    /// thread can run the lane's next batch meanwhile. Work left by the stages of one lane
    /// runs in the order it was left.
    pub fn after_release(&mut self, work: impl FnOnce() + 'static) {
        crate::domain::after::push(Box::new(work));
    }

    /// The running stage's name.
    pub fn stage(&self) -> &str {
        self.stage
    }

    /// The lane being run (keyed stages: every event of a key comes through the same lane).
    pub fn lane(&self) -> usize {
        self.lane
    }

    /// Gives up on `event`: it is counted (and handed to the dead-letter handler, if any).
    pub fn dead_letter<T: Event>(&mut self, event: T, reason: DeadReason) {
        self.dead
            .record(std::iter::once(event), None, Some(self.stage), reason);
    }

    /// Gives up on bounced events.
    pub fn dead_letter_bounced(&mut self, bounced: Bounced) {
        let (event_type, topic, reason) = (bounced.event_type, bounced.topic, bounced.reason);
        let (payload, n) = bounced.into_parts();
        self.dead.record_erased(
            event_type,
            n,
            topic,
            self.stage,
            DeadReason::Refused(reason),
            payload,
        );
    }
}
