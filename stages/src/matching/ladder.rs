use super::slab::NIL;
use super::{Price, Qty, Side};

/// How many levels next to the best are scanned one by one before a binary search: most
/// orders arrive near the top of the book.
const NEAR_BEST: usize = 8;

/// What a ladder holds per price: its key, and what a new level starts as.
pub(crate) trait Rung {
    /// The level's key (see [`Ladder::key`]).
    fn key(&self) -> u64;
    /// An empty level at `key`.
    fn at(key: u64) -> Self;
}

/// A price level: the FIFO of the orders resting at one price, as slab links, and their
/// total open quantity (what market data shows for the level).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Level {
    pub(crate) key: u64,
    pub(crate) head: u32,
    pub(crate) tail: u32,
    pub(crate) total: Qty,
}

impl Rung for Level {
    fn key(&self) -> u64 {
        self.key
    }

    fn at(key: u64) -> Level {
        Level {
            key,
            head: NIL,
            tail: NIL,
            total: 0,
        }
    }
}

/// One side's price levels, sorted by key with the best level last, so taking liquidity
/// pops from the end and new levels near the top move little. Matching's books hold
/// [`Level`]s; market data's aggregated depth holds only each level's total.
///
/// A level's key grows as its price gets better for this side: the price itself for bids,
/// its complement for asks. So "crosses a limit" is one `>=` on either side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Ladder<L = Level> {
    side: Side,
    levels: Vec<L>,
}

impl<L: Rung> Ladder<L> {
    pub(crate) fn new(side: Side) -> Ladder<L> {
        Ladder {
            side,
            levels: Vec::new(),
        }
    }

    /// The key of `price` on this side.
    pub(crate) fn key(&self, price: Price) -> u64 {
        match self.side {
            Side::Buy => price.ticks(),
            Side::Sell => u64::MAX - price.ticks(),
        }
    }

    /// The price of a level's key on this side.
    pub(crate) fn price(&self, key: u64) -> Price {
        let ticks = match self.side {
            Side::Buy => key,
            Side::Sell => u64::MAX - key,
        };
        // Keys are only ever made from valid prices by `key`.
        Price::from_ticks(ticks).unwrap_or(Price::MAX)
    }

    /// The key a level must reach to cross an incoming order's `limit`; every level crosses
    /// a market order (`None`).
    pub(crate) fn threshold(&self, limit: Option<Price>) -> u64 {
        limit.map_or(0, |price| self.key(price))
    }

    /// The levels that cross `limit`, best first.
    pub(crate) fn crossing(&self, limit: Option<Price>) -> impl Iterator<Item = &L> {
        let threshold = self.threshold(limit);
        self.levels
            .iter()
            .rev()
            .take_while(move |level| level.key() >= threshold)
    }

    pub(crate) fn best(&self) -> Option<&L> {
        self.levels.last()
    }

    pub(crate) fn best_mut(&mut self) -> Option<&mut L> {
        self.levels.last_mut()
    }

    pub(crate) fn pop_best(&mut self) {
        self.levels.pop();
    }

    /// The level at `key`, created empty if missing.
    pub(crate) fn entry(&mut self, key: u64) -> &mut L {
        let index = match self.search(key) {
            Ok(index) => index,
            Err(index) => {
                self.levels.insert(index, L::at(key));
                index
            }
        };
        &mut self.levels[index]
    }

    /// The index of the level at `key`.
    pub(crate) fn find(&self, key: u64) -> Option<usize> {
        self.search(key).ok()
    }

    pub(crate) fn get_mut(&mut self, index: usize) -> &mut L {
        &mut self.levels[index]
    }

    pub(crate) fn remove(&mut self, index: usize) {
        self.levels.remove(index);
    }

    /// Levels, worst first.
    pub(crate) fn levels(&self) -> &[L] {
        &self.levels
    }

    /// Like `binary_search`, but tries the levels next to the best first.
    fn search(&self, key: u64) -> Result<usize, usize> {
        let len = self.levels.len();
        let near = len.saturating_sub(NEAR_BEST);
        for index in (near..len).rev() {
            let here = self.levels[index].key();
            if here == key {
                return Ok(index);
            }
            if here < key {
                return Err(index + 1);
            }
        }
        self.levels[..near].binary_search_by_key(&key, Rung::key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn price(ticks: u64) -> Price {
        Price::from_ticks(ticks).unwrap()
    }

    fn keys(ladder: &Ladder) -> Vec<u64> {
        ladder.levels().iter().map(|level| level.key).collect()
    }

    #[test]
    fn best_is_last_on_both_sides() {
        let mut bids = Ladder::<Level>::new(Side::Buy);
        let mut asks = Ladder::<Level>::new(Side::Sell);
        for ticks in [5, 1, 9, 3, 7] {
            bids.entry(bids.key(price(ticks)));
            asks.entry(asks.key(price(ticks)));
        }
        let best_bid = bids.best_mut().unwrap().key;
        assert_eq!(bids.price(best_bid), price(9));
        let best_ask = asks.best_mut().unwrap().key;
        assert_eq!(asks.price(best_ask), price(1));
    }

    #[test]
    fn keeps_levels_sorted_far_from_the_best() {
        let mut ladder = Ladder::<Level>::new(Side::Buy);
        // Inserts far below the best go through the binary search.
        for ticks in (1..=40).rev().chain([20, 41, 1, 100]) {
            ladder.entry(ladder.key(price(ticks)));
        }
        let keys = keys(&ladder);
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(keys, sorted);
        assert_eq!(keys.len(), 42);
        assert_eq!(ladder.find(ladder.key(price(3))), Some(2));
        assert_eq!(ladder.find(ladder.key(price(50))), None);
        ladder.remove(2);
        assert_eq!(ladder.find(ladder.key(price(3))), None);
        ladder.pop_best();
        assert_eq!(ladder.best_mut().map(|level| level.key), Some(41));
    }

    #[test]
    fn crossing_levels_come_best_first_up_to_the_limit() {
        let mut asks = Ladder::<Level>::new(Side::Sell);
        for ticks in [12, 10, 11, 15] {
            asks.entry(asks.key(price(ticks)));
        }
        let crossing = |limit| -> Vec<Price> {
            asks.crossing(limit)
                .map(|level| asks.price(level.key))
                .collect()
        };
        assert_eq!(crossing(Some(price(11))), [price(10), price(11)]);
        assert_eq!(crossing(Some(price(9))), []);
        assert_eq!(crossing(None).len(), 4);
    }

    #[test]
    fn entry_returns_the_existing_level() {
        let mut ladder = Ladder::<Level>::new(Side::Sell);
        let key = ladder.key(price(10));
        ladder.entry(key).head = 7;
        assert_eq!(ladder.entry(key).head, 7);
        assert_eq!(ladder.levels().len(), 1);
        let index = ladder.find(key).unwrap();
        assert_eq!(ladder.get_mut(index).head, 7);
    }
}
