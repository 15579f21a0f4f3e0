use super::{DeltaError, LevelChange};
use crate::matching::{Ladder, Price, Qty, Rung, Side};

/// One book aggregated per price level, at a sequence number.
///
/// Each side is a `Ladder` like matching's own, best level last: the levels a request
/// changes are mostly at or next to the best, so finding one is a short scan, a new level
/// there moves little, and the best bid and offer are each side's last level.
///
/// # Examples
///
/// ```
/// use sedaflow_stages::market::{Depth, LevelChange};
/// use sedaflow_stages::matching::{Price, Side};
///
/// let mut depth = Depth::default();
/// let ask = Price::parse("10.05").unwrap();
/// let change = LevelChange { side: Side::Sell, price: ask, total: 100 };
/// assert_eq!(depth.apply(1, &[change]), Ok(true));
/// assert_eq!(depth.bbo().ask, Some((ask, 100)));
/// assert_eq!(depth.asks().collect::<Vec<_>>(), [(ask, 100)]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Depth {
    seq: u64,
    bids: Ladder<Total>,
    asks: Ladder<Total>,
}

/// A level's key and total.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Total {
    key: u64,
    qty: Qty,
}

impl Rung for Total {
    fn key(&self) -> u64 {
        self.key
    }

    fn at(key: u64) -> Total {
        Total { key, qty: 0 }
    }
}

impl Default for Depth {
    fn default() -> Depth {
        Depth {
            seq: 0,
            bids: Ladder::new(Side::Buy),
            asks: Ladder::new(Side::Sell),
        }
    }
}

impl Depth {
    /// The sequence number of the state held: 0 for a book that never changed.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The bid levels, best (highest) first.
    pub fn bids(&self) -> impl Iterator<Item = (Price, Qty)> + '_ {
        best_first(&self.bids)
    }

    /// The ask levels, best (lowest) first.
    pub fn asks(&self) -> impl Iterator<Item = (Price, Qty)> + '_ {
        best_first(&self.asks)
    }

    /// The best bid and offer now.
    pub fn bbo(&self) -> Bbo {
        Bbo {
            seq: self.seq,
            bid: self.bids().next(),
            ask: self.asks().next(),
        }
    }

    /// Sets each changed level's total (0 removes it) and moves to `seq`, which must be the
    /// next number; answers whether the best bid or offer (price or total) changed.
    ///
    /// # Errors
    ///
    /// [`DeltaError::Stale`] when `seq` is not above the held one, [`DeltaError::Gap`] when
    /// it skips some; nothing changes then.
    pub fn apply(&mut self, seq: u64, levels: &[LevelChange]) -> Result<bool, DeltaError> {
        let expected = self.seq + 1;
        if seq < expected {
            return Err(DeltaError::Stale {
                seq,
                current: self.seq,
            });
        }
        if seq > expected {
            return Err(DeltaError::Gap { seq, expected });
        }
        let before = (self.bids.best().copied(), self.asks.best().copied());
        for change in levels {
            let side = match change.side {
                Side::Buy => &mut self.bids,
                Side::Sell => &mut self.asks,
            };
            let key = side.key(change.price);
            if change.total > 0 {
                side.entry(key).qty = change.total;
            } else if let Some(index) = side.find(key) {
                side.remove(index);
            }
        }
        self.seq = seq;
        Ok(before != (self.bids.best().copied(), self.asks.best().copied()))
    }
}

fn best_first(side: &Ladder<Total>) -> impl Iterator<Item = (Price, Qty)> + '_ {
    let levels = side.levels().iter().rev();
    levels.map(|level| (side.price(level.key), level.qty))
}

