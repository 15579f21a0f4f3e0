//! What the engine reads of an external stage's queue and threads: its owner's gauges.

use std::sync::atomic::Ordering::Relaxed;
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

/// An external stage's counts as its owner keeps them ([`ExternalQueue::counts`]): totals
/// since the stage started, each never decreasing.
///
/// # Examples
/// ```
/// use sedaflow::ExternalCounts;
///
/// let c = ExternalCounts { enqueued: 10, processed: 7, rejected: 1, ..Default::default() };
/// // 10 taken in: 7 handed on, 3 still held (the depth the owner's gauges report).
/// assert_eq!(c.enqueued - c.processed - c.dropped_oldest - c.failed, 3);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExternalCounts {
    /// Taken in (`sedaflow_stage_events_enqueued_total`).
    pub enqueued: u64,
    /// Handed on or done (`sedaflow_stage_events_processed_total`).
    pub processed: u64,
    /// Refused with a reason, never taken in (`sedaflow_stage_events_rejected_total`).
    pub rejected: u64,
    /// Dropped on arrival, never taken in (`reason="newest"`).
    pub dropped_newest: u64,
    /// Taken in, then discarded (`reason="oldest"`).
    pub dropped_oldest: u64,
    /// Failed with an error (`sedaflow_stage_events_failed_total`).
    pub failed: u64,
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

    /// The stage's counts, for an owner that keeps its own (per thread, say, and summed
    /// here, so its threads never contend on one counter). Read with the gauges, so a
    /// depth derived from the same counts stays consistent with them. `None` (the default):
    /// the counts are what the [`ExternalStage`](crate::ExternalStage) handle was told.
    fn counts(&self) -> Option<ExternalCounts> {
        None
    }
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
/// Counts the owner keeps itself become the stage's (read before the gauges).
pub(crate) fn read(queue: &dyn ExternalQueue, stats: &StageStats) -> ExternalGauges {
    if let Some(c) = queue.counts() {
        let (p, k) = (&stats.produce, &stats.consume);
        p.enqueued.store(c.enqueued, Relaxed);
        p.rejected.store(c.rejected, Relaxed);
        p.dropped_newest.store(c.dropped_newest, Relaxed);
        p.dropped_oldest.store(c.dropped_oldest, Relaxed);
        k.processed.store(c.processed, Relaxed);
        k.failed.store(c.failed, Relaxed);
    }
    let g = queue.gauges();
    stats.note_depth(g.depth);
    g
}
