//! Adaptive thread pools, one per domain.
//!
//! # Sizing
//! A controller thread observes each pool every tick (queue length, throughput, busy and CPU
//! time) and asks [`PoolController`] for a size: grow while the queue backs up and throughput
//! rises with it, never past the cores for a CPU-bound stage, shrink after an idle timeout.

mod controller;
mod cpu;
mod worker;

pub(crate) use controller::{PoolController, PoolObservation};
pub(crate) use cpu::CpuUse;
pub(crate) use worker::Pool;
