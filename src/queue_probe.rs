//! A live reading of one queue, for admission control outside the pipeline.

use std::fmt;
use std::sync::Arc;

use crate::domain::DomainTask;
use crate::external::{self, ExternalQueue};
use crate::stats::StageStats;

/// Reads one queue's depth: one atomic load, cheap enough to call per batch from any thread
/// (for an external stage, one call of its owner's [`ExternalQueue::gauges`]).
///
/// Got from [`Pipeline::queue_probe`](crate::Pipeline::queue_probe).
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use sedaflow::{handler_fn, Batch, Pipeline};
///
/// let mut p = Pipeline::builder();
/// p.stage("count", || handler_fn(|batch: &mut Batch<'_, u32>, _ctx| batch.for_each(drop)))
///     .capacity(8);
/// let pipeline = p.build()?;
/// let probe = pipeline.queue_probe("count").unwrap();
/// let input = pipeline.publisher::<u32>()?;
/// input.try_publish(7).unwrap(); // not started yet: it waits in the queue
/// assert_eq!((probe.len(), probe.backlog(), probe.capacity()), (1, 1, 8));
/// assert!(!probe.is_empty());
/// let report = pipeline.shutdown(Duration::from_secs(5));
/// assert!(probe.is_empty());
/// assert_eq!(report.stage("count").unwrap().processed, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct QueueProbe {
    queue: Probed,
    entry: Arc<StageStats>,
}

/// The queue read: an engine domain's, or an external stage owner's.
#[derive(Clone)]
enum Probed {
    Domain(Arc<dyn DomainTask>),
    External(Arc<dyn ExternalQueue>),
}

impl QueueProbe {
    pub(crate) fn domain(task: Arc<dyn DomainTask>, entry: Arc<StageStats>) -> Self {
        QueueProbe {
            queue: Probed::Domain(task),
            entry,
        }
    }

    pub(crate) fn external(queue: Arc<dyn ExternalQueue>, entry: Arc<StageStats>) -> Self {
        QueueProbe {
            queue: Probed::External(queue),
            entry,
        }
    }

    /// Events queued now.
    pub fn len(&self) -> usize {
        match &self.queue {
            Probed::Domain(task) => task.queue_len(),
            Probed::External(queue) => external::read(&**queue, &self.entry).depth,
        }
    }

    /// Events queued now or taken by the stage and not yet handed on: what admission control
    /// counts, since a batch being handled has left the queue but not yet reached the next.
    pub fn backlog(&self) -> usize {
        usize::try_from(self.entry.held()).unwrap_or(usize::MAX)
    }

    /// Whether the queue is empty now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The queue's capacity.
    pub fn capacity(&self) -> usize {
        match &self.queue {
            Probed::Domain(task) => task.capacity(),
            Probed::External(queue) => queue.gauges().capacity,
        }
    }
}

impl fmt::Debug for QueueProbe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueueProbe")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .finish()
    }
}
