//! Errors of the bus: events handed back to whoever offered them.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use thiserror::Error;

use crate::event::Event;

/// Events a downstream stage refused, handed back to the emitting handler through
/// [`Handler::bounced`](crate::Handler::bounced).
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
#[derive(Debug, Error, PartialEq, Eq)]
pub enum PublisherError {
    /// The only subscribers are fused behind another stage, so they have no queue to publish to.
    #[error(
        "subscribers of {event_type} are fused behind other stages and take no outside events"
    )]
    Unroutable {
        /// The event type.
        event_type: &'static str,
    },
}
