//! A load generator for the order server: many TCP connections sending a seeded mix of
//! limit, `ioc`, market and cancel orders, measuring each request's latency to its answer.
//!
//! [`run`] takes a [`LoadgenConfig`] (also the `sedaflow loadgen` flags) and returns a
//! [`LoadgenSummary`], which prints like `wrk --latency`.
//!
//! # Order mix
//!
//! Symbols `SYM0 … SYM{n-1}` with mid prices 100, 101, …; each connection goes through
//! them round-robin from its own offset, so connections share books and trade with each
//! other. Limit prices lie within ±10 steps of 0.01 around the mid, both sides, so about
//! half of them cross; a fifth of limits are `ioc`. `cancel_pct` percent of requests
//! cancel one of the connection's own acked, still-resting orders (a limit goes instead
//! while none is known), `market_pct` percent are market orders. New-order ids increase
//! per connection and are distinct across connections; the same seed gives the same mix
//! for the same answers.
//!
//! # Open and closed loop
//!
//! With a `rate`, requests follow a fixed schedule (request `g` of the run is due at
//! `g / rate` s, dealt round-robin over the connections) kept by a pacer thread, and
//! latency counts from that intended time even when the sender falls behind, which
//! corrects for coordinated omission as `wrk2` does. Without one, each connection keeps
//! `pipeline` requests outstanding and latency counts from the actual send.
//!
//! # Answers
//!
//! Every request gets exactly one answer, in request order per connection: `ack` or
//! `reject` for a new order, `done`/`cancelled` or `reject` for a cancel. Fills and other
//! `done`s are counted, not matched. An answer that does not complete the oldest
//! outstanding request ends the run with [`LoadgenError::Protocol`].
//!
//! # Shutdown
//!
//! After `warmup + duration` the writers flush and half-close; readers wait up to
//! [`DRAIN_WAIT`] for the remaining answers, which count as `lost` if they do not come.
//!
//! # Market data
//!
//! With `md_subscribers`, WebSocket subscribers to the server's market data run beside the
//! order load, check every depth and trade sequence, rebuild every book and compare it
//! with `GET /depth` at the end; the summary's `market` says what they saw (see
//! [`MarketSummary`]).
//!
//! # Sweep
//!
//! [`sweep`] holds what `sedaflow loadgen --sweep` needs besides process handling: the
//! server variants' configurations, the rows, the CSV, the verdict and the plot.

#![warn(missing_docs)]

mod answer;
mod config;
mod conn;
mod error;
mod market;
mod mix;
mod pacer;
mod resting;
mod rng;
mod run;
mod summary;
pub mod sweep;
mod tracker;

pub use config::LoadgenConfig;
pub use error::{LoadgenError, ProtocolViolation, SnapshotFailure};
pub use market::MarketSummary;
pub use run::{run, DRAIN_WAIT};
pub use summary::{Latency, LoadgenSummary};
