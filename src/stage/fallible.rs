//! Handlers that take one event at a time and may fail it with an application error.

use crate::batch::Batch;
use crate::bus::HandlerError;
use crate::event::Event;
use crate::stage::{Context, Handler};

/// A stage's business step for one event, which may fail: each `Err` counts as the stage's
/// `failed` and dead-letters the event with the error ([`Context::fail`]). Run it as a stage
/// through [`Fallible`].
///
/// The handler gets the event by `&mut`: it may take parts of it (`std::mem::take`) on
/// the way to success; on an error, the event as it left it is dead-lettered.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use sedaflow::{Context, DeadReason, Fallible, Pipeline, TryHandler};
///
/// #[derive(Debug, thiserror::Error)]
/// #[error("account {0} is unknown")]
/// struct Unknown(u32);
///
/// struct Debit;
/// impl TryHandler for Debit {
///     type In = (u32, u64);
///     type Error = Unknown;
///     fn try_handle(&mut self, &mut (account, amount): &mut (u32, u64), ctx: &mut Context<'_>)
///         -> Result<(), Unknown>
///     {
///         if account > 9 {
///             return Err(Unknown(account));
///         }
///         ctx.emit(amount);
///         Ok(())
///     }
/// }
///
/// let mut p = Pipeline::builder();
/// let debit = p.stage("debit", || Fallible(Debit)).id();
/// p.stage("ledger", || sedaflow::handler_fn(|b: &mut sedaflow::Batch<'_, u64>, _| b.for_each(drop)));
/// let dead = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
/// let seen = dead.clone();
/// p.on_dead_letter(move |letter| seen.lock().unwrap().push(letter));
/// let pipeline = p.build()?;
/// let input = pipeline.publisher::<(u32, u64)>()?;
/// input.try_publish_batch(&mut vec![(1, 10), (42, 5), (2, 7)]).unwrap();
/// let report = pipeline.shutdown(Duration::from_secs(5));
/// let stage = report.stage(&debit).unwrap();
/// assert_eq!((stage.processed, stage.failed), (2, 1));
/// let letter = dead.lock().unwrap().pop().unwrap();
/// let DeadReason::Failed(error) = &letter.reason else { panic!("{letter:?}") };
/// assert_eq!(error.downcast_ref::<Unknown>().map(|u| u.0), Some(42));
/// assert_eq!(letter.event.unwrap().downcast::<(u32, u64)>().ok().map(|e| *e), Some((42, 5)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait TryHandler: Send + 'static {
    /// The event type this stage subscribes to.
    type In: Event;
    /// The application error an event can fail with.
    type Error: Into<HandlerError>;

    /// Handles one event.
    ///
    /// # Errors
    /// The event failed: it is counted as the stage's `failed` and dead-lettered with the
    /// error.
    fn try_handle(
        &mut self,
        event: &mut Self::In,
        ctx: &mut Context<'_>,
    ) -> Result<(), Self::Error>;
}

/// Runs a [`TryHandler`] as a stage's [`Handler`], one event at a time.
#[derive(Debug, Clone, Default)]
pub struct Fallible<H>(pub H);

impl<H: TryHandler> Handler for Fallible<H> {
    type In = H::In;

    fn handle(&mut self, batch: &mut Batch<'_, H::In>, ctx: &mut Context<'_>) {
        for mut event in batch {
            if let Err(error) = self.0.try_handle(&mut event, ctx) {
                ctx.fail(event, error);
            }
        }
    }
}
