//! An ingress's market-data feed: reads every partition's book changes, as matchers publish
//! them, and hands them to the ingress's market-data stage, which serves the WebSocket and
//! HTTP market data as in one process.
//!
//! # From the start
//! The feed reads the market-data stream from its first message, so an ingress that starts
//! (or restarts) late rebuilds every book, trade and candle history, with the sequence
//! numbers every other ingress uses. Until it has caught up, its snapshots are older than
//! the others'; its subscribers still see one unbroken sequence from their snapshot on.
//!
//! # Duplicates
//! A change re-published after a fail-over (a span cut differently from the first owner's, or
//! older than JetStream's duplicate window) carries a `seq` the stage has applied already;
//! the stage skips it as stale and counts it.

use futures_util::StreamExt;
use sedaflow::{Event, Publisher};

use super::follow::{follow, Messages, Since};
use super::wire::MarketBatch;
use super::{ClusterError, Log};
use crate::matching::BookDelta;

/// Feeds the book changes of every partition to the market-data stage.
pub(crate) struct MarketFeed<E: Event> {
    market: Publisher<E>,
    /// Turns one message's changes into the stage's events (one per lane, in order).
    events: fn(Vec<BookDelta>, &mut Vec<E>),
}

impl<E: Event> MarketFeed<E> {
    pub(crate) fn new(market: Publisher<E>, events: fn(Vec<BookDelta>, &mut Vec<E>)) -> Self {
        MarketFeed { market, events }
    }

    /// Every partition's changes, from the stream's start.
    pub(super) async fn subscribe(log: &Log) -> Result<Messages, ClusterError> {
        let subjects = (log.market_stream(), log.market_subjects());
        follow(log, subjects, Since::Beginning, "market data").await
    }

    /// Hands each message's changes to the stage, waiting while its queue is full (a change
    /// dropped would be a gap for every subscriber), until the stage ends.
    pub(super) async fn run(self, mut messages: Messages) {
        let mut events = Vec::new();
        while let Some(message) = messages.next().await {
            let batch = match MarketBatch::decode(&message.payload) {
                Ok(batch) => batch,
                Err(e) => {
                    // Every ingress skips it alike; the books' sequence shows the gap.
                    tracing::error!(error = %e, "unreadable market-data message dropped");
                    continue;
                }
            };
            (self.events)(batch.deltas, &mut events);
            if self.market.publish_batch(&mut events).await.is_err() {
                tracing::debug!("market data closed: the ingress is stopping");
                return;
            }
        }
    }
}
