//! The owner's handle on an external stage's counters.

use std::fmt;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use crate::stage::StageId;
use crate::stats::StageStats;

/// Counts what an external stage does: its owner adds, the engine's scrapes and reports read.
///
/// Got from [`ExternalStageBuilder::handle`](crate::ExternalStageBuilder::handle) before the
/// pipeline is built, and valid after (clones share the counters). Each call is one relaxed
/// atomic add: count per batch, not per event.
///
/// # Accounting
/// - [`enqueued`](Self::enqueued): taken in (read off a socket, accepted for writing);
/// - [`rejected`](Self::rejected): refused and handed back to its sender;
/// - [`dropped_newest`](Self::dropped_newest): dropped on arrival, never taken in;
/// - [`processed`](Self::processed): handed on (to the next stage, to the socket);
/// - [`failed`](Self::failed): taken in, then failed (an error answered or logged);
/// - [`dropped`](Self::dropped): taken in, then discarded before being handed on (output of a
///   closed connection; reported as `dropped_oldest`, the series' `reason="oldest"`).
///
/// # Examples
/// ```
/// use std::sync::Arc;
/// use sedaflow::{ExternalGauges, Pipeline};
///
/// let mut p = Pipeline::builder();
/// let net = p.external_stage("net_read", Arc::new(ExternalGauges::default)).handle();
/// let pipeline = p.build()?;
/// net.enqueued(10);
/// net.processed(8);
/// net.failed(1);
/// net.dropped(1);
/// net.rejected(2);
/// let report = pipeline.report();
/// let stage = report.stage(&net.id()).unwrap();
/// assert_eq!((stage.offered, stage.enqueued, stage.processed), (12, 10, 8));
/// assert_eq!((stage.failed, stage.dropped_oldest, stage.rejected), (1, 1, 2));
/// assert!(stage.is_balanced());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct ExternalStage {
    id: StageId,
    stats: Arc<StageStats>,
}

impl ExternalStage {
    pub(crate) fn new(id: StageId, stats: Arc<StageStats>) -> Self {
        ExternalStage { id, stats }
    }

    pub(crate) fn stats(&self) -> &Arc<StageStats> {
        &self.stats
    }

    /// The stage's id, for lookups in the built pipeline and its reports.
    pub fn id(&self) -> StageId {
        self.id.clone()
    }

    /// `n` events taken into the stage.
    pub fn enqueued(&self, n: u64) {
        self.stats.produce.enqueued.fetch_add(n, Relaxed);
    }

    /// `n` events handed on.
    pub fn processed(&self, n: u64) {
        self.stats.consume.processed.fetch_add(n, Relaxed);
    }

    /// `n` events refused and handed back to their sender (not taken in).
    pub fn rejected(&self, n: u64) {
        self.stats.produce.rejected.fetch_add(n, Relaxed);
    }

    /// `n` events taken in, then discarded before being handed on.
    pub fn dropped(&self, n: u64) {
        self.stats.produce.dropped_oldest.fetch_add(n, Relaxed);
    }

    /// `n` events dropped on arrival (not taken in).
    pub fn dropped_newest(&self, n: u64) {
        self.stats.produce.dropped_newest.fetch_add(n, Relaxed);
    }

    /// `n` events taken in, then failed.
    pub fn failed(&self, n: u64) {
        self.stats.consume.failed.fetch_add(n, Relaxed);
    }
}

impl fmt::Debug for ExternalStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExternalStage")
            .field("id", &self.id)
            .field("enqueued", &self.stats.produce.enqueued.load(Relaxed))
            .field("processed", &self.stats.consume.processed.load(Relaxed))
            .finish_non_exhaustive()
    }
}
