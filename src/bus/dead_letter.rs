//! Events the bus could not deliver or a handler could not process, like Guava's `DeadEvent`.

use std::any::Any;
use std::collections::HashMap;
use std::error::Error;
use std::fmt;
use std::sync::Arc;

use parking_lot::Mutex;

/// Why an event became a dead letter.
///
/// # Examples
/// ```
/// use sedaflow::DeadReason;
///
/// assert_eq!(DeadReason::NoSubscriber.label(), "no_subscriber");
/// assert_eq!(DeadReason::Panicked("boom".into()).label(), "panicked");
/// assert_eq!(DeadReason::Refused("full").label(), "refused");
/// assert_eq!(DeadReason::Failed("no such account".into()).label(), "failed");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeadReason {
    /// No stage subscribes to the event's type (and topic).
    NoSubscriber,
    /// The subscriber is fused behind another stage and cannot take events from elsewhere.
    Unroutable,
    /// The handler panicked on it (the message is the panic's).
    Panicked(String),
    /// Its key was quarantined after an earlier panic.
    Quarantined,
    /// A downstream stage refused it (`full`, `timeout` or `closed`) and the emitting handler
    /// did not take it back.
    Refused(&'static str),
    /// The handler failed it with an application error
    /// ([`Context::fail`](crate::Context::fail), a [`TryHandler`](crate::TryHandler)'s `Err`).
    Failed(HandlerError),
}

impl DeadReason {
    /// The label used in metrics.
    pub fn label(&self) -> &'static str {
        match self {
            DeadReason::NoSubscriber => "no_subscriber",
            DeadReason::Unroutable => "unroutable",
            DeadReason::Panicked(_) => "panicked",
            DeadReason::Quarantined => "quarantined",
            DeadReason::Refused(_) => "refused",
            DeadReason::Failed(_) => "failed",
        }
    }
}

/// The application error a handler failed an event with: any error, shared so that every
/// copy of the dead letter carries it. Two compare equal when their messages do.
///
/// # Examples
/// ```
/// use sedaflow::HandlerError;
///
/// #[derive(Debug, thiserror::Error)]
/// #[error("account {0} is closed")]
/// struct Closed(u32);
///
/// let error = HandlerError::from(Closed(7));
/// assert_eq!(error.to_string(), "account 7 is closed");
/// assert_eq!(error.downcast_ref::<Closed>().map(|c| c.0), Some(7));
/// assert_eq!(error, HandlerError::from("account 7 is closed"));
/// ```
#[derive(Clone)]
pub struct HandlerError(Arc<dyn Error + Send + Sync>);

impl HandlerError {
    /// The error as its own type, if it is an `E`.
    pub fn downcast_ref<E: Error + 'static>(&self) -> Option<&E> {
        self.0.downcast_ref()
    }
}

impl<E: Into<Box<dyn Error + Send + Sync>>> From<E> for HandlerError {
    fn from(error: E) -> Self {
        HandlerError(Arc::from(error.into()))
    }
}

impl fmt::Debug for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl PartialEq for HandlerError {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

impl Eq for HandlerError {}

/// One dead letter as handed to a dead-letter handler.
///
/// # Examples
/// ```
/// use std::sync::{Arc, Mutex};
/// use std::time::Duration;
/// use sedaflow::{handler_fn, Batch, DeadLetter, DeadReason, Pipeline};
///
/// let dead: Arc<Mutex<Vec<DeadLetter>>> = Arc::default();
/// let mut p = Pipeline::builder();
/// p.stage("orphan", || handler_fn(|batch: &mut Batch<'_, u32>, ctx| {
///     for n in batch {
///         ctx.emit(u64::from(n)); // nobody takes `u64`
///     }
/// }));
/// let sink = dead.clone();
/// p.on_dead_letter(move |letter| sink.lock().unwrap().push(letter));
/// let pipeline = p.build()?;
/// let input = pipeline.publisher::<u32>()?;
/// pipeline.start();
/// input.blocking_publish(9).unwrap();
/// pipeline.shutdown(Duration::from_secs(5));
/// let letter = dead.lock().unwrap().pop().unwrap();
/// assert_eq!(letter.reason, DeadReason::NoSubscriber);
/// assert_eq!(letter.stage.as_deref(), Some("orphan"));
/// assert_eq!(letter.event.unwrap().downcast::<u64>().ok().map(|b| *b), Some(9));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct DeadLetter {
    /// The event's Rust type name.
    pub event_type: &'static str,
    /// The topic it was published on.
    pub topic: Option<&'static str>,
    /// The stage that emitted or failed on it (`None`: an outside publisher).
    pub stage: Option<Arc<str>>,
    /// Why it is dead.
    pub reason: DeadReason,
    /// The event itself, when the bus still owned it (a panicked event was consumed).
    pub event: Option<Box<dyn Any + Send>>,
}

