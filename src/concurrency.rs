//! A live reading of an async stage's in-flight calls and limit.

/// How many calls an async stage runs at once, and the limit its controller chose (see
/// [`AsyncStageBuilder::concurrency`](crate::AsyncStageBuilder::concurrency)).
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use sedaflow::{AsyncHandler, Context, Pipeline};
///
/// struct Echo;
/// impl AsyncHandler for Echo {
///     type In = u32;
///     async fn handle(&self, _n: u32, _ctx: &mut Context<'_>) {}
/// }
///
/// let mut p = Pipeline::builder();
/// p.async_stage("echo", || Echo).concurrency(2, 16);
/// let pipeline = p.build()?;
/// let c = pipeline.concurrency("echo").unwrap();
/// assert_eq!((c.in_flight, c.limit, c.min, c.max), (0, 2, 2, 16));
/// assert_eq!(c.peak_limit, 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Concurrency {
    /// Calls running now.
    pub in_flight: usize,
    /// The limit now.
    pub limit: usize,
    /// The highest limit the controller chose so far.
    pub peak_limit: usize,
    /// Lower bound of the limit.
    pub min: usize,
    /// Upper bound of the limit.
    pub max: usize,
}
