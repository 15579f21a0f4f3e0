//! Outcomes of offering events to a stage's queue; each hands the events back.

use thiserror::Error;

/// Why a queue did not take (all of) the offered events. The events not taken are inside,
/// in their original order, so the caller can answer, retry or dead-letter them.
///
/// # Examples
/// ```
/// use sedaflow::OfferError;
///
/// let refused: OfferError<Vec<u32>> = OfferError::Full(vec![3, 4]);
/// assert_eq!(refused.reason(), "full");
/// assert_eq!(refused.to_string(), "stage queue is full");
/// let first = refused.map(|events| events[0]);
/// assert_eq!(first, OfferError::Full(3));
/// assert_eq!(first.into_inner(), 3);
/// ```
#[derive(Debug, Error, PartialEq, Eq)]
pub enum OfferError<T> {
    /// The queue is full and the call does not wait: a `try_` call (whatever the policy), or
    /// any call on a `Reject` queue.
    #[error("stage queue is full")]
    Full(T),
    /// The queue stayed full until the deadline passed.
    #[error("stage queue stayed full until the deadline")]
    Timeout(T),
    /// The pipeline is shutting down and takes no more events from outside.
    #[error("stage is closed")]
    Closed(T),
}

impl<T> OfferError<T> {
    /// The events that were not taken.
    pub fn into_inner(self) -> T {
        match self {
            OfferError::Full(t) | OfferError::Timeout(t) | OfferError::Closed(t) => t,
        }
    }

    /// Applies `f` to the events inside, keeping the outcome.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> OfferError<U> {
        match self {
            OfferError::Full(t) => OfferError::Full(f(t)),
            OfferError::Timeout(t) => OfferError::Timeout(f(t)),
            OfferError::Closed(t) => OfferError::Closed(f(t)),
        }
    }

    /// The outcome's name, for logs and dead letters.
    pub fn reason(&self) -> &'static str {
        match self {
            OfferError::Full(_) => "full",
            OfferError::Timeout(_) => "timeout",
            OfferError::Closed(_) => "closed",
        }
    }
}
