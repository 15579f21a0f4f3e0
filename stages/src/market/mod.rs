//! Public market data: trades, best bid and offer, depth with sequence numbers and
//! candles, as pure logic (no IO, threads or clocks: time comes in as milliseconds since
//! the Unix epoch).
//!
//! Matching hands over one [`BookDelta`] per request that changed a book. The symbol's
//! [`Feed`] applies it to its aggregated [`Depth`], trade [`History`] and
//! [`CandleSeries`], and answers [`Fanout`]s: per channel one [`Update`], encoded once and
//! shared by every subscriber of that channel. Each subscriber (socket) has an [`Outbox`]
//! that queues the updates with the contract's backpressure. [`parse_client_message`]
//! reads WebSocket client messages, [`Snapshot::parse`] the HTTP snapshot requests, and
//! [`encode_message`] / [`encode_array`] write every server message byte-exact to
//! PROTOCOL.md.
//!
//! # Sequence
//!
//! Matching numbers each book's changing requests (see [`BookDelta`]); the feed applies
//! them in order without gaps ([`DeltaError`] otherwise) and every `depth`, `depth_update`
//! and `bbo` names the `seq` of the state it shows. A client holding a `depth` snapshot at
//! `seq` s applies each `depth_update` with `seq` > s, whose `first_seq` is the previous
//! one's `seq` + 1, and has the book exactly.
//!
//! # Backpressure
//!
//! An [`Outbox`] never blocks its producer. While a subscription's newest message is
//! unsent, a `bbo` replaces it, a `kline` of the same candle replaces it, and a
//! `depth_update` merges into it (levels united, latest absolute totals, `first_seq` kept);
//! trades are never merged nor dropped. A socket holds at most [`MAX_SUBSCRIPTIONS`]; its
//! queued bytes past the cap ([`DEFAULT_UNSENT_CAP`]) drop everything queued for a
//! `slow consumer` error, after which the socket is closed.
//!
//! # Candles
//!
//! `1s`, `1m`, `5m`, `1h`, aligned to the epoch (`close_time` = `open_time` + interval −
//! 1), from trade times. A trade updates the open candle (or closes it and opens the next,
//! when it falls in a later interval); [`Feed::tick`] closes a candle whose interval ended,
//! sending it once with `closed: true`. Intervals without trades have no candle. The last
//! [`HISTORY_LEN`] trades and closed candles per interval are kept for the HTTP snapshots.
//!
//! # Reasons
//!
//! | reason | when |
//! |---|---|
//! | `invalid json` | not JSON, or not an object |
//! | `unknown op` | `op` missing or not `subscribe` / `unsubscribe` |
//! | `unknown channel` | `channel` missing or not `trades`, `bbo`, `depth`, `kline` |
//! | `invalid symbol` | `symbol` missing or not 1–16 characters of `A–Z 0–9 . _ -` |
//! | `invalid interval` | `interval` missing (for `kline`) or not `1s`, `1m`, `5m`, `1h` |
//! | `invalid limit` | HTTP `limit` not an integer in `1 ..= 1000` |
//! | `too many subscriptions` | the socket's 1025th subscription |
//! | `slow consumer` | the socket's unsent bytes passed the cap; it is closed |

mod candles;
mod channel;
mod client;
mod depth;
mod depth_update;
mod encode;
mod error;
mod feed;
mod history;
mod outbox;
mod query;
mod update;

pub use crate::matching::{
    BookDelta, DeltaRef, DeltaSink, Deltas, LevelChange, Levels, Trade, Trades,
};
pub use candles::{Candle, CandleSeries};
pub use channel::{Channel, Interval, Subscription};
pub use client::{parse_client_message, ClientMessage};
pub use depth::{Bbo, Depth};
pub use depth_update::DepthUpdate;
pub use encode::{encode_array, encode_message, Message};
pub use error::{DeltaError, ErrorReason};
pub use feed::{Fanout, Feed};
pub use history::{History, HISTORY_LEN};
pub use outbox::{Outbox, Pushed, Run, DEFAULT_UNSENT_CAP, MAX_SUBSCRIPTIONS};
pub use query::{Snapshot, DEFAULT_LIMIT};
pub use update::Update;
