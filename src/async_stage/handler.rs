//! The business step of an async stage: a call whose work is a future.

use std::future::Future;

use crate::event::Event;
use crate::stage::Context;

/// An async stage's business logic: one call per event, whose work is a future (a database
/// query, an HTTP request). Many calls run at once, up to the stage's adaptive in-flight limit
/// (see [`AsyncStageBuilder::concurrency`](crate::AsyncStageBuilder::concurrency)).
///
/// A call emits through the [`Context`] as a sync handler does; what one call emits is
/// delivered when the call ends, and the calls of a lane deliver in their events' arrival
/// order whatever order they end in. In a keyed stage a key's next call starts only after
/// the previous one ended, so a key's events are also handled in order.
///
/// The calls of a lane share one handler instance (`&self`): state they change needs interior
/// mutability (an atomic, a lock held across no `.await`).
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use sedaflow::{handler_fn, AsyncHandler, Batch, Context, Pipeline};
///
/// /// Looks a price up in a slow service.
/// struct Price;
/// impl AsyncHandler for Price {
///     type In = u32;
///     async fn handle(&self, item: u32, ctx: &mut Context<'_>) {
///         tokio::time::sleep(Duration::from_millis(5)).await;
///         ctx.emit((item, u64::from(item) * 100));
///     }
/// }
///
/// let mut p = Pipeline::builder();
/// p.async_stage("price", || Price).concurrency(1, 64);
/// p.stage("sink", || handler_fn(|b: &mut Batch<'_, (u32, u64)>, _ctx| b.for_each(drop)));
/// let pipeline = p.build()?;
/// let input = pipeline.publisher::<u32>()?;
/// pipeline.start();
/// input.try_publish_batch(&mut (0..100).collect())?;
/// let report = pipeline.shutdown(Duration::from_secs(10));
/// assert!(report.is_balanced());
/// assert_eq!(report.stage("sink").unwrap().processed, 100);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait AsyncHandler: Send + Sync + 'static {
    /// The event type this stage subscribes to.
    type In: Event;

    /// Handles one event. [`Context::fail`] on it counts it as failed and dead-letters it
    /// with the error; a panic fails only this event (counted, dead-lettered).
    /// [`Context::after_release`] work runs as soon as the poll that left it returns.
    fn handle(&self, event: Self::In, ctx: &mut Context<'_>) -> impl Future<Output = ()> + Send;
}
