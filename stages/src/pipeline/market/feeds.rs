//! Each symbol's [`Feed`], shared by matching and the market-data stage, so that a book
//! nobody subscribes to costs no hand-off.
//!
//! Handing every book change to the stage costs matching's thread a copy and a hand-off, and
//! another thread the work of applying it: on two cores, a seventh of the order server's
//! throughput (BENCHMARKS, "Session 23"). Most books have no WebSocket subscriber, and their
//! feed only has to be current when an HTTP snapshot reads it. So matching applies a change
//! to the feed itself ([`Direct`]) when all of these hold:
//! - nobody subscribes to the book: fanning out is the stage's work;
//! - the feed is at the change's previous `seq`: no change of the book is still on its way
//!   to the stage;
//! - the feed's lock is free: matching never waits for a snapshot being encoded or a
//!   subscriber being added (`try_lock`).
//!
//! Otherwise it hands the change over as before, and the stage applies it in order. Either
//! way each change is applied once, in `seq` order. A subscriber added by the stage gets the
//! feed's state at its `seq`, and every later change goes through the stage, so its updates
//! follow on from that state.
//!
//! Matching keeps the feeds it applied changes to locked until its batch ends (also when the
//! batch panics): two atomic operations per change were 3% of the event loop's time. A
//! watched feed, or one behind a change on its way, it lets go at once. So the stage waits at
//! most one of matching's batches for a feed.
//!
//! Locks: matching never waits for a feed's lock, and nobody waits for a feed's lock while
//! holding a lane's map, which matching may wait for (to find a new symbol's feed).
//!
//! With a journal, matching hands every change over (through the journal): nothing is shown
//! that a restart could take back. An ingress, which runs no matching, hands them all over.

use std::sync::Arc;

use parking_lot::lock_api::ArcMutexGuard;
use parking_lot::{Mutex, RawMutex};
use rustc_hash::FxHashMap;

use super::{MarketIn, LANES};
use crate::internal_events::MarketMetrics;
use crate::market::{DeltaRef, Feed, Trade};
use crate::matching::Symbol;

/// The feeds, by market-data lane: a lane's map is locked to add or drop a feed, and to list
/// them for a tick, never for a change.
#[derive(Default)]
pub(crate) struct Feeds {
    lanes: [Mutex<FxHashMap<Symbol, Arc<SharedFeed>>>; LANES],
}

/// One symbol's feed and whether anyone watches it.
pub(crate) type SharedFeed = Mutex<FeedState>;

pub(crate) struct FeedState {
    pub(crate) feed: Feed,
    /// Someone subscribes to one of its channels: every change goes through the stage.
    pub(crate) watched: bool,
    /// Dropped from [`Feeds`]: a holder looks the symbol up again.
    retired: bool,
}

fn new_feed(symbol: Symbol) -> Arc<SharedFeed> {
    Arc::new(Mutex::new(FeedState {
        feed: Feed::new(symbol),
        watched: false,
        retired: false,
    }))
}

impl Feeds {
    fn lane(&self, symbol: Symbol) -> &Mutex<FxHashMap<Symbol, Arc<SharedFeed>>> {
        &self.lanes[MarketIn::lane_of(symbol) as usize]
    }

    /// `symbol`'s feed, made for a book that never changed when there is none.
    pub(crate) fn get_or_insert(&self, symbol: Symbol) -> Arc<SharedFeed> {
        let mut lane = self.lane(symbol).lock();
        lane.entry(symbol)
            .or_insert_with(|| new_feed(symbol))
            .clone()
    }

    /// `symbol`'s feed, if it has one.
    pub(crate) fn get(&self, symbol: Symbol) -> Option<Arc<SharedFeed>> {
        self.lane(symbol).lock().get(&symbol).cloned()
    }

    /// Drops `symbol`'s feed if its book never changed and nobody watches it (a subscription
    /// to a symbol that never traded, ended): such feeds would otherwise pile up. Not when
    /// its lock is taken: matching, holding it, may be waiting for this lane's map (a feed
    /// matching holds is about to change anyway).
    pub(crate) fn drop_unused(&self, symbol: Symbol) {
        let mut lane = self.lane(symbol).lock();
        let Some(shared) = lane.get(&symbol) else {
            return;
        };
        let Some(mut state) = shared.try_lock() else {
            return;
        };
        if state.feed.depth().seq() == 0 && !state.watched {
            state.retired = true;
            drop(state);
            lane.remove(&symbol);
        }
    }

