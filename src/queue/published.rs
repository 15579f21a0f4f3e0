//! What became of published events that were not handed back.

/// The outcome of a publish whose events were not handed back: how many a queue took in and
/// how many were dropped. A `Block` or `Reject` queue never drops, so there `dropped` and
/// `evicted` stay zero; on a full `DropNewest`/`DropOldest` queue the blocking and async
/// publish calls drop as the policy says and tell it here (`try_` calls never drop: they
/// hand the events back with [`OfferError::Full`](crate::OfferError::Full)). With fan-out
/// the counts are of copies, summed over the subscribers.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use sedaflow::{handler_fn, Batch, OfferError, Pipeline, Published, WhenFull};
///
/// let mut p = Pipeline::builder();
/// p.stage("sink", || handler_fn(|b: &mut Batch<'_, u32>, _ctx| b.for_each(drop)))
///     .capacity(1)
///     .when_full(WhenFull::DropNewest);
/// let pipeline = p.build()?;
/// let input = pipeline.publisher::<u32>()?;
/// // Not started: the first event fills the queue.
/// assert_eq!(input.blocking_publish(1), Ok(Published::ENQUEUED));
/// assert_eq!(input.try_publish(2), Err(OfferError::Full(2)), "try_ never drops");
/// let dropped = input.blocking_publish(3)?;
/// assert!(dropped.is_dropped());
/// assert_eq!(dropped, Published { enqueued: 0, dropped: 1, evicted: 0 });
/// let report = pipeline.shutdown(Duration::from_secs(5));
/// assert_eq!(report.stage("sink").unwrap().dropped_newest, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Published {
    /// Events taken into a queue (or handed to a fused stage directly).
    pub enqueued: usize,
    /// Published events that will not be handled: dropped on arrival by a full `DropNewest`
    /// queue, evicted at once by a `DropOldest` queue smaller than the batch, or
    /// dead-lettered for a subscriber that takes no outside events.
    pub dropped: usize,
    /// Older queued events a full `DropOldest` queue evicted to take these in.
    pub evicted: usize,
}

impl Published {
    /// One event, taken in.
    pub const ENQUEUED: Published = Published {
        enqueued: 1,
        dropped: 0,
        evicted: 0,
    };

    /// Whether any published event (or fan-out copy) was dropped.
    pub fn is_dropped(&self) -> bool {
        self.dropped > 0
    }

    /// Both outcomes together (fan-out: one per subscriber).
    pub(crate) fn add(&mut self, o: Published) {
        self.enqueued += o.enqueued;
        self.dropped += o.dropped;
        self.evicted += o.evicted;
    }
}
