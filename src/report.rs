//! What a pipeline did: per-stage counts, dead letters, and whether shutdown drained it.
//!
//! # Accounting
//! Every event offered to a stage is accounted for exactly once: `offered = enqueued +
//! rejected + dropped_newest`, and `enqueued = processed + panicked + failed + dropped_oldest
//! + queued`. After a full drain both hold for every stage ([`Report::is_balanced`]).

use std::fmt;
use std::time::Duration;

use crate::stage::{locate, StageRef};

/// Counts of one stage. After a full drain, `is_balanced` holds for every stage.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use sedaflow::{handler_fn, Batch, Pipeline};
///
/// let mut p = Pipeline::builder();
/// p.stage("sink", || handler_fn(|batch: &mut Batch<'_, u32>, _ctx| batch.for_each(drop)));
/// let pipeline = p.build()?;
/// let input = pipeline.publisher::<u32>()?;
/// pipeline.start();
/// input.blocking_publish(1).unwrap();
/// let report = pipeline.shutdown(Duration::from_secs(5));
/// let sink = report.stage("sink").unwrap();
/// assert_eq!((sink.offered, sink.enqueued, sink.processed, sink.queued), (1, 1, 1, 0));
/// assert_eq!(sink.domain, "sink");
/// assert!(sink.is_balanced());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct StageReport {
    /// Stage name.
    pub name: String,
    /// Name of its domain (the domain's entry stage).
    pub domain: String,
    /// Events offered to the stage.
    pub offered: u64,
    /// Events taken into its queue (or handed in directly, when fused).
    pub enqueued: u64,
    /// Events handed back to producers (full, timed out, closed).
    pub rejected: u64,
    /// Arriving events dropped by `DropNewest`.
    pub dropped_newest: u64,
    /// Queued events evicted by `DropOldest`.
    pub dropped_oldest: u64,
    /// Events the handler processed.
    pub processed: u64,
    /// Events whose handling panicked.
    pub panicked: u64,
    /// Events the handler failed with an application error (dead-lettered with it).
    pub failed: u64,
    /// Events still queued, including those a batch cut short by the shutdown deadline left
    /// untaken (never counted as processed).
    pub queued: u64,
    /// Highest queue depth seen.
    pub peak_depth: usize,
    /// Threads of its domain's pool.
    pub threads: usize,
    /// Its domain's batch limit.
    pub batch_limit: usize,
    /// P99 per-event service time (per batch samples).
    pub service_p99: Option<Duration>,
    /// P99 queue wait of the oldest event of each batch.
    pub queue_wait_p99: Option<Duration>,
    /// Time producers spent blocked on the full queue.
    pub blocked: Duration,
}

impl StageReport {
    /// offered = enqueued + rejected + dropped_newest, and
    /// enqueued = processed + panicked + failed + dropped_oldest + queued.
    pub fn is_balanced(&self) -> bool {
        let handled = self.processed + self.panicked + self.failed;
        self.offered == self.enqueued + self.rejected + self.dropped_newest
            && self.enqueued == handled + self.dropped_oldest + self.queued
    }
}

/// Dead letters of one type and reason.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use sedaflow::{handler_fn, Batch, Pipeline};
///
/// let mut p = Pipeline::builder();
/// // Emits `u64`s nobody subscribes to: each becomes a dead letter.
/// p.stage("orphan", || handler_fn(|batch: &mut Batch<'_, u32>, ctx| {
///     for n in batch {
///         ctx.emit(u64::from(n));
///     }
/// }));
/// let pipeline = p.build()?;
/// let input = pipeline.publisher::<u32>()?;
/// pipeline.start();
/// input.blocking_publish(1).unwrap();
/// let report = pipeline.shutdown(Duration::from_secs(5));
/// let dead = &report.dead_letters[0];
/// assert_eq!((dead.event_type, dead.reason, dead.count), ("u64", "no_subscriber", 1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetterCount {
    /// The event's Rust type name.
    pub event_type: &'static str,
    /// The reason label.
    pub reason: &'static str,
    /// How many.
    pub count: u64,
}

/// What a pipeline did: per stage counts, dead letters, and whether shutdown drained it.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use sedaflow::{handler_fn, Batch, Pipeline};
///
/// let mut p = Pipeline::builder();
/// p.stage("double", || handler_fn(|batch: &mut Batch<'_, u32>, ctx| {
///     for n in batch {
///         ctx.emit(u64::from(n) * 2);
///     }
/// }));
/// p.stage("sink", || handler_fn(|batch: &mut Batch<'_, u64>, _ctx| batch.for_each(drop)));
/// let pipeline = p.build()?;
/// let input = pipeline.publisher::<u32>()?;
/// pipeline.start();
/// input.blocking_publish(21).unwrap();
/// let report = pipeline.shutdown(Duration::from_secs(5));
/// assert!(report.drained && report.is_balanced());
/// assert_eq!(report.stages.len(), 2);
/// assert_eq!(report.stage("sink").unwrap().processed, 1);
/// assert!(report.stage("nope").is_none());
/// assert!(report.to_string().starts_with("stage"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Stages in pipeline order.
    pub stages: Vec<StageReport>,
    /// Dead letters by type and reason.
    pub dead_letters: Vec<DeadLetterCount>,
    /// Whether every queue was empty at the end.
    pub drained: bool,
    /// How long shutdown took.
    pub elapsed: Duration,
}

impl Report {
    /// The report of `stage`: its [`StageId`](crate::StageId) or its name.
    pub fn stage<S: StageRef + ?Sized>(&self, stage: &S) -> Option<&StageReport> {
        let at = locate(stage, self.stages.iter().map(|s| s.name.as_str()))?;
        self.stages.get(at)
    }

    /// Whether every stage's accounting balances.
    pub fn is_balanced(&self) -> bool {
        self.stages.iter().all(StageReport::is_balanced)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<12} {:<10} {:>10} {:>10} {:>8} {:>8} {:>8} {:>8} {:>7} {:>7} {:>6} {:>11}",
            "stage",
            "domain",
            "enqueued",
            "processed",
            "rejected",
            "dropped",
            "panicked",
            "failed",
            "queued",
            "peak",
            "thr",
            "p99 service"
        )?;
        for s in &self.stages {
            let p99 = s
                .service_p99
                .map_or_else(|| "-".to_owned(), |d| format!("{:.1?}", d));
            writeln!(
                f,
                "{:<12} {:<10} {:>10} {:>10} {:>8} {:>8} {:>8} {:>8} {:>7} {:>7} {:>6} {:>11}",
                s.name,
                s.domain,
                s.enqueued,
                s.processed,
                s.rejected,
                s.dropped_newest + s.dropped_oldest,
                s.panicked,
                s.failed,
                s.queued,
                s.peak_depth,
                s.threads,
                p99
            )?;
        }
        for d in &self.dead_letters {
            writeln!(
                f,
                "dead letters: {} × {} ({})",
                d.count, d.event_type, d.reason
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