/// The best bid and offer with the total at each, as of `seq`; `None` for an empty side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bbo {
    /// The sequence number of the book state shown.
    pub seq: u64,
    /// The highest bid and its total.
    pub bid: Option<(Price, Qty)>,
    /// The lowest ask and its total.
    pub ask: Option<(Price, Qty)>,
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    fn level(side: Side, price: &str, total: Qty) -> LevelChange {
        LevelChange {
            side,
            price: Price::parse(price).unwrap(),
            total,
        }
    }

    fn prices(levels: impl Iterator<Item = (Price, Qty)>) -> Vec<String> {
        levels.map(|(p, q)| format!("{p}:{q}")).collect()
    }

    #[test]
    fn orders_bids_down_and_asks_up() {
        let mut depth = Depth::default();
        let levels = [
            level(Side::Buy, "9.99", 100),
            level(Side::Buy, "10", 300),
            level(Side::Sell, "10.1", 5),
            level(Side::Sell, "10.05", 60),
        ];
        depth.apply(1, &levels).unwrap();
        assert_eq!(prices(depth.bids()), ["10:300", "9.99:100"]);
        assert_eq!(prices(depth.asks()), ["10.05:60", "10.1:5"]);
        assert_eq!(depth.seq(), 1);
    }

    #[test]
    fn a_zero_total_removes_the_level() {
        let mut depth = Depth::default();
        depth.apply(1, &[level(Side::Sell, "10", 5)]).unwrap();
        assert_eq!(depth.apply(2, &[level(Side::Sell, "10", 0)]), Ok(true));
        assert_eq!(depth.asks().count(), 0);
        assert_eq!(depth.bbo().ask, None);
    }

    #[test]
    fn reports_bbo_changes_only() {
        let mut depth = Depth::default();
        assert_eq!(depth.apply(1, &[level(Side::Buy, "10", 5)]), Ok(true));
        // Behind the best bid: the bbo stays.
        assert_eq!(depth.apply(2, &[level(Side::Buy, "9", 5)]), Ok(false));
        // The best total changes.
        assert_eq!(depth.apply(3, &[level(Side::Buy, "10", 4)]), Ok(true));
        // A delta that changed no total still moves the sequence.
        assert_eq!(depth.apply(4, &[]), Ok(false));
        assert_eq!(depth.bbo().seq, 4);
    }

    #[test]
    fn only_changes_at_or_through_the_best_move_the_bbo() {
        let mut depth = Depth::default();
        let book = [
            level(Side::Buy, "10", 5),
            level(Side::Buy, "9", 5),
            level(Side::Sell, "11", 5),
            level(Side::Sell, "12", 5),
        ];
        assert_eq!(depth.apply(1, &book), Ok(true));
        // Behind the best on both sides, added and removed: the bbo stays.
        let behind = [level(Side::Buy, "9", 0), level(Side::Sell, "13", 7)];
        assert_eq!(depth.apply(2, &behind), Ok(false));
        // Through the best: a higher bid, and the best ask gone.
        assert_eq!(depth.apply(3, &[level(Side::Buy, "10.5", 1)]), Ok(true));
        assert_eq!(depth.apply(4, &[level(Side::Sell, "11", 0)]), Ok(true));
        let bbo = depth.bbo();
        assert_eq!(prices(bbo.bid.into_iter()), ["10.5:1"]);
        assert_eq!(prices(bbo.ask.into_iter()), ["12:5"]);
        // At the best with the same total: looked at, and unchanged.
        assert_eq!(depth.apply(5, &[level(Side::Sell, "12", 5)]), Ok(false));
    }

    #[test]
    fn refuses_stale_and_gapped_sequences() {
        let mut depth = Depth::default();
        depth.apply(1, &[level(Side::Buy, "10", 5)]).unwrap();
        let before = depth.clone();
        assert_eq!(
            depth.apply(1, &[level(Side::Buy, "10", 9)]),
            Err(DeltaError::Stale { seq: 1, current: 1 })
        );
        assert_eq!(
            depth.apply(3, &[level(Side::Buy, "10", 9)]),
            Err(DeltaError::Gap {
                seq: 3,
                expected: 2
            })
        );
        assert_eq!(depth, before);
    }

    proptest! {
        /// Against a map per side: the same levels in the same order, and a bbo change
        /// reported exactly when the best bid or offer moved (the ladder scans near the best
        /// and searches beyond it, so prices spread over both).
        #[test]
        fn matches_a_sorted_map_per_side(
            deltas in proptest::collection::vec(
                proptest::collection::vec((any::<bool>(), 1u64..40, 0u64..4), 0..4),
                1..60,
            ),
        ) {
            let mut depth = Depth::default();
            let mut sides: [BTreeMap<u64, Qty>; 2] = Default::default();
            for (i, changes) in deltas.iter().enumerate() {
                let levels: Vec<LevelChange> = changes
                    .iter()
                    .map(|&(buy, ticks, total)| LevelChange {
                        side: if buy { Side::Buy } else { Side::Sell },
                        price: Price::from_ticks(ticks).unwrap(),
                        total,
                    })
                    .collect();
                let best = |sides: &[BTreeMap<u64, Qty>; 2]| {
                    let bid = sides[0].iter().next_back().map(|(&p, &q)| (p, q));
                    (bid, sides[1].iter().next().map(|(&p, &q)| (p, q)))
                };
                let before = best(&sides);
                for &(buy, ticks, total) in changes {
                    let side = &mut sides[usize::from(!buy)];
                    match total {
                        0 => side.remove(&ticks),
                        total => side.insert(ticks, total),
                    };
                }
                let moved = depth.apply(i as u64 + 1, &levels).unwrap();
                prop_assert_eq!(moved, before != best(&sides));
                let ticks = |levels: Vec<(Price, Qty)>| -> Vec<(u64, Qty)> {
                    levels.into_iter().map(|(p, q)| (p.ticks(), q)).collect()
                };
                let bids: Vec<_> = sides[0].iter().rev().map(|(&p, &q)| (p, q)).collect();
                let asks: Vec<_> = sides[1].iter().map(|(&p, &q)| (p, q)).collect();
                prop_assert_eq!(ticks(depth.bids().collect()), bids);
                prop_assert_eq!(ticks(depth.asks().collect()), asks);
            }
        }
    }
}
