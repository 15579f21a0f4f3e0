//! Network IO on tokio: the TCP order stream, HTTP order entry and public market data
//! (HTTP snapshots, WebSocket and the market page).
//!
//! # Backpressure
//! A connection's reader stops reading (so TCP pushes back on the client) while its unsent
//! output is above the high watermark or too many of its requests are unanswered, and resumes
//! below the low watermark. Output that still grows past the hard cap (reports caused by other
//! clients) closes the connection and is counted as discarded: the stages never wait for a
//! client. Traffic shaping ([`shaping`]) pauses a reader that read past a `[limits]` rate.
//! Every pause is counted once, by reason (`watermark`, `in_flight`, `shaping`): a reader
//! that does not pause pays one check per read for it.

mod account;
mod conn;
pub(crate) mod http;
mod linger;
mod login;
mod loops;
mod market;
mod output;
mod page;
mod registry;
mod session;
mod shaping;
mod stage;
pub(crate) mod tcp;
mod turn;
mod ws;

pub(crate) use loops::{steer as steer_loops, EventLoops};
pub(crate) use market::Market;
pub(crate) use output::Consolidation;
pub(crate) use registry::Registry;
pub(crate) use session::SessionEnv;
pub(crate) use shaping::Shaping;
pub(crate) use stage::{
    read_capacity, stages as network_stages, write_capacity, NET_READ, NET_WRITE,
};
