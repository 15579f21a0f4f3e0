//! Batches: what a handler receives, and the controller that sizes them.
//!
//! # Ordering
//! A batch holds events of one lane in arrival order. Keyed stages put every event of a key in
//! the same lane, and a lane is run by one thread at a time, so a key's events are handled
//! strictly in order.

mod controller;
mod iter;

pub(crate) use controller::{BatchController, BatchObservation};
pub use iter::{Batch, Drain};
pub(crate) use iter::{Watch, LOOK_FIRST};
