//! What one request did to a book: whether its resting orders changed (which moves the
//! book's depth sequence) and, when the caller asked for it, the [`BookDelta`](crate::matching::BookDelta) for market
//! data.

use crate::matching::{DeltaRef, DeltaSink, LevelChange, Levels, Trade, Trades};
use crate::matching::{Price, Qty, Side, Symbol};

/// A request's changes to one book, gathered while it runs.
///
/// Every change to resting orders changes some level's total (a fill or cancel lowers it,
/// an order that rests raises it, an amend does one or both at different levels or with a
/// different quantity), so "a level changed" is the sequence rule's "the resting orders
/// changed". Plain [`Book::submit`](super::Book::submit) only sets the flag; the delta
/// path also records the levels and trades.
#[derive(Debug, Default)]
pub(super) struct Changes {
    changed: bool,
    /// Whether this request records its delta.
    recording: bool,
    /// The levels and trades of the request so far, kept between requests (cleared at each
    /// start) so a request's delta is made in place, never moved; a level appears once per
    /// change and is deduplicated when the delta is made.
    levels: Levels,
    trades: Trades,
}

impl Changes {
    /// Starts a request: nothing changed yet, and a delta is recorded when `record`.
    #[inline]
    pub(super) fn start(&mut self, record: bool) {
        self.changed = false;
        self.recording = record;
        if record {
            self.levels.clear();
            self.trades.clear();
        }
    }

    /// The level at `price` on `side` now holds `total` (0: it is gone).
    #[inline]
    pub(super) fn level(&mut self, side: Side, price: Price, total: Qty) {
        self.changed = true;
        if self.recording {
            self.levels.push(LevelChange { side, price, total });
        }
    }

    /// A trade at the resting order's `price`. The engine has no clock: `time_ms` is left 0
    /// for the caller to stamp.
    #[inline]
    pub(super) fn trade(&mut self, match_id: u64, price: Price, qty: Qty, taker: Side) {
        if self.recording {
            self.trades.push(Trade {
                match_id,
                price,
                qty,
                taker,
                time_ms: 0,
            });
        }
    }

    /// Ends the request: when it changed the book, moves `seq` on and puts the recorded
    /// delta in `deltas` (if given and recording). Records nothing more until the next
    /// [`Changes::start`] asks for it.
    pub(super) fn finish(
        &mut self,
        symbol: Symbol,
        seq: &mut u64,
        deltas: Option<&mut (dyn DeltaSink + '_)>,
    ) {
        let recording = std::mem::take(&mut self.recording);
        if !self.changed {
            return;
        }
        self.changed = false;
        *seq += 1;
        let (true, Some(deltas)) = (recording, deltas) else {
            return;
        };
        last_per_level(&mut self.levels);
        deltas.put(DeltaRef {
            symbol,
            seq: *seq,
            levels: &self.levels,
            trades: &self.trades,
        });
    }
}

/// Keeps each level once, with its latest total: bids then asks, each by ascending price.
fn last_per_level(levels: &mut Levels) {
    if levels.len() > 1 {
        // Stable, so a level's changes keep their order and the last one is its total now.
        levels.sort_by_key(|change| (change.side == Side::Sell, change.price));
        levels.dedup_by(|later, kept| {
            let same = (later.side, later.price) == (kept.side, kept.price);
            if same {
                kept.total = later.total;
            }
            same
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(side: Side, ticks: u64, total: Qty) -> LevelChange {
        LevelChange {
            side,
            price: Price::from_ticks(ticks).unwrap(),
            total,
        }
    }

    #[test]
    fn keeps_the_last_total_of_each_level_in_side_and_price_order() {
        let mut levels: Levels = vec![
            change(Side::Sell, 5, 3),
            change(Side::Buy, 7, 10),
            change(Side::Sell, 5, 0),
            change(Side::Buy, 6, 1),
            change(Side::Buy, 7, 4),
        ]
        .into();
        last_per_level(&mut levels);
        assert_eq!(
            levels.as_slice(),
            [
                change(Side::Buy, 6, 1),
                change(Side::Buy, 7, 4),
                change(Side::Sell, 5, 0)
            ]
        );
    }

    #[test]
    fn moves_the_sequence_only_when_something_changed() {
        let symbol = Symbol::new("ACME").unwrap();
        let (mut changes, mut seq) = (Changes::default(), 0);
        let mut deltas: Vec<crate::matching::BookDelta> = Vec::new();
        changes.start(true);
        changes.finish(symbol, &mut seq, Some(&mut deltas));
        assert_eq!((seq, deltas.len()), (0, 0));
        changes.start(false);
        changes.level(Side::Buy, Price::from_ticks(1).unwrap(), 1);
        changes.finish(symbol, &mut seq, Some(&mut deltas));
        // Not recording: the sequence moves, no delta.
        assert_eq!((seq, deltas.len()), (1, 0));
        changes.start(true);
        changes.level(Side::Buy, Price::from_ticks(1).unwrap(), 0);
        changes.finish(symbol, &mut seq, Some(&mut deltas));
        assert_eq!(seq, 2);
        assert_eq!(deltas[0].seq, 2);
        assert_eq!(deltas[0].levels.as_slice(), [change(Side::Buy, 1, 0)]);
    }
}
