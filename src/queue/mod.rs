//! Bounded stage queues.
//!
//! # Backpressure
//! Every queue is bounded in events. When it is full its [`WhenFull`](crate::WhenFull) policy
//! decides: `Block` parks the producer (thread or task) until there is room or a deadline
//! passes, `Reject` hands the events back, `DropNewest`/`DropOldest` drop, count and say so
//! in the caller's [`Published`]. An offer that must not wait (a `try_` call) is refused
//! with `Full` whatever the policy: it never waits and never drops. Time spent
//! blocked is counted per stage: it is the backpressure signal.
//!
//! # Ordering
//! A queue is split into lanes. A keyed queue puts all events of a key in one lane; a lane is
//! run by one worker at a time, so a key's events are handled in arrival order. Unkeyed queues
//! spread whole batches over lanes.
//!
//! # Hand-off
//! A queue knows who runs its lanes only as a [`handoff::LaneRunner`] (its domain, one layer
//! up), so a pool worker whose delivery makes a lane ready can run it next ([`handoff`]).
//!
//! # Shutdown
//! Closing a queue refuses outside publishers while stages keep delivering, so a drain can
//! finish; aborting refuses everyone and releases blocked producers.

mod bounded;
mod error;
pub(crate) mod handoff;
mod lane;
mod published;
mod room;

pub(crate) use bounded::{Offered, Origin, Queue, Wait};
pub use error::OfferError;
pub use published::Published;
pub(crate) use room::pay_owed_wakes;