    /// The feeds of market-data lane `lane` (a `Tick`'s or `Latest`'s), listed under its lock
    /// and read after.
    pub(crate) fn of_lane(&self, lane: u64) -> Vec<Arc<SharedFeed>> {
        let lane = &self.lanes[(lane % LANES as u64) as usize];
        lane.lock().values().cloned().collect()
    }
}

/// Matching's side: applies a change to the book's feed itself when it may (see the module
/// documentation). One per matching lane.
pub(crate) struct Direct {
    feeds: Arc<Feeds>,
    /// The feeds of this lane's books, so a change costs no lookup in [`Feeds`].
    known: FxHashMap<Symbol, Known>,
    /// The symbols whose [`Known`] the batch set: locked or passed.
    touched: Vec<Symbol>,
    /// Scratch: a change's trades with their time.
    trades: Vec<Trade>,
    /// Changes applied in this batch, counted at its end.
    applied: u64,
    metrics: MarketMetrics,
}

struct Known {
    shared: Arc<SharedFeed>,
    /// Held until the batch ends.
    locked: Option<ArcMutexGuard<RawMutex, FeedState>>,
    /// Watched, or behind a change on its way, when the batch looked: its changes go to the
    /// stage until the batch ends, and the stage is not kept waiting for the lock.
    passed: bool,
}

impl Direct {
    pub(crate) fn new(feeds: Arc<Feeds>, metrics: MarketMetrics) -> Direct {
        Direct {
            feeds,
            known: FxHashMap::default(),
            touched: Vec::new(),
            trades: Vec::new(),
            applied: 0,
            metrics,
        }
    }

    /// Applies `delta`, its trades at `time_ms`, to its book's feed if nobody watches it,
    /// the feed is at the previous `seq` and its lock is free; answers whether it did. When
    /// it did not, the caller hands the change to the stage.
    pub(crate) fn apply(&mut self, delta: DeltaRef<'_>, time_ms: u64) -> bool {
        let symbol = delta.symbol;
        let feeds = &self.feeds;
        let known = self.known.entry(symbol).or_insert_with(|| Known {
            shared: feeds.get_or_insert(symbol),
            locked: None,
            passed: false,
        });
        if known.passed {
            return false;
        }
        let state = match &mut known.locked {
            Some(state) => state,
            None => {
                let Some(state) = Mutex::try_lock_arc(&known.shared) else {
                    return false;
                };
                if state.retired {
                    drop(state);
                    // Handed over this once; the next change finds the feed that replaced it.
                    self.known.remove(&symbol);
                    return false;
                }
                self.touched.push(symbol);
                if state.watched || state.feed.depth().seq() + 1 != delta.seq {
                    // The stage has work to do on this feed (fanning out, or catching up
                    // with a change on its way): it is not kept waiting, and the batch's
                    // later changes of the book go to it too.
                    known.passed = true;
                    return false;
                }
                known.locked.insert(state)
            }
        };
        self.trades.clear();
        self.trades
            .extend(delta.trades.iter().map(|t| Trade { time_ms, ..*t }));
        let delta = DeltaRef {
            trades: &self.trades,
            ..delta
        };
        // Nothing wanted: the stage encodes what subscribers get, and there are none. A
        // change out of order (none comes while the feed is held) is refused, unapplied.
        let applied = state.feed.absorb(delta, |_| false).is_ok();
        self.applied += u64::from(applied);
        applied
    }

