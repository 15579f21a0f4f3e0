//! One lane's market data: per symbol its [`Feed`] (shared with matching, see `feeds`) and who
//! subscribes to each of its channels.

use std::sync::Arc;

use rustc_hash::FxHashMap;

use super::{DeltaBuffers, Feeds, LastTrade, MarketIn, SharedFeed, Subscriber};
use crate::internal_events::MarketMetrics;
use crate::market::{
    Channel, DeltaError, DeltaRef, Fanout, Feed, Pushed, Run, Snapshot, Subscription,
};
use crate::matching::Symbol;

/// The symbols of one lane that have subscribers, or have had changes handed over. Plain
/// fields: the lane's events come one at a time.
pub(crate) struct Books {
    books: FxHashMap<Symbol, Book>,
    /// Books whose feeds hold absorbed changes not yet fanned out.
    held: Vec<Symbol>,
    /// Reused for each event's updates.
    out: Vec<Fanout>,
    /// Every symbol's feed, this lane's and the others'.
    feeds: Arc<Feeds>,
    /// Where the change vectors go back to matching.
    buffers: Arc<DeltaBuffers>,
    metrics: MarketMetrics,
}

struct Book {
    symbol: Symbol,
    feed: Arc<SharedFeed>,
    /// In [`Books::held`].
    held: bool,
    /// Each channel's subscribers, by [`Channel::index`]: every book change asks which
    /// channels anyone watches.
    subscribers: [FxHashMap<u64, Arc<Subscriber>>; Channel::COUNT],
}

impl Book {
    fn new(symbol: Symbol, feeds: &Feeds) -> Book {
        Book {
            symbol,
            feed: feeds.get_or_insert(symbol),
            held: false,
            subscribers: Default::default(),
        }
    }

    fn is_watched(&self) -> bool {
        self.subscribers.iter().any(|s| !s.is_empty())
    }

    /// Pushes each update to its channel's subscribers, a run of one channel's updates
    /// under one lock of each subscriber's outbox (a sweep's thousand trades cost each
    /// subscriber one lock, not a thousand); one that is (or just turned) slow leaves the
    /// lists.
    fn fan_out(&mut self, out: &mut Vec<Fanout>, metrics: &MarketMetrics) {
        let symbol = self.symbol;
        let mut rest = &out[..];
        while let Some(first) = rest.first() {
            let channel = first.channel;
            let run = rest.iter().take_while(|f| f.channel == channel).count();
            let (updates, tail) = rest.split_at(run);
            rest = tail;
            let subscribers = &mut self.subscribers[channel.index()];
            if subscribers.is_empty() {
                continue;
            }
            metrics.fanned_out(channel, subscribers.len() * run);
            let subscription = Subscription { channel, symbol };
            // Trades are never merged: one shared run for all their subscribers.
            let run = (channel == Channel::Trades)
                .then(|| Run::new(updates.iter().map(|f| f.update.clone()).collect()));
            // Counted once per run: the counter is shared with every other lane's.
            let mut conflated = 0;
            subscribers.retain(|_, subscriber| {
                let (merged, last) = subscriber.with_outbox(|o| match &run {
                    Some(run) => (0, o.push_run(subscription, run)),
                    None => o.push_all(subscription, updates.iter().map(|f| &f.update)),
                });
                conflated += merged;
                !matches!(last, Pushed::Slow | Pushed::Discarded)
            });
            metrics.conflated(conflated);
        }
        out.clear();
    }
}

impl Books {
    pub(crate) fn new(
        metrics: MarketMetrics,
        feeds: Arc<Feeds>,
        buffers: Arc<DeltaBuffers>,
    ) -> Books {
        Books {
            books: FxHashMap::default(),
            held: Vec::new(),
            out: Vec::new(),
            feeds,
            buffers,
            metrics,
        }
    }

    /// Handles one event of this lane. Book changes are absorbed, and fanned out at the next
    /// [`Books::flush`]: the stage flushes after each batch of events, so the changes of a
    /// batch reach each subscriber as one update per book and channel (trades one by one).
    /// Any other event flushes first, so what it sends (a snapshot, a closed candle) follows
    /// every change before it.
    pub(crate) fn handle(&mut self, event: MarketIn) {
        if !matches!(event, MarketIn::Deltas { .. }) {
            self.flush();
        }
        match event {
            MarketIn::Deltas { deltas, .. } => {
                let applied = deltas.iter().filter(|delta| self.absorb(*delta)).count();
                self.metrics.applied(false, applied as u64);
                self.buffers.give(deltas);
            }
            MarketIn::Subscribe(subscriber, subscription) => {
                self.subscribe(subscriber, subscription)
            }
            MarketIn::Unsubscribe(subscriber, subscription) => {
                subscriber.with_outbox(|o| o.unsubscribe(subscription));
                self.forget(&subscriber, subscription);
            }
            MarketIn::Gone(subscriber, subscription) => self.forget(&subscriber, subscription),
            MarketIn::Snapshot(snapshot, reply) => {
                // The requester may have gone; nobody to tell then.
                let _ = reply.send(self.snapshot(&snapshot));
            }
            MarketIn::Tick { lane, now_ms } => self.tick(lane, now_ms),
            // The page may have gone; nobody to tell then.
            MarketIn::Latest { lane, reply } => drop(reply.send(self.latest(lane))),
        }
    }

