//! What the engine reads of an external stage's queue and threads: its owner's gauges.

use std::time::Duration;

use crate::stats::StageStats;

/// A reading of an external stage's queue and threads, as its owner sees them.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use sedaflow::ExternalGauges;
///
/// let idle = ExternalGauges {
///     capacity: 1024,
///     threads: 1,
///     threads_min: 1,
///     threads_max: 4,
///     ..Default::default()
/// };
/// assert_eq!((idle.depth, idle.oldest_age, idle.utilization), (0, Duration::ZERO, 0.0));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ExternalGauges {
    /// Work waiting now (`sedaflow_stage_queue_depth`; the report's `queued`).
    pub depth: usize,
    /// The bound that really applies to `depth` (`sedaflow_stage_queue_capacity`).
    pub capacity: usize,
    /// Age of the oldest waiting work (`sedaflow_stage_queue_oldest_age_seconds`).
    pub oldest_age: Duration,
    /// Threads (event loops, workers) running now (`sedaflow_stage_threads`).
    pub threads: usize,
    /// Lower bound of the owner's pool (`sedaflow_stage_threads_min`).
    pub threads_min: usize,
    /// Upper bound of the owner's pool (`sedaflow_stage_threads_max`).
    pub threads_max: usize,
    /// Share of the threads' time spent working, 0 to 1 (`sedaflow_stage_utilization_ratio`).
    pub utilization: f64,
}

/// The owner's side of an external stage's queue: how it reads now.
///
/// Called at each scrape, report and [`QueueProbe`](crate::QueueProbe) reading, from any
/// thread: keep it cheap (a few atomic loads). A closure returning [`ExternalGauges`] is one.
///
/// # Examples
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
/// use std::sync::Arc;
/// use sedaflow::{ExternalGauges, ExternalQueue};
///
/// /// Connections with input ready and no event loop free to read them.
/// #[derive(Default)]
/// struct ReadyConnections(AtomicUsize);
///
/// impl ExternalQueue for ReadyConnections {
///     fn gauges(&self) -> ExternalGauges {
///         ExternalGauges {
///             depth: self.0.load(Relaxed),
///             capacity: 10_000,
///             threads: 2,
///             ..Default::default()
///         }
///     }
/// }
///
/// let ready = Arc::new(ReadyConnections::default());
/// ready.0.store(3, Relaxed);
/// assert_eq!(ready.gauges().depth, 3);
/// let fixed = || ExternalGauges { capacity: 8, ..Default::default() };
/// assert_eq!(fixed.gauges().capacity, 8);
/// ```
pub trait ExternalQueue: Send + Sync + 'static {
    /// The queue's and threads' state now.
    fn gauges(&self) -> ExternalGauges;
}

impl<F> ExternalQueue for F
where
    F: Fn() -> ExternalGauges + Send + Sync + 'static,
{
    fn gauges(&self) -> ExternalGauges {
        self()
    }
}

/// Reads `queue`, keeping its depth in the stage's peaks (the engine's queues note their
/// depth as they fill; an external one is seen only when read).
pub(crate) fn read(queue: &dyn ExternalQueue, stats: &StageStats) -> ExternalGauges {
    let g = queue.gauges();
    stats.note_depth(g.depth);
    g
}