impl fmt::Debug for DeadLetter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeadLetter")
            .field("event_type", &self.event_type)
            .field("topic", &self.topic)
            .field("stage", &self.stage)
            .field("reason", &self.reason)
            .field("has_event", &self.event.is_some())
            .finish()
    }
}

pub(crate) type DeadLetterFn = Arc<dyn Fn(DeadLetter) + Send + Sync>;

/// Counts dead letters per (type, reason) and hands them to the optional handler.
pub(crate) struct DeadLetters {
    counts: Mutex<HashMap<(&'static str, &'static str), u64>>,
    handler: Option<DeadLetterFn>,
}

impl DeadLetters {
    pub(crate) fn new(handler: Option<DeadLetterFn>) -> Self {
        DeadLetters {
            counts: Mutex::new(HashMap::new()),
            handler,
        }
    }

    /// Records a run of dead events of one type (boxed one by one only if a handler wants them).
    pub(crate) fn record<T: Send + 'static>(
        &self,
        events: impl ExactSizeIterator<Item = T>,
        topic: Option<&'static str>,
        stage: Option<&Arc<str>>,
        reason: DeadReason,
    ) {
        let n = events.len() as u64;
        self.count(std::any::type_name::<T>(), &reason, n);
        if let Some(h) = &self.handler {
            for e in events {
                h(DeadLetter {
                    event_type: std::any::type_name::<T>(),
                    topic,
                    stage: stage.cloned(),
                    reason: reason.clone(),
                    event: Some(Box::new(e)),
                });
            }
        }
    }

    /// Records an event that no longer exists (it was consumed by a panicking handler).
    pub(crate) fn record_lost(
        &self,
        event_type: &'static str,
        stage: &Arc<str>,
        reason: DeadReason,
    ) {
        self.record_one(event_type, 1, None, stage, reason, None);
    }

    fn count(&self, event_type: &'static str, reason: &DeadReason, n: u64) {
        if n == 0 {
            return;
        }
        *self
            .counts
            .lock()
            .entry((event_type, reason.label()))
            .or_default() += n;
    }

    /// Counts so far, sorted for stable reports.
    pub(crate) fn snapshot(&self) -> Vec<(&'static str, &'static str, u64)> {
        let mut v: Vec<_> = self
            .counts
            .lock()
            .iter()
            .map(|(&(t, r), &n)| (t, r, n))
            .collect();
        v.sort();
        v
    }
}

impl DeadLetters {
    /// Records `n` events of an erased type that travel as one payload (a bounced batch).
    pub(crate) fn record_erased(
        &self,
        event_type: &'static str,
        n: usize,
        topic: Option<&'static str>,
        stage: &Arc<str>,
        reason: DeadReason,
        payload: Box<dyn Any + Send>,
    ) {
        self.record_one(event_type, n, topic, stage, reason, Some(payload));
    }

    /// Counts `n` dead events and hands them to the handler as one letter.
    fn record_one(
        &self,
        event_type: &'static str,
        n: usize,
        topic: Option<&'static str>,
        stage: &Arc<str>,
        reason: DeadReason,
        event: Option<Box<dyn Any + Send>>,
    ) {
        self.count(event_type, &reason, n as u64);
        if let Some(h) = &self.handler {
            h(DeadLetter {
                event_type,
                topic,
                stage: Some(stage.clone()),
                reason,
                event,
            });
        }
    }
}
