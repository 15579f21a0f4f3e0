//! The event bus: the mediator between stages.
//!
//! Stages never hold references to each other. A handler emits typed events; the bus routes
//! each type (and optional topic) to the stages subscribed to it, applying each receiver's
//! admission policy so backpressure reaches the emitter. Routes are resolved once and cached;
//! events are routed per batch, not per event. An event nobody subscribes to becomes a dead
//! letter, counted by type, like Guava's `DeadEvent`.

mod dead_letter;
mod error;
mod lane_stage;
mod outbox;
mod publisher;
mod route;

pub use dead_letter::{DeadLetter, DeadReason, HandlerError};
pub use error::{Bounced, PublisherError};
pub use publisher::Publisher;

pub(crate) use dead_letter::{DeadLetterFn, DeadLetters};
pub(crate) use lane_stage::LaneStage;
pub(crate) use outbox::{Delivery, Outbox};
pub(crate) use route::{Bus, Place, RouteKey, RouteTable};
