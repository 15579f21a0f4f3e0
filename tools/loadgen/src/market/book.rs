use std::collections::BTreeMap;

use sedaflow_stages::matching::Price;

use super::message::Levels;

/// A book as depth messages describe it: the total quantity at each price level, per side.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct LevelBook {
    bids: BTreeMap<Price, u64>,
    asks: BTreeMap<Price, u64>,
}

impl LevelBook {
    /// The book a `depth` snapshot shows.
    pub(crate) fn of(levels: &Levels) -> LevelBook {
        let mut book = LevelBook::default();
        book.apply(levels);
        book
    }

    /// Applies a `depth_update`: each level's new total, `0` removing it.
    pub(crate) fn apply(&mut self, levels: &Levels) {
        for (side, changes) in [
            (&mut self.bids, &levels.bids),
            (&mut self.asks, &levels.asks),
        ] {
            for &(price, qty) in changes {
                match qty {
                    0 => side.remove(&price),
                    qty => side.insert(price, qty),
                };
            }
        }
    }

    /// Price levels on both sides.
    #[cfg(test)]
    pub(crate) fn depth(&self) -> (usize, usize) {
        (self.bids.len(), self.asks.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn levels(bids: &[(&str, u64)], asks: &[(&str, u64)]) -> Levels {
        let side = |side: &[(&str, u64)]| {
            side.iter()
                .map(|&(p, q)| (Price::parse(p).unwrap(), q))
                .collect()
        };
        Levels {
            bids: side(bids),
            asks: side(asks),
        }
    }

    #[test]
    fn the_contract_examples_updates_rebuild_the_book() {
        let mut book = LevelBook::of(&levels(&[], &[]));
        book.apply(&levels(&[], &[("10.05", 100)]));
        book.apply(&levels(&[], &[("10.05", 60)]));
        assert_eq!(book, LevelBook::of(&levels(&[], &[("10.05", 60)])));
        book.apply(&levels(&[("10", 300)], &[("10.05", 0)]));
        assert_eq!(book.depth(), (1, 0));
        assert_eq!(book, LevelBook::of(&levels(&[("10", 300)], &[])));
    }

    #[test]
    fn books_differ_by_a_level_or_a_quantity() {
        let snapshot = LevelBook::of(&levels(&[("10", 300), ("9.99", 100)], &[("10.05", 60)]));
        let mut book = snapshot.clone();
        book.apply(&levels(&[("9.99", 99)], &[]));
        assert_ne!(book, snapshot);
        book.apply(&levels(&[("9.99", 100), ("9.98", 1)], &[]));
        assert_ne!(book, snapshot);
        book.apply(&levels(&[("9.98", 0)], &[]));
        assert_eq!(book, snapshot);
        // The same price written another way is the same level.
        assert_eq!(
            LevelBook::of(&levels(&[("10.50", 1)], &[])),
            LevelBook::of(&levels(&[("10.5", 1)], &[]))
        );
    }
}
