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
/// use sedaflow::{Batch, Context, Handler};
///
/// struct Double;
/// impl Handler for Double {
///     type In = u64;
///     fn handle(&mut self, batch: &mut Batch<'_, u64>, ctx: &mut Context<'_>) {
///         for x in batch {
///             ctx.emit(x * 2);
///         }
///     }
/// }
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
}

/// What a stage does after its handler panicked on an event.
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
/// use sedaflow::{handler_fn, Pipeline};
///
/// let mut p = Pipeline::builder();
/// p.stage("double", || handler_fn(|batch: &mut sedaflow::Batch<'_, u64>, ctx| {
///     for x in batch {
///         ctx.emit(x * 2);
///     }
/// }));
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
