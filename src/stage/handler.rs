//! The business step of a stage: the only part a user writes.

use crate::batch::Batch;
use crate::bus::{Bounced, DeadReason};
use crate::event::Event;
use crate::stage::Context;

/// A stage's business logic. It receives events in batches and emits events through the
/// [`Context`]; queueing, threads, batching, admission and dead-lettering wrap it.
///
/// A stage holds one handler per lane (keyed stages: all events of a key meet the same
/// instance, one thread at a time), so handlers keep state in plain fields, without locks.
///
/// # Examples
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use std::sync::Arc;
/// use std::time::Duration;
/// use sedaflow::{Batch, Context, Handler, Pipeline};
///
/// struct Double;
/// impl Handler for Double {
///     type In = u32;
///     fn handle(&mut self, batch: &mut Batch<'_, u32>, ctx: &mut Context<'_>) {
///         for x in batch {
///             ctx.emit(u64::from(x) * 2);
///         }
///     }
/// }
///
/// struct Total(Arc<AtomicU64>);
/// impl Handler for Total {
///     type In = u64;
///     fn handle(&mut self, batch: &mut Batch<'_, u64>, _ctx: &mut Context<'_>) {
///         self.0.fetch_add(batch.sum(), Ordering::Relaxed);
///     }
/// }
///
/// let total = Arc::new(AtomicU64::new(0));
/// let mut p = Pipeline::builder();
/// p.stage("double", || Double);
/// let sum = total.clone();
/// p.stage("total", move || Total(sum.clone()));
/// let pipeline = p.build()?;
/// let input = pipeline.publisher::<u32>()?;
/// pipeline.start();
/// for x in 1..=3 {
///     input.blocking_publish(x).unwrap();
/// }
/// pipeline.shutdown(Duration::from_secs(5));
/// assert_eq!(total.load(Ordering::Relaxed), 12);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Handler: Send + 'static {
    /// The event type this stage subscribes to.
    type In: Event;

    /// Handles a batch. Events the handler does not take from the batch count as processed.
    /// A panic fails only the event being handled; the rest of the batch is handed in again.
    fn handle(&mut self, batch: &mut Batch<'_, Self::In>, ctx: &mut Context<'_>);

    /// Events a downstream stage with the `Reject` policy (or a closing pipeline) handed back.
    /// The default dead-letters them; a stage that must answer its client overrides this.
    fn bounced(&mut self, bounced: Bounced, ctx: &mut Context<'_>) {
        ctx.dead_letter_bounced(bounced);
    }

    /// An event whose key was quarantined after a panic (see [`OnPanic::QuarantineKey`]).
    /// The default dead-letters it; a stage can answer it with a reason instead.
    ///
    /// [`OnPanic::QuarantineKey`]: crate::OnPanic::QuarantineKey
    fn quarantined(&mut self, event: Self::In, ctx: &mut Context<'_>) {
        ctx.dead_letter(event, DeadReason::Quarantined);
    }

    /// Called once a batch's output has been handed on, just before the engine counts the
    /// batch processed (also after a batch in which the handler panicked). A handler that
    /// keeps its own count of what it holds, beside the engine's (a weight its events
    /// carry, say), settles it here: until this call its output is in neither this stage's
    /// backlog nor the next one's queue, so nothing is counted in neither place. The
    /// default does nothing.
    fn handed_on(&mut self) {}
}

/// What a stage does after its handler panicked on an event.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use sedaflow::{handler_fn, Batch, OnPanic, Pipeline};
///
/// assert_eq!(OnPanic::default(), OnPanic::FailEvent);
/// let mut p = Pipeline::builder();
/// p.stage("picky", || handler_fn(|batch: &mut Batch<'_, (u8, u32)>, _ctx| {
///     for (_account, n) in batch {
///         assert!(n != 2, "refuses 2");
///     }
/// }))
/// .keyed_by(|&(account, _)| account)
/// .on_panic(OnPanic::QuarantineKey);
/// let pipeline = p.build()?;
/// let input = pipeline.publisher::<(u8, u32)>()?;
/// // Account 1 panics on its second event; its third is quarantined, account 2 goes on.
/// input.try_publish_batch(&mut vec![(1, 1), (1, 2), (1, 3), (2, 4)]).unwrap();
/// pipeline.start();
/// let report = pipeline.shutdown(Duration::from_secs(5));
/// let picky = report.stage("picky").unwrap();
/// assert_eq!((picky.processed, picky.panicked), (3, 1));
/// let quarantined = report.dead_letters.iter().find(|d| d.reason == "quarantined");
/// assert_eq!(quarantined.map(|d| d.count), Some(1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnPanic {
    /// Only that event fails; the handler keeps serving everything else.
    #[default]
    FailEvent,
    /// The event's key is quarantined in this lane: later events of the key go to
    /// [`Handler::quarantined`] instead of a handler whose state for that key may be torn.
    QuarantineKey,
}

/// A handler made from a closure, for stateless or small steps.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use sedaflow::{handler_fn, Batch, Pipeline};
///
/// let mut p = Pipeline::builder();
/// p.stage("double", || handler_fn(|batch: &mut Batch<'_, u64>, ctx| {
///     for x in batch {
///         ctx.emit(x * 2);
///     }
/// }))
/// .topic("in");
/// p.stage("check", || handler_fn(|batch: &mut Batch<'_, u64>, _ctx| {
///     assert!(batch.all(|x| x % 2 == 0));
/// }));
/// let pipeline = p.build()?;
/// let input = pipeline.publisher_on::<u64>("in")?;
/// pipeline.start();
/// input.blocking_publish(21).unwrap();
/// let report = pipeline.shutdown(Duration::from_secs(5));
/// assert_eq!(report.stage("check").unwrap().processed, 1);
/// assert_eq!(report.stage("check").unwrap().panicked, 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn handler_fn<E, F>(f: F) -> FnHandler<E, F>
where
    E: Event,
    F: FnMut(&mut Batch<'_, E>, &mut Context<'_>) + Send + 'static,
{
    FnHandler {
        f,
        _in: std::marker::PhantomData,
    }
}

/// See [`handler_fn`].
///
/// # Examples
/// ```
/// use sedaflow::{handler_fn, Batch, FnHandler, Handler};
///
/// fn input_of<H: Handler>(_: &H) -> &'static str {
///     std::any::type_name::<H::In>()
/// }
/// let h = handler_fn(|b: &mut Batch<'_, u32>, _ctx| b.for_each(drop));
/// assert_eq!(input_of(&h), "u32");
/// assert_eq!(format!("{h:?}"), "FnHandler");
/// ```
pub struct FnHandler<E, F> {
    f: F,
    _in: std::marker::PhantomData<fn(E)>,
}

impl<E, F> std::fmt::Debug for FnHandler<E, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FnHandler")
    }
}

impl<E, F> Handler for FnHandler<E, F>
where
    E: Event,
    F: FnMut(&mut Batch<'_, E>, &mut Context<'_>) + Send + 'static,
{
    type In = E;

    fn handle(&mut self, batch: &mut Batch<'_, E>, ctx: &mut Context<'_>) {
        (self.f)(batch, ctx)
    }
}
