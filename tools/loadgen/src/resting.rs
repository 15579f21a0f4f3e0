use std::collections::HashMap;

use super::rng::Rng;
use sedaflow_stages::matching::OrderId;

/// The most resting orders a connection remembers as cancel candidates. Older ones are
/// forgotten (they stay on the book), so memory does not follow the book's depth.
pub(crate) const MAX_CANDIDATES: usize = 1024;

/// This connection's orders known to rest on a book: acked `gtc` limits not yet `done`.
///
/// Every operation is O(1): a vector of candidates plus an index by id, removal by swap.
#[derive(Debug, Default)]
pub(crate) struct RestingSet {
    /// `(id, index of the symbol in the mix's symbol set)`.
    orders: Vec<(OrderId, usize)>,
    position: HashMap<OrderId, usize>,
}

impl RestingSet {
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.orders.len()
    }

    /// Remembers an acked resting order; when full, forgets a random older one for it.
    pub(crate) fn insert(&mut self, id: OrderId, symbol: usize, rng: &mut Rng) {
        if self.position.contains_key(&id) {
            return;
        }
        if self.orders.len() >= MAX_CANDIDATES {
            self.take_at(rng.below(self.orders.len() as u64) as usize);
        }
        self.position.insert(id, self.orders.len());
        self.orders.push((id, symbol));
    }

    /// Forgets an order that left the book; unknown ids are fine (forgotten or never
    /// resting).
    pub(crate) fn remove(&mut self, id: OrderId) {
        if let Some(index) = self.position.get(&id).copied() {
            self.take_at(index);
        }
    }

    /// Takes a random candidate to cancel, so it is not cancelled twice.
    pub(crate) fn take_random(&mut self, rng: &mut Rng) -> Option<(OrderId, usize)> {
        if self.orders.is_empty() {
            return None;
        }
        let index = rng.below(self.orders.len() as u64) as usize;
        Some(self.take_at(index))
    }

    /// A random candidate to amend; it stays a candidate.
    pub(crate) fn pick_random(&self, rng: &mut Rng) -> Option<(OrderId, usize)> {
        if self.orders.is_empty() {
            return None;
        }
        Some(self.orders[rng.below(self.orders.len() as u64) as usize])
    }

    fn take_at(&mut self, index: usize) -> (OrderId, usize) {
        let taken = self.orders.swap_remove(index);
        self.position.remove(&taken.0);
        if let Some(&(moved, _)) = self.orders.get(index) {
            self.position.insert(moved, index);
        }
        taken
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_remove_take() {
        let mut rng = Rng::new(3);
        let mut set = RestingSet::default();
        for id in 1..=5 {
            set.insert(id, id as usize % 2, &mut rng);
        }
        set.insert(3, 0, &mut rng);
        assert_eq!(set.len(), 5);
        set.remove(2);
        set.remove(99);
        assert_eq!(set.len(), 4);
        let mut taken = Vec::new();
        while let Some((id, symbol)) = set.take_random(&mut rng) {
            assert_eq!(symbol, id as usize % 2);
            taken.push(id);
        }
        taken.sort_unstable();
        assert_eq!(taken, [1, 3, 4, 5]);
        assert_eq!(set.take_random(&mut rng), None);
    }

    #[test]
    fn stays_bounded_and_consistent() {
        let mut rng = Rng::new(9);
        let mut set = RestingSet::default();
        for id in 0..(MAX_CANDIDATES as u64 * 3) {
            set.insert(id, 0, &mut rng);
            if id % 3 == 0 {
                set.remove(id / 2);
            }
        }
        assert!(set.len() <= MAX_CANDIDATES);
        for (index, &(id, _)) in set.orders.iter().enumerate() {
            assert_eq!(set.position.get(&id), Some(&index));
        }
        assert_eq!(set.position.len(), set.orders.len());
    }
}
