use std::collections::BTreeMap;

use super::LevelChange;
use crate::matching::{Price, Qty, Side};

/// The levels whose total changed over `first_seq ..= seq`, as absolute totals after `seq`
/// (0: the level is gone): the body of a `depth_update`.
///
/// # Examples
///
/// ```
/// use sedaflow_stages::market::{DepthUpdate, LevelChange};
/// use sedaflow_stages::matching::{Price, Side};
///
/// let price = Price::parse("10").unwrap();
/// let mut update = DepthUpdate::new(7, &[LevelChange { side: Side::Buy, price, total: 5 }]);
/// update.merge(&DepthUpdate::new(8, &[LevelChange { side: Side::Buy, price, total: 0 }]));
/// assert_eq!((update.first_seq, update.seq), (7, 8));
/// assert_eq!(update.bids.get(&price), Some(&0));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DepthUpdate {
    /// The first sequence number covered.
    pub first_seq: u64,
    /// The last one: the book state the totals show.
    pub seq: u64,
    /// Changed bid levels and their totals.
    pub bids: BTreeMap<Price, Qty>,
    /// Changed ask levels and their totals.
    pub asks: BTreeMap<Price, Qty>,
}

impl DepthUpdate {
    /// The update of one delta: `seq ..= seq` with its level changes (a later change of the
    /// same level wins).
    pub fn new(seq: u64, levels: &[LevelChange]) -> DepthUpdate {
        let mut update = DepthUpdate {
            first_seq: seq,
            seq,
            ..DepthUpdate::default()
        };
        for change in levels {
            let side = match change.side {
                Side::Buy => &mut update.bids,
                Side::Sell => &mut update.asks,
            };
            side.insert(change.price, change.total);
        }
        update
    }

    /// Folds the next update in: the union of the levels with `later`'s totals, ending at
    /// `later.seq`. Applying the result to the book at `first_seq − 1` gives the same book
    /// as applying both, because every total is absolute.
    ///
    /// # Panics
    ///
    /// In debug builds, when `later` does not follow on at once (`later.first_seq` must be
    /// `seq + 1`): merging across a gap would hide it.
    pub fn merge(&mut self, later: &DepthUpdate) {
        debug_assert_eq!(later.first_seq, self.seq + 1, "merging across a gap");
        self.seq = later.seq;
        self.bids.extend(&later.bids);
        self.asks.extend(&later.asks);
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
    fn merging_keeps_the_latest_total_of_every_level() {
        let mut update =
            DepthUpdate::new(3, &[change(Side::Buy, 10, 5), change(Side::Sell, 20, 1)]);
        update.merge(&DepthUpdate::new(4, &[change(Side::Buy, 10, 0)]));
        update.merge(&DepthUpdate::new(
            5,
            &[change(Side::Buy, 9, 2), change(Side::Sell, 20, 7)],
        ));
        assert_eq!((update.first_seq, update.seq), (3, 5));
        let bids: Vec<_> = update.bids.iter().map(|(p, q)| (p.ticks(), *q)).collect();
        let asks: Vec<_> = update.asks.iter().map(|(p, q)| (p.ticks(), *q)).collect();
        assert_eq!(bids, [(9, 2), (10, 0)]);
        assert_eq!(asks, [(20, 7)]);
    }

    #[test]
    fn a_later_change_of_one_level_in_a_delta_wins() {
        let update = DepthUpdate::new(1, &[change(Side::Sell, 5, 1), change(Side::Sell, 5, 3)]);
        assert_eq!(update.asks.values().copied().collect::<Vec<_>>(), [3]);
    }
}
