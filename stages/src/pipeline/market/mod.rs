//! The market-data stage: keyed by symbol, it keeps each symbol's subscribers and, shared
//! with matching, its [`Feed`]; applies the book changes matching hands over and fans the
//! updates out to the subscribers' outboxes (PROTOCOL.md, "Market data").
//!
//! - `events`: [`MarketIn`], what the stage takes.
//! - `subscriber`: [`Subscriber`], a socket's outbox as the stage and the socket share it.
//! - `books`: one lane's symbols, feeds and fan-out lists.
//! - `stage`: the [`Handler`](sedaflow::Handler) and its declaration.
//! - `buffers`: [`DeltaBuffers`], the vectors matching hands its changes over in, reused.
//! - `feeds`: [`Feeds`], each symbol's feed, which matching updates itself while nobody
//!   subscribes to the book.
//!
//! # Feeding it
//! Matching applies the changes of a book nobody subscribes to itself, to the book's shared
//! feed (`feeds`). The others it hands over: per batch and per lane of this stage, one
//! [`MarketIn::Deltas`] with the book changes of that lane's symbols (each request that
//! changed a book, with the book's next `seq`). With a journal, matching hands every change
//! over and the journal stage emits them once the batch's records are durable (nothing is
//! published that a restart could take back). Sockets publish
//! `Subscribe`, `Unsubscribe` and, once closed, `Gone`; HTTP snapshot requests publish
//! `Snapshot` with a reply channel, so they see the same state as the sockets. A ticker
//! publishes one `Tick` per lane about every 250 ms, which closes the candles whose interval
//! ended. The market page asks every lane for its latest trade (`Latest`) to pick its default
//! symbol.
//!
//! # Ordering
//! Every event of a symbol is handled by its lane one at a time, so a subscriber's
//! `subscribed`, its snapshot and the updates after it are queued in one order: the first
//! update's `first_seq` is the snapshot's `seq` + 1. Subscriptions of one socket on different
//! symbols go to different lanes and may be answered in another order than asked.
//!
//! # Batching
//! The stage absorbs the book changes of each batch it takes and fans them out once, at the
//! batch's end (or before any other event): a subscriber gets one `depth_update` over the
//! batch's sequence numbers per book, one `bbo` and one open `kline` per interval, and every
//! trade. The busier the feed, the larger the batches, so the stage's work per change falls
//! as load rises (SEDA's batching); a quiet book's changes still go out one by one.
//!
//! # Backpressure
//! The stage never waits for a subscriber: it pushes into [`Outbox`](crate::market::Outbox)es,
//! which conflate or, past their cap, turn slow (`slow consumer`, then the socket closes). A
//! slow subscriber leaves the fan-out lists as soon as a push finds it slow.
//!
//! [`Feed`]: crate::market::Feed

mod books;
mod buffers;
mod events;
mod feeds;
mod stage;
mod subscriber;
#[cfg(test)]
mod tests;

use books::Books;
pub(crate) use buffers::DeltaBuffers;
use feeds::SharedFeed;
pub(crate) use feeds::{Direct, Feeds};

/// The stage's lanes: matching groups its book changes by them.
pub(crate) const LANES: usize = 4;
pub(crate) use events::{LastTrade, MarketIn};
pub(crate) use stage::{config, declare, STAGE};
pub(crate) use subscriber::{Next, Subscriber, WRITE_CHUNK};
