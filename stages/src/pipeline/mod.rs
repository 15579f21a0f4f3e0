//! The order pipeline: every stage adapter between the network and the pure cores, wired
//! through the sedaflow bus.
//!
//! decode → match → journal (with `journal`) → encode; an ingress has `publish` (to the order
//! log) in matching's place, and an operator's stage may run before matching. Beside them,
//! `market` keeps the public market data, fed by matching (after the journal) and by the
//! WebSocket sockets.
//!
//! - `wiring`: declares the stages and their placement ([`build`]).
//! - `events`: what travels between the stages ([`Order`], `DecodeIn`, `EncodeIn`).
//! - `order_state`: a connection's id rule, and [`Order::refused`], the one way an order
//!   leaves unmatched.
//! - `decode`, `matching`, `journal`, `publish`, `encode`: one stage adapter each.
//! - `refuse`: frames answered at the read (admission, a refusing pipeline).
//! - `responses`: the vectors a request's answer travels in, reused per thread.
//! - `market`: the market-data stage, fed by matching and by the WebSocket subscribers.
//!
//! # Ordering
//! Decode is keyed by connection, matching by symbol, so a connection's requests for different
//! symbols may finish out of order; every request carries its connection's sequence number and
//! the connection's writer puts the replies back in order.

mod client;
mod decode;
mod encode;
mod events;
mod journal;
mod market;
mod matching;
mod order_state;
mod publish;
mod refuse;
mod responses;
mod wiring;

pub use client::ConnId;
pub(crate) use client::{Client, Clients, Notice, Reply};
pub use events::Order;
pub(crate) use events::{DecodeIn, EncodeIn, Frames, Span};
pub(crate) use journal::JournalStage;
pub(crate) use market::{
    config as market_config, MarketIn, Next, Subscriber, LANES as MARKET_LANES,
    STAGE as MARKET_STAGE, WRITE_CHUNK,
};
pub(crate) use order_state::OrderState;
pub(crate) use publish::answered;
pub(crate) use refuse::{admit, answer, overloaded, refuse, shed_oldest};
pub use wiring::PipelineError;
pub(crate) use wiring::{build, Extension, Network, Wiring};
