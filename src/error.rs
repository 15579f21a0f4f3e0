//! Errors of building a pipeline.

use thiserror::Error;

/// Why a pipeline could not be built.
///
/// # Examples
/// ```
/// use sedaflow::{handler_fn, Batch, BuildError, Pipeline};
///
/// let mut p = Pipeline::builder();
/// p.stage("a", || handler_fn(|b: &mut Batch<'_, u32>, _ctx| b.for_each(drop)));
/// p.stage("a", || handler_fn(|b: &mut Batch<'_, u64>, _ctx| b.for_each(drop)));
/// let error = p.build().unwrap_err();
/// assert_eq!(error, BuildError::DuplicateStage("a".into()));
/// assert_eq!(error.to_string(), "stage name `a` is used twice");
/// ```
#[derive(Debug, Error, PartialEq, Eq)]
pub enum BuildError {
    /// The pipeline has no stages.
    #[error("a pipeline needs at least one stage")]
    Empty,
    /// Two stages share a name.
    #[error("stage name `{0}` is used twice")]
    DuplicateStage(String),
    /// A placement names a stage that does not exist.
    #[error("no stage named `{0}`")]
    UnknownStage(String),
    /// The placement cannot be run as asked.
    #[error("invalid placement: {0}")]
    Placement(String),
    /// A stage's configuration is out of bounds.
    #[error("stage `{stage}`: {message}")]
    Config {
        /// The stage.
        stage: String,
        /// What is wrong, naming the field.
        message: String,
    },
    /// Several stages subscribe to one event type, which the bus can only copy if told how.
    #[error("{event_type} has several subscribers: call `fan_out::<{event_type}>()` so the bus can clone it")]
    FanOutNeedsClone {
        /// The event type.
        event_type: &'static str,
    },
}
