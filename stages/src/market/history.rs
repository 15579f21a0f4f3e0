use std::collections::VecDeque;

/// How many trades, and candles per interval, each symbol keeps for the HTTP snapshots.
pub const HISTORY_LEN: usize = 1000;

/// The last [`HISTORY_LEN`] items, oldest first: pushing onto a full history drops the
/// oldest.
#[derive(Clone, Debug)]
pub struct History<T> {
    items: VecDeque<T>,
}

impl<T> Default for History<T> {
    fn default() -> History<T> {
        History {
            items: VecDeque::new(),
        }
    }
}

impl<T> History<T> {
    /// Appends `item`, dropping the oldest when full.
    pub fn push(&mut self, item: T) {
        if self.items.len() == HISTORY_LEN {
            self.items.pop_front();
        }
        self.items.push_back(item);
    }

    /// The newest `limit` items (all when fewer), oldest first.
    pub fn last(&self, limit: usize) -> impl DoubleEndedIterator<Item = &T> + ExactSizeIterator {
        self.items.range(self.items.len().saturating_sub(limit)..)
    }

    /// How many items are held.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest_items_oldest_first() {
        let mut history = History::default();
        for item in 0..HISTORY_LEN + 5 {
            history.push(item);
        }
        assert_eq!(history.len(), HISTORY_LEN);
        assert_eq!(
            history.last(3).copied().collect::<Vec<_>>(),
            [1002, 1003, 1004]
        );
        assert_eq!(history.last(usize::MAX).next(), Some(&5));
        assert!(History::<u8>::default().last(10).next().is_none());
    }
}
