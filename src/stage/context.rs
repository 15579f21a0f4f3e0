//! What a handler can do besides reading its batch: emit events, dead-letter them.

use std::any::TypeId;
use std::sync::Arc;

use crate::bus::{Bounced, DeadLetters, DeadReason, HandlerError, Outbox};
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
    /// Events of the batch failed with [`Context::fail`] so far.
    pub(crate) failed: Failures,
}

/// The count of a batch's failed events: those of the stage's input type.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Failures {
    /// `None`: the events at hand are not the stage's input, nothing counts.
    input: Option<TypeId>,
    pub(crate) count: u64,
}

impl Failures {
    /// None yet, for a stage taking `E`.
    pub(crate) fn of<E: Event>() -> Self {
        Failures {
            input: Some(TypeId::of::<E>()),
            count: 0,
        }
    }

    /// For a call outside the stage's input (the events it emitted, bounced back).
    pub(crate) fn uncounted() -> Self {
        Failures {
            input: None,
            count: 0,
        }
    }
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

    /// Fails `event`, taken from this batch, with an application error: it counts as the
    /// stage's `failed` (not `processed`) and becomes a dead letter with
    /// [`DeadReason::Failed`] and the error. A [`TryHandler`](crate::TryHandler) does this for
    /// each `Err`. An event of another type than the stage's input, or one failed from
    /// [`Handler::bounced`](crate::Handler::bounced) (the stage's output), is only
    /// dead-lettered.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use sedaflow::{handler_fn, Batch, DeadReason, Pipeline};
    ///
    /// let mut p = Pipeline::builder();
    /// p.stage("parse", || handler_fn(|batch: &mut Batch<'_, String>, ctx| {
    ///     for line in batch {
    ///         match line.parse::<u64>() {
    ///             Ok(n) => ctx.emit(n),
    ///             Err(e) => ctx.fail(line, e),
    ///         }
    ///     }
    /// }));
    /// p.stage("sum", || handler_fn(|b: &mut Batch<'_, u64>, _ctx| b.for_each(drop)));
    /// let failed = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    /// let seen = failed.clone();
    /// p.on_dead_letter(move |letter| seen.lock().unwrap().push(letter.reason));
    /// let pipeline = p.build()?;
    /// let input = pipeline.publisher::<String>()?;
    /// input.try_publish_batch(&mut vec!["1".into(), "x".into(), "3".into()]).unwrap();
    /// let report = pipeline.shutdown(Duration::from_secs(5));
    /// let parse = report.stage("parse").unwrap();
    /// assert_eq!((parse.processed, parse.failed), (2, 1));
    /// assert!(report.is_balanced());
    /// let reasons = failed.lock().unwrap();
    /// assert!(matches!(&reasons[..], [DeadReason::Failed(e)] if e.to_string().contains("invalid digit")));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn fail<T: Event>(&mut self, event: T, error: impl Into<HandlerError>) {
        if self.failed.input == Some(TypeId::of::<T>()) {
            self.failed.count += 1;
        }
        self.dead.record(
            std::iter::once(event),
            None,
            Some(self.stage),
            DeadReason::Failed(error.into()),
        );
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
