//! Handles for publishing into a pipeline from outside it (threads or async tasks).

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::event::Event;
use crate::queue::{handoff, OfferError, Offered, Origin, Published, Wait};

use super::dead_letter::DeadReason;
use super::route::{Bus, Route, Target};

/// Publishes events of type `T` (on one topic) to their subscriber stages, applying each
/// receiving stage's admission policy. Cheap to clone; usable from any thread.
///
/// Naming follows tokio: `try_` never waits, `blocking_` parks the thread, and the `async`
/// methods park the task, never a tokio worker.
///
/// # Outcomes
/// Every call says what became of its events. A full queue hands them back in an
/// [`OfferError`]: `try_` calls get `Full` whatever the queue's policy (they never wait and
/// never drop), the others get `Full` from a `Reject` queue and `Timeout` when a `Block`
/// queue's deadline passed. Otherwise the call returns [`Published`], which counts the
/// events a full `DropNewest`/`DropOldest` queue dropped ([`Published::is_dropped`]).
///
/// With several subscribers (fan-out) every one gets a copy; if more than one refuses, the
/// caller gets the first refusal's events and the others are dead-lettered as refused.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use sedaflow::{handler_fn, Batch, OfferError, Pipeline, Published};
///
/// let mut p = Pipeline::builder();
/// p.stage("sink", || handler_fn(|b: &mut Batch<'_, u32>, _ctx| b.for_each(drop)))
///     .capacity(2);
/// let pipeline = p.build()?;
/// let input = pipeline.publisher::<u32>()?;
/// // Not started: the queue fills up and `try_` hands the third event back.
/// let two = Published { enqueued: 2, ..Published::default() };
/// assert_eq!(input.try_publish_batch(&mut vec![1, 2]), Ok(two));
/// assert_eq!(input.try_publish(3), Err(OfferError::Full(3)));
/// pipeline.start();
/// input.clone().blocking_publish(4).unwrap(); // waits for room
/// let report = pipeline.shutdown(Duration::from_secs(5));
/// assert_eq!(input.try_publish(5), Err(OfferError::Closed(5)));
/// assert_eq!(report.stage("sink").unwrap().processed, 3);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Publisher<T> {
    route: Arc<Route<T>>,
    bus: Arc<Bus>,
    caller_runs: bool,
}

impl<T> Clone for Publisher<T> {
    fn clone(&self) -> Self {
        Publisher {
            route: self.route.clone(),
            bus: self.bus.clone(),
            caller_runs: self.caller_runs,
        }
    }
}

impl<T> std::fmt::Debug for Publisher<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("event_type", &std::any::type_name::<T>())
            .field("topic", &self.route.topic)
            .finish()
    }
}

impl<T: Event> Publisher<T> {
    pub(crate) fn new(route: Route<T>, bus: Arc<Bus>) -> Self {
        Publisher {
            route: Arc::new(route),
            bus,
            caller_runs: false,
        }
    }

    /// With `on`, the async publish methods and [`Publisher::try_publish_batch`] run the batch
    /// through the stages that allow hand-off (`StageConfig::handoff`) on the calling thread,
    /// as a pool worker would, instead of waking a pool: one thread switch less per hop. For
    /// async producers whose downstream handlers never block (they would block the executor's
    /// thread); a full queue still makes the task wait, not the thread. `try_publish_batch`
    /// returns only once that work is done, so the caller can act on its results right away
    /// (the order server's readers flush their connections' answers then).
    pub fn caller_runs(mut self, on: bool) -> Self {
        self.caller_runs = on;
        self
    }

    /// Offers one event without waiting; never drops it.
    ///
    /// # Errors
    /// `Full` when a receiving queue has no room, whatever its policy (`Block`, `Reject`,
    /// `DropNewest` or `DropOldest`); `Closed` once the pipeline stopped taking outside
    /// events. The event is handed back.
    pub fn try_publish(&self, event: T) -> Result<Published, OfferError<T>> {
        single(self.deliver(&mut vec![event], Wait::Never))
    }

    /// Offers one event, parking the thread while a `Block` queue is full, until `timeout`.
    /// A full `DropNewest`/`DropOldest` queue drops as its policy says, and the returned
    /// [`Published`] tells.
    ///
    /// # Errors
    /// `Full` from a `Reject` queue, `Timeout` when the deadline passed, `Closed` when the
    /// pipeline stopped taking outside events.
    pub fn blocking_publish_timeout(
        &self,
        event: T,
        timeout: Duration,
    ) -> Result<Published, OfferError<T>> {
        single(self.deliver(
            &mut vec![event],
            Wait::Until(Some(Instant::now() + timeout)),
        ))
    }

    /// Offers one event, parking the thread for as long as a `Block` queue is full.
    ///
    /// # Errors
    /// As [`Publisher::blocking_publish_timeout`], without `Timeout`.
    pub fn blocking_publish(&self, event: T) -> Result<Published, OfferError<T>> {
        single(self.deliver(&mut vec![event], Wait::Until(None)))
    }