    /// Unlocks the feeds the batch holds: at the end of each batch, and after a panic.
    pub(crate) fn release(&mut self) {
        self.metrics
            .applied(true, std::mem::take(&mut self.applied));
        for symbol in self.touched.drain(..) {
            if let Some(known) = self.known.get_mut(&symbol) {
                known.locked = None;
                known.passed = false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::BookDelta;
    use crate::pipeline::market::tests::{acme, delta as change};

    /// The ask at 10 set to `seq`, one trade.
    fn delta(seq: u64) -> BookDelta {
        change(seq, seq, Some(1))
    }

    fn seq(feeds: &Feeds) -> u64 {
        feeds.get(acme()).unwrap().lock().feed.depth().seq()
    }

    /// One matching batch of one change: whether matching applied it.
    fn batch(direct: &mut Direct, seq: u64) -> bool {
        let applied = direct.apply(delta(seq).view(), 7);
        direct.release();
        applied
    }

    #[test]
    fn matching_applies_changes_of_unwatched_caught_up_free_feeds_only() {
        let feeds = Arc::new(Feeds::default());
        let mut direct = Direct::new(feeds.clone(), MarketMetrics::register());
        assert!(batch(&mut direct, 1));
        assert_eq!(seq(&feeds), 1);
        let shared = feeds.get(acme()).unwrap();
        let trade = shared.lock().feed.last_trade().copied();
        assert_eq!(trade.map(|t| t.time_ms), Some(7), "the trade's time");

        // A change out of order (one still on its way to the stage) is handed over.
        assert!(!batch(&mut direct, 3));
        // So is one of a book someone watches.
        shared.lock().watched = true;
        assert!(!batch(&mut direct, 2));
        shared.lock().watched = false;
        // And one whose feed is being read: matching does not wait.
        let reading = shared.lock();
        assert!(!batch(&mut direct, 2));
        drop(reading);
        assert!(batch(&mut direct, 2));
        assert_eq!(seq(&feeds), 2, "each change applied once, in order");
    }

    #[test]
    fn a_batch_holds_the_feeds_it_updated_until_it_ends() {
        let feeds = Arc::new(Feeds::default());
        let mut direct = Direct::new(feeds.clone(), MarketMetrics::register());
        assert!(direct.apply(delta(1).view(), 0));
        assert!(direct.apply(delta(2).view(), 0));
        let shared = feeds.get(acme()).unwrap();
        assert!(shared.try_lock().is_none(), "held for the batch");
        direct.release();
        shared.lock().watched = true;
        // A watched feed is let go at once, and the batch's later changes pass it by.
        assert!(!direct.apply(delta(3).view(), 0));
        assert!(shared.try_lock().is_some(), "the stage is not kept waiting");
        shared.lock().watched = false;
        assert!(!direct.apply(delta(3).view(), 0), "still this batch");
        direct.release();
        // So is a feed behind a change on its way: the stage must catch it up.
        assert!(!direct.apply(delta(4).view(), 0));
        assert!(shared.try_lock().is_some(), "the stage is not kept waiting");
        direct.release();
        assert!(batch(&mut direct, 3));
    }

    #[test]
    fn dropping_a_feed_matching_holds_waits_for_nothing() {
        let feeds = Arc::new(Feeds::default());
        let mut direct = Direct::new(feeds.clone(), MarketMetrics::register());
        assert!(
            direct.apply(delta(1).view(), 0),
            "held until the batch ends"
        );
        let (done, dropped) = std::sync::mpsc::channel();
        let f = feeds.clone();
        std::thread::spawn(move || {
            f.drop_unused(acme());
            let _ = done.send(());
        });
        let waited = dropped.recv_timeout(std::time::Duration::from_secs(10));
        assert!(waited.is_ok(), "drop_unused waited for matching's batch");
        assert!(feeds.get(acme()).is_some(), "kept: matching holds it");
        direct.release();
    }

    #[test]
    fn a_dropped_feed_is_looked_up_again() {
        let feeds = Arc::new(Feeds::default());
        let mut direct = Direct::new(feeds.clone(), MarketMetrics::register());
        // A subscription to a book that never changed, ended: its feed is dropped while
        // matching knows it.
        let _ = feeds.get_or_insert(acme());
        assert!(!batch(&mut direct, 2), "not at seq 1");
        feeds.drop_unused(acme());
        assert!(feeds.get(acme()).is_none());
        assert!(!batch(&mut direct, 1), "handed over: its feed was dropped");
        // The stage applies it to a feed of its own.
        let fresh = feeds.get_or_insert(acme());
        fresh
            .lock()
            .feed
            .absorb(delta(1).view(), |_| false)
            .unwrap();
        assert!(batch(&mut direct, 2), "matching found that feed");
        assert_eq!(seq(&feeds), 2);
        feeds.drop_unused(acme());
        assert_eq!(seq(&feeds), 2, "a book that changed keeps its feed");
    }
}
