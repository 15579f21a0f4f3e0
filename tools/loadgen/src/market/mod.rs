//! Market-data subscribers (`--md-subscribers`): WebSocket clients of the server's `GET /ws`
//! that check every sequence and rebuild every book while the order load runs
//! (PROTOCOL.md, "Market data").
//!
//! - `message`: a server frame read into what a subscriber acts on.
//! - `chain`: depth and trade sequences, and how they break.
//! - `book`: a book rebuilt from depth messages.
//! - `check`: one subscriber's symbols, its counts and its end check (pure).
//! - `summary`: the counts and [`MarketSummary`].
//! - `subscriber`: one socket's task; `snapshot`: the HTTP snapshots; `fleet`: all
//!   subscribers of a run.
//!
//! # Subscriptions
//! Each subscriber subscribes to `depth` and `trades` of the order mix's `md_symbols`
//! busiest symbols, and the order load starts once every subscriber has every snapshot.
//!
//! # Checks
//! Depth: the snapshot's `seq`, then each `depth_update`'s `first_seq` must be the previous
//! `seq` + 1 (merged updates span several steps). The protocol sends a snapshot on
//! subscribing and at no other time, so a second one breaks the chain too. Trades: each
//! `match` must be the previous + 1 (the first after subscribing may be any). Every break
//! counts as a gap; the chain goes on from the breaking message.
//!
//! # Latency
//! Each trade's arrival on the wall clock minus its `time`: the delivery delay from
//! matching to the subscriber, on one machine's clock, in whole milliseconds on the
//! server's side.
//!
//! # End check
//! When the order load has stopped, the feed is quiet once two rounds of `GET /depth` and
//! `GET /trades?limit=1`, 200 ms apart, agree on every `seq` and last trade. Each
//! subscriber still connected then reads until it has reached each symbol's `seq` and last
//! trade (at most [`FINAL_WAIT`](subscriber::FINAL_WAIT)), and its rebuilt book must equal
//! `GET /depth`'s levels; anything else is a mismatch. Sockets closed early (`slow
//! consumer` or cut) are counted, not compared.

mod book;
mod chain;
mod check;
mod fleet;
mod message;
mod snapshot;
mod subscriber;
mod summary;

pub(crate) use fleet::Fleet;
pub use summary::MarketSummary;
