//! One call: waits for the previous call of its key, runs the handler's future guarded, and
//! hands back what it emitted.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::oneshot;

use super::guard::Guarded;
use super::handler::AsyncHandler;
use super::limiter::Permit;
use super::shared::AsyncShared;
use crate::bus::{Bus, Outbox};
use crate::stage::context::Failures;
use crate::stage::{Context, OnPanic};

/// How a call ended, waiting for its turn to deliver.
pub(crate) enum Outcome<E> {
    /// It ran to the end; `outbox` holds what it emitted; `failed`: it failed its event with
    /// an application error ([`Context::fail`]), which dead-lettered it.
    Done { outbox: Outbox, failed: bool },
    /// It panicked; what it emitted before is still delivered, as for sync handlers.
    Panicked { outbox: Outbox, message: String },
    /// Its key was quarantined by an earlier panic: it never ran.
    Quarantined(E),
}

/// The order of a key's calls: each waits for the one before it and tells the next whether
/// the key was quarantined meanwhile.
pub(crate) struct KeyTurn {
    pub(crate) previous: Option<oneshot::Receiver<bool>>,
    pub(crate) next: Option<oneshot::Sender<bool>>,
}

/// Runs one call of `handler` on `event`, holding `permit` until it ends.
pub(crate) async fn call<H: AsyncHandler>(
    shared: Arc<AsyncShared<H::In>>,
    bus: Arc<Bus>,
    handler: Arc<H>,
    lane: usize,
    event: H::In,
    turn: KeyTurn,
    permit: Permit,
) -> Outcome<H::In> {
    let quarantine = shared.on_panic == OnPanic::QuarantineKey;
    if let Some(previous) = turn.previous {
        // Err: the previous call ended (or was cancelled) without quarantining the key.
        if previous.await == Ok(true) {
            if let Some(next) = turn.next {
                let _ = next.send(true);
            }
            return Outcome::Quarantined(event);
        }
    }
    let started = Instant::now();
    let mut outbox = Outbox::default();
    let (result, failed) = {
        let mut ctx = Context {
            outbox: &mut outbox,
            stage: &shared.name,
            dead: &bus.dead,
            lane,
            failed: Failures::of::<H::In>(),
        };
        let result = Guarded::new(handler.handle(event, &mut ctx)).await;
        (result, ctx.failed.count > 0)
    };
    let took = started.elapsed();
    permit.release(took);
    shared.stats.service.record(took);
    shared.stats.metrics.batch_served(1, took);
    match result {
        Ok(()) => Outcome::Done { outbox, failed },
        Err(message) => {
            if let (true, Some(next)) = (quarantine, turn.next) {
                let _ = next.send(true);
            }
            Outcome::Panicked { outbox, message }
        }
    }
}
