//! Errors of the bus: events handed back to whoever offered them.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use thiserror::Error;

use crate::event::Event;

/// Events a downstream stage refused, handed back to the emitting handler through
/// [`Handler::bounced`](crate::Handler::bounced).
///
/// # Examples
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
/// use std::time::Duration;
/// use sedaflow::{handler_fn, Batch, Bounced, Context, Handler, Pipeline, WhenFull};
///
/// struct Split(Arc<AtomicUsize>);
/// impl Handler for Split {
///     type In = u32;
///     fn handle(&mut self, batch: &mut Batch<'_, u32>, ctx: &mut Context<'_>) {
///         for n in batch {
///             ctx.emit_all([u64::from(n), u64::from(n)]);
///         }
///     }
///     fn bounced(&mut self, bounced: Bounced, _ctx: &mut Context<'_>) {
///         assert_eq!((&*bounced.stage, bounced.reason, bounced.len()), ("tiny", "full", 1));
///         let events = bounced.take::<u64>().unwrap();
///         self.0.fetch_add(events.len(), Ordering::Relaxed);
///     }
/// }
///
/// let answered = Arc::new(AtomicUsize::new(0));
/// let mut p = Pipeline::builder();
/// let seen = answered.clone();
/// p.stage("split", move || Split(seen.clone()));
/// // Room for one: the second event of the pair is refused at once.
/// p.stage("tiny", || handler_fn(|b: &mut Batch<'_, u64>, _ctx| b.for_each(drop)))
///     .capacity(1)
///     .when_full(WhenFull::Reject);
/// let pipeline = p.build()?;
/// let input = pipeline.publisher::<u32>()?;
/// pipeline.start();
/// input.blocking_publish(7).unwrap();
/// let report = pipeline.shutdown(Duration::from_secs(5));
/// assert_eq!(answered.load(Ordering::Relaxed), 1);
/// assert_eq!(report.stage("tiny").unwrap().rejected, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Bounced {
    /// The stage that refused them.
    pub stage: Arc<str>,
    /// `full`, `timeout` or `closed`.
    pub reason: &'static str,
    /// The events' Rust type name.
    pub event_type: &'static str,
    /// The topic they were emitted on.
    pub topic: Option<&'static str>,
    events: Box<dyn Any + Send>,
    len: usize,
}

impl Bounced {
    pub(crate) fn new<T: Event>(
        stage: Arc<str>,
        reason: &'static str,
        topic: Option<&'static str>,
        events: Vec<T>,
    ) -> Self {
        Bounced {
            stage,
            reason,
            event_type: std::any::type_name::<T>(),
            topic,
            len: events.len(),
            events: Box::new(events),
        }
    }

    /// How many events bounced.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The events, if they are of type `T`; otherwise `self` back.
    ///
    /// # Errors
    /// Returns `self` unchanged when the events are of another type.
    pub fn take<T: Event>(self) -> Result<Vec<T>, Self> {
        if self.events.is::<Vec<T>>() {
            match self.events.downcast::<Vec<T>>() {
                Ok(v) => Ok(*v),
                Err(_) => unreachable!("type checked above"),
            }
        } else {
            Err(self)
        }
    }

    pub(crate) fn into_parts(self) -> (Box<dyn Any + Send>, usize) {
        (self.events, self.len)
    }
}

impl fmt::Debug for Bounced {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bounced")
            .field("stage", &self.stage)
            .field("reason", &self.reason)
            .field("event_type", &self.event_type)
            .field("len", &self.len)
            .finish()
    }
}

/// Why a publisher could not be made.
///
/// # Examples
/// ```
/// use sedaflow::{handler_fn, Batch, Pipeline, PublisherError};
///
/// let mut p = Pipeline::builder();
/// p.stage("parse", || handler_fn(|b: &mut Batch<'_, String>, ctx| {
///     ctx.emit_all(b.drain().map(|s| s.len() as u64));
/// }));
/// p.stage("sum", || handler_fn(|b: &mut Batch<'_, u64>, _ctx| b.for_each(drop)));
/// p.fuse(["parse", "sum"]); // `sum` has no queue of its own now
/// let pipeline = p.build()?;
/// assert!(pipeline.publisher::<String>().is_ok());
/// assert_eq!(
///     pipeline.publisher::<u64>().unwrap_err(),
///     PublisherError::Unroutable { event_type: "u64" }
/// );
/// assert_eq!(
///     pipeline.publisher::<u32>().unwrap_err(),
///     PublisherError::NoSubscriber { event_type: "u32" }
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Error, PartialEq, Eq)]
pub enum PublisherError {
    /// No stage takes events of this type (and topic): every publish would be a dead letter,
    /// so a typo in the type is refused when the publisher is made.
    #[error("no stage subscribes to {event_type}")]
    NoSubscriber {
        /// The event type.
        event_type: &'static str,
    },
    /// The only subscribers are fused behind another stage, so they have no queue to publish to.
    #[error(
        "subscribers of {event_type} are fused behind other stages and take no outside events"
    )]
    Unroutable {
        /// The event type.
        event_type: &'static str,
    },
}