    /// Fans out what the books absorbed since the last flush.
    pub(crate) fn flush(&mut self) {
        for symbol in self.held.drain(..) {
            let Some(book) = self.books.get_mut(&symbol) else {
                continue;
            };
            book.held = false;
            book.feed.lock().feed.flush(&mut self.out);
            book.fan_out(&mut self.out, &self.metrics);
        }
    }

    /// Applies `delta` to its feed; answers whether it did.
    fn absorb(&mut self, delta: DeltaRef<'_>) -> bool {
        let feeds = &self.feeds;
        let book = self
            .books
            .entry(delta.symbol)
            .or_insert_with(|| Book::new(delta.symbol, feeds));
        let wanted = |channel: Channel| !book.subscribers[channel.index()].is_empty();
        match book.feed.lock().feed.absorb(delta, wanted) {
            Ok(()) => {
                if !book.held {
                    book.held = true;
                    self.held.push(delta.symbol);
                }
                return true;
            }
            // A replay of what the feed holds already (a take-over replaying the log).
            Err(e @ DeltaError::Stale { .. }) => self.metrics.skipped(&e),
            // Changes reach a feed in order, from matching itself or through a queue that never
            // drops, so a gap is a bug upstream; the feed keeps the last state it can vouch for.
            Err(e @ (DeltaError::Gap { .. } | DeltaError::WrongSymbol)) => {
                tracing::error!(symbol = %delta.symbol, error = %e, "market data: delta skipped");
                self.metrics.skipped(&e);
            }
        }
        false
    }

    /// Queues `subscribed` and the current state, and adds the subscriber to the fan-out,
    /// all in this lane's turn and under the feed's lock, which also marks the book watched:
    /// every later change comes through the stage, so the next update chains to the state
    /// sent.
    fn subscribe(&mut self, subscriber: Arc<Subscriber>, subscription: Subscription) {
        let (symbol, channel) = (subscription.symbol, subscription.channel);
        let feeds = &self.feeds;
        let book = self
            .books
            .entry(symbol)
            .or_insert_with(|| Book::new(symbol, feeds));
        let mut state = book.feed.lock();
        let subscribed = subscriber.with_outbox(|o| {
            if o.subscribe(subscription).is_err() || o.is_slow() {
                return false;
            }
            if let Some(initial) = state.feed.initial(channel) {
                // A fresh subscription's first update is never conflated.
                o.push(subscription, &initial);
            }
            !o.is_slow()
        });
        if subscribed {
            state.watched = true;
            drop(state);
            book.subscribers[channel.index()].insert(subscriber.id(), subscriber);
        } else {
            drop(state);
            self.unwatch_if_unsubscribed(symbol);
        }
    }

    fn forget(&mut self, subscriber: &Subscriber, subscription: Subscription) {
        let Some(book) = self.books.get_mut(&subscription.symbol) else {
            return;
        };
        book.subscribers[subscription.channel.index()].remove(&subscriber.id());
        self.unwatch_if_unsubscribed(subscription.symbol);
    }

    /// Once a book has no subscriber left, matching may apply its changes again (after those
    /// on their way here), and the lane forgets it; so does the feeds' map if it never
    /// changed. Called between batches, when no book holds updates.
    fn unwatch_if_unsubscribed(&mut self, symbol: Symbol) {
        let Some(book) = self.books.get(&symbol) else {
            return;
        };
        if book.is_watched() {
            return;
        }
        book.feed.lock().watched = false;
        self.books.remove(&symbol);
        self.feeds.drop_unused(symbol);
    }

    fn snapshot(&self, snapshot: &Snapshot) -> Vec<u8> {
        let mut body = Vec::new();
        match self.feeds.get(snapshot.symbol()) {
            Some(shared) => shared.lock().feed.snapshot(snapshot, &mut body),
            None => Feed::new(snapshot.symbol()).snapshot(snapshot, &mut body),
        }
        body
    }

    /// Closes the ended candles of lane `lane`'s feeds, matching's and this stage's alike.
    fn tick(&mut self, lane: u64, now_ms: u64) {
        for shared in self.feeds.of_lane(lane) {
            let symbol = {
                let mut state = shared.lock();
                state.feed.tick(now_ms, &mut self.out);
                state.feed.symbol()
            };
            match self.books.get_mut(&symbol) {
                Some(book) => book.fan_out(&mut self.out, &self.metrics),
                None => self.out.clear(),
            }
        }
    }

    /// The newest trade of lane `lane`'s feeds (the greatest symbol's of those at the same
    /// millisecond), each feed read under its lock: a market page's load, not a hot path.
    fn latest(&self, lane: u64) -> Option<LastTrade> {
        let feeds = self.feeds.of_lane(lane);
        let last = feeds.iter().filter_map(|shared| {
            let state = shared.lock();
            let trade = state.feed.last_trade()?;
            Some(LastTrade {
                time_ms: trade.time_ms,
                symbol: state.feed.symbol(),
            })
        });
        last.max()
    }
}
