//! The order-stream pipeline built on the [`sedaflow`] engine.

pub mod codec;
pub mod matching;
