//! Domains: where stages meet threads.
//!
//! A pipeline is declared once as stages; its placement is separate. Consecutive stages can be
//! fused into one domain (one queue, one pool; events pass between them by a direct call, no
//! hop) or split at a queue. Per-stage metrics are the same either way; queue metrics belong to
//! the domain's entry stage.

pub(crate) mod after;
mod plan;
mod queue_face;
mod runner;

pub(crate) use plan::Plan;
pub(crate) use queue_face::QueueFace;
pub(crate) use runner::{Domain, DomainLoad, DomainTask};
