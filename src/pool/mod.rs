//! Adaptive thread pools, one per domain.
//!
//! # Sizing
//! A controller thread observes each pool every tick (queue length, throughput, busy and CPU
//! time) and asks [`PoolController`] for a size: grow while the queue backs up and throughput
//! rises with it, never past the cores for a CPU-bound stage, shrink after an idle timeout.
//! The controller and the CPU readings are public, so an embedder's own pools (a server's
//! event loops) follow the same rule.

mod controller;
mod cpu;
mod worker;

pub use controller::{PoolController, PoolObservation};
pub use cpu::{CpuDemand, CpuUse};
pub(crate) use worker::Pool;
