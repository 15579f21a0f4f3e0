//! The matching engine: one price–time priority order book per symbol, as pure logic (no
//! IO, threads or clocks).
//!
//! [`Engine::submit`] takes a validated [`Request`] from a connection ([`Owner`]) and
//! appends the [`Report`]s it causes to a caller-owned `Vec`, which the caller reuses
//! between calls. Trades execute at the resting order's price; `match` ids increase per
//! symbol from 1; a `gtc` limit remainder rests, an `ioc` or `market` remainder expires.
//! A `fok` order trades only when the quantity crossing its limit covers all of it, and
//! otherwise expires untouched; a `post` order that would trade is rejected (`would cross`)
//! and otherwise rests like a `gtc` one.
//!
//! # Ordering
//!
//! The reports of one request come out in delivery order: the aggressor's `ack`, then per
//! trade the aggressor's `fill`, the resting order's `fill` and, if that order is now
//! filled, its `done`; last the aggressor's `done` unless it rests. A cancel answers the
//! canceller first, then the owner when that is another connection. Output never depends
//! on hash-map iteration order, so the same requests always give the same reports.
//!
//! # Ids
//!
//! A new order's id must not equal an order resting on the same symbol (`duplicate id`)
//! and must be above every id its connection had accepted (`id not increasing`). The
//! engine keeps no per-connection state for the second rule, so it can be sharded by
//! symbol: the caller passes the connection's floor and raises it when the [`Outcome`] is
//! [accepted](Outcome::is_accepted).
//!
//! # Memory
//!
//! Bounded by the resting orders: filled and cancelled orders leave every index at once
//! and their slots are reused, empty price levels are removed, and a book that holds
//! nothing and never traded is dropped. Allocations keep the size of a book's peak.

mod book;
mod engine;
mod error;
mod ladder;
mod order;
mod outcome;
mod price;
mod report;
mod request;
mod slab;
mod symbol;

pub use book::Book;
pub use engine::Engine;
pub use error::{PriceError, RestoreError, SymbolError};
pub use order::{OrderId, Owner, Qty, Resting, Side, Stp, Tif};
pub use outcome::Outcome;
pub use price::{Price, PriceText};
pub use report::{DoneReason, RejectReason, Report, ReportKind, To};
pub use request::Request;
pub use symbol::Symbol;
