//! Market data: WebSocket subscribers, what they were sent, conflated updates, slow-consumer
//! disconnects, fan-out per channel, and book changes applied (by matching or by the stage)
//! or not.

use std::sync::Arc;

use metrics::{counter, describe_counter, describe_gauge, gauge, Counter, Gauge};

use crate::market::{Channel, DeltaError};

/// Cheap to clone: one shared handle.
#[derive(Clone)]
pub(crate) struct MarketMetrics(Arc<Series>);

struct Series {
    subscribers: Gauge,
    messages: Counter,
    bytes: Counter,
    conflated: Counter,
    slow: Counter,
    /// `trades`, `bbo`, `depth`, `kline`.
    fanout: [Counter; 4],
    stale: Counter,
    gap: Counter,
    /// Book changes applied by matching, by the stage.
    applied: [Counter; 2],
}

impl MarketMetrics {
    pub(crate) fn register() -> Self {
        describe_gauge!(
            "sedaflow_market_subscribers",
            "Open market-data WebSocket connections."
        );
        describe_counter!(
            "sedaflow_market_messages_sent_total",
            "Market-data messages written to WebSocket subscribers (answers included)."
        );
        describe_counter!(
            "sedaflow_market_bytes_sent_total",
            "Bytes of market-data messages written to WebSocket subscribers."
        );
        describe_counter!(
            "sedaflow_market_conflated_total",
            "Updates merged into, or replacing, a subscriber's unsent one."
        );
        describe_counter!(
            "sedaflow_market_slow_consumers_total",
            "Subscribers whose unsent output passed the cap: sent `slow consumer` and closed."
        );
        describe_counter!(
            "sedaflow_market_fanout_total",
            "Updates handed to subscribers, one per subscriber, by channel."
        );
        describe_counter!(
            "sedaflow_market_deltas_skipped_total",
            "Book changes the feed did not apply: `stale` (a replay), `gap` (a bug upstream)."
        );
        describe_counter!(
            "sedaflow_market_deltas_total",
            "Book changes applied to the symbols' feeds: `by=\"matching\"` for books nobody \
             subscribes to, `by=\"stage\"` for those the market stage applied."
        );
        let fanout =
            |channel: &'static str| counter!("sedaflow_market_fanout_total", "channel" => channel);
        let applied = |by: &'static str| counter!("sedaflow_market_deltas_total", "by" => by);
        let skipped = |reason: &'static str| counter!("sedaflow_market_deltas_skipped_total", "reason" => reason);
        let series = Series {
            subscribers: gauge!("sedaflow_market_subscribers"),
            messages: counter!("sedaflow_market_messages_sent_total"),
            bytes: counter!("sedaflow_market_bytes_sent_total"),
            conflated: counter!("sedaflow_market_conflated_total"),
            slow: counter!("sedaflow_market_slow_consumers_total"),
            fanout: [
                fanout("trades"),
                fanout("bbo"),
                fanout("depth"),
                fanout("kline"),
            ],
            stale: skipped("stale"),
            gap: skipped("gap"),
            applied: [applied("matching"), applied("stage")],
        };
        series.subscribers.set(0.0);
        MarketMetrics(Arc::new(series))
    }

    /// A WebSocket subscriber connected (`true`) or left.
    pub(crate) fn subscriber(&self, connected: bool) {
        match connected {
            true => self.0.subscribers.increment(1.0),
            false => self.0.subscribers.decrement(1.0),
        }
    }

    /// `messages` messages of `bytes` in all were written to a subscriber.
    pub(crate) fn sent(&self, messages: usize, bytes: usize) {
        self.0.messages.increment(messages as u64);
        self.0.bytes.increment(bytes as u64);
    }

    /// Updates of `channel` go to subscribers: `count` pushes (updates × subscribers).
    pub(crate) fn fanned_out(&self, channel: Channel, count: usize) {
        let index = match channel {
            Channel::Trades => 0,
            Channel::Bbo => 1,
            Channel::Depth => 2,
            Channel::Kline(_) => 3,
        };
        self.0.fanout[index].increment(count as u64);
    }

    /// `conflated` pushes into subscribers' outboxes merged into, or replaced, a pending
    /// update.
    pub(crate) fn conflated(&self, conflated: usize) {
        self.0.conflated.increment(conflated as u64);
    }

    /// A subscriber passed its cap: it was sent `slow consumer` and closed.
    pub(crate) fn slow_consumer(&self) {
        self.0.slow.increment(1);
    }

    /// `count` book changes were applied to their feeds, by matching (`by_matching`) or by
    /// the stage.
    pub(crate) fn applied(&self, by_matching: bool, count: u64) {
        if count > 0 {
            self.0.applied[usize::from(!by_matching)].increment(count);
        }
    }

    /// The feed did not apply a delta, for `error`.
    pub(crate) fn skipped(&self, error: &DeltaError) {
        match error {
            DeltaError::Stale { .. } => self.0.stale.increment(1),
            DeltaError::Gap { .. } | DeltaError::WrongSymbol => self.0.gap.increment(1),
        }
    }
}