    /// Offers a batch without waiting: what fits is taken (in order), the rest handed back,
    /// never dropped.
    ///
    /// # Errors
    /// As [`Publisher::try_publish`], with the events not taken.
    pub fn try_publish_batch(&self, events: &mut Vec<T>) -> Result<Published, OfferError<Vec<T>>> {
        if self.caller_runs {
            return handoff::caller_runs(|| self.deliver(events, Wait::Never));
        }
        self.deliver(events, Wait::Never)
    }

    /// Offers a batch, parking the thread for as long as a `Block` queue is full.
    ///
    /// # Errors
    /// As [`Publisher::blocking_publish`], with the events not taken.
    pub fn blocking_publish_batch(
        &self,
        events: &mut Vec<T>,
    ) -> Result<Published, OfferError<Vec<T>>> {
        self.deliver(events, Wait::Until(None))
    }

    /// Offers a batch, parking the thread while a `Block` queue is full for at most
    /// `timeout` (like [`Publisher::blocking_publish_timeout`]).
    ///
    /// # Errors
    /// As [`Publisher::blocking_publish_timeout`], with the events not taken.
    pub fn blocking_publish_batch_timeout(
        &self,
        events: &mut Vec<T>,
        timeout: Duration,
    ) -> Result<Published, OfferError<Vec<T>>> {
        self.deliver(events, Wait::Until(Some(Instant::now() + timeout)))
    }

    /// Offers one event, awaiting room in a `Block` queue without blocking the executor.
    ///
    /// # Errors
    /// As [`Publisher::blocking_publish`].
    pub async fn publish(&self, event: T) -> Result<Published, OfferError<T>> {
        single(self.publish_batch(&mut vec![event]).await)
    }

    /// Offers a batch, awaiting room in `Block` queues without blocking the executor.
    ///
    /// # Errors
    /// As [`Publisher::blocking_publish_batch`].
    pub async fn publish_batch(
        &self,
        events: &mut Vec<T>,
    ) -> Result<Published, OfferError<Vec<T>>> {
        let Some((last, rest)) = self.route.targets.split_last() else {
            return self.deliver(events, Wait::Never);
        };
        let mut done = Published::default();
        if self.caller_runs && rest.is_empty() {
            // What fits goes in and runs here; the rest (a full queue) takes the waiting path.
            let offered = events.len();
            match handoff::caller_runs(|| self.deliver(events, Wait::Never)) {
                Err(OfferError::Full(mut left)) => {
                    done.enqueued = offered - left.len();
                    *events = std::mem::take(&mut left);
                }
                done => return done,
            }
        }
        let mut first_err = None;
        for target in rest {
            let mut copy = self.route.copy(events);
            done.add(self.offer_async(target, &mut copy, &mut first_err).await);
        }
        done.add(self.offer_async(last, events, &mut first_err).await);
        first_err.map_or(Ok(done), Err)
    }

    async fn offer_async(
        &self,
        target: &Target<T>,
        events: &mut Vec<T>,
        first_err: &mut Option<OfferError<Vec<T>>>,
    ) -> Published {
        let result = match target {
            Target::Queue(q, _) => q.offer_async(events, Origin::External).await,
            Target::Direct(_) | Target::Unroutable => {
                let dropped = events.len();
                self.bus.dead.record(
                    events.drain(..),
                    self.route.topic,
                    None,
                    DeadReason::Unroutable,
                );
                Ok(Published {
                    dropped,
                    ..Published::default()
                })
            }
        };
        self.keep_first(result, first_err)
    }

    /// Keeps the first refusal for the caller and dead-letters the later ones (fan-out).
    fn keep_first(&self, result: Offered<T>, first: &mut Option<OfferError<Vec<T>>>) -> Published {
        match result {
            Ok(done) => done,
            Err(e) => {
                self.refused(e, first);
                Published::default()
            }
        }
    }

    fn refused(&self, e: OfferError<Vec<T>>, first: &mut Option<OfferError<Vec<T>>>) {
        if first.is_none() {
            *first = Some(e);
        } else {
            let reason = e.reason();
            self.bus.dead.record(
                e.into_inner().into_iter(),
                self.route.topic,
                None,
                DeadReason::Refused(reason),
            );
        }
    }

    fn deliver(&self, events: &mut Vec<T>, wait: Wait) -> Offered<T> {
        let mut refused = Vec::new();
        let done = self.route.deliver(
            &self.bus.dead,
            None,
            events,
            wait,
            Origin::External,
            &mut |_, events| {
                self.bus.dead.record(
                    events.drain(..),
                    self.route.topic,
                    None,
                    DeadReason::Unroutable,
                )
            },
            &mut refused,
        );
        let mut first = None;
        for (_, e) in refused {
            self.refused(e, &mut first);
        }
        first.map_or(Ok(done), Err)
    }
}

fn single<T>(r: Offered<T>) -> Result<Published, OfferError<T>> {
    r.map_err(|e| {
        e.map(|mut v| {
            v.pop()
                .expect("a refused single offer hands back its event")
        })
    })
}
