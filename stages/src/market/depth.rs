use std::collections::BTreeMap;

use super::{DeltaError, LevelChange};
use crate::matching::{Price, Qty, Side};

/// One book aggregated per price level, at a sequence number.
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
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Depth {
    seq: u64,
    bids: BTreeMap<Price, Qty>,
    asks: BTreeMap<Price, Qty>,
}

impl Depth {
    /// The sequence number of the state held: 0 for a book that never changed.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The bid levels, best (highest) first.
    pub fn bids(&self) -> impl Iterator<Item = (Price, Qty)> + '_ {
        self.bids.iter().rev().map(|(&price, &qty)| (price, qty))
    }

    /// The ask levels, best (lowest) first.
    pub fn asks(&self) -> impl Iterator<Item = (Price, Qty)> + '_ {
        self.asks.iter().map(|(&price, &qty)| (price, qty))
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
        let before = self.bbo();
        for change in levels {
            let side = match change.side {
                Side::Buy => &mut self.bids,
                Side::Sell => &mut self.asks,
            };
            if change.total == 0 {
                side.remove(&change.price);
            } else {
                side.insert(change.price, change.total);
            }
        }
        self.seq = seq;
        let after = self.bbo();
        Ok((before.bid, before.ask) != (after.bid, after.ask))
    }
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
}
