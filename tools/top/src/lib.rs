//! `sedaflow top`: a live terminal view of a running server, read from its `/metrics` only.
//!
//! The view knows the server through its public exposition alone: stage order comes from
//! `sedaflow_stage_info{position}`, rates from two scrapes and the time between them,
//! percentiles from the histogram buckets that changed between them.
//!
//! - [`parse`] turns Prometheus text into a [`Scrape`]; [`histogram`] turns buckets into
//!   quantiles. Both are pure.
//! - [`model`] computes a [`View`] (header and one row per stage) from two scrapes, with
//!   [`activity`]'s account and market-data lines; pure.
//! - [`history`] keeps each stage's recent queue depths for the sparkline; pure.
//! - [`render`] draws a view with ratatui; [`fetch`] reads `/metrics` over HTTP;
//!   [`app`] runs the terminal loop.
//!
//! # Bottleneck
//!
//! A stage is flagged as the one limiting throughput when it shows saturation (utilisation at
//! least one half, a queue at least 1% full and growing, producers blocked on it, refused or dropped events, or a
//! queue over half full) and, among those that do, has the highest utilisation.

#![warn(missing_docs)]

pub mod activity;
pub mod app;
mod error;
pub mod fetch;
pub mod histogram;
pub mod history;
pub mod model;
pub mod parse;
pub mod render;

pub use activity::{Accounts, MarketData};
pub use error::{FetchError, ParseError};
pub use histogram::Histogram;
pub use history::History;
pub use model::{Header, SortKey, StageRow, View};
pub use parse::{Sample, Scrape};
