//! The order-stream pipeline built on the [`sedaflow`] engine: network IO (tokio) → decode →
//! matching → encode, each a stage with its own queue and pool, wired through the bus.
//!
//! - [`codec`] and [`matching`] are pure logic (no IO, threads or clocks).
//! - [`journal`] makes matching durable; [`journal::format`](mod@journal::format) is its pure
//!   record codec.
//! - [`Server`] runs the whole order server; [`ServerConfig`] configures it.
//! - [`graph`] draws the pipeline's topology from a [`ServerConfig`].
//!
//! The load generator, the terminal view and the `sedaflow` binary are crates of their own
//! (`tools/`): embedding [`Server`] compiles neither a terminal UI nor a plotting library.

#![warn(missing_docs)]

pub mod accounts;
pub mod admission;
pub mod cluster;
pub mod codec;
mod config;
mod gather;
pub mod graph;
mod internal_events;
pub mod journal;
pub mod market;
pub mod matching;
mod net;
mod pipeline;
mod server;
mod signals;

pub use config::{
    ConfigError, Limits, MarketConfig, Placement, ServerConfig, SocketOptions, Stages, Synthetic,
};
pub use pipeline::{ConnId, Order, PipelineError};
pub use server::{Server, ServerBuilder, ServerError};
