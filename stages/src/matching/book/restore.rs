//! The resting list a journal snapshot stores, and the book rebuilt from it.

use super::{Book, Incoming};
use crate::matching::slab::NIL;
use crate::matching::{Resting, RestoreError, Symbol, To};

impl Book {
    /// The resting orders: bids then asks, each side best level first, each level in time
    /// priority. [`Book::restore`] with this list, [`Book::last_match`] and [`Book::seq`]
    /// rebuilds the book.
    pub fn resting(&self) -> impl Iterator<Item = Resting> + '_ {
        [&self.bids, &self.asks]
            .into_iter()
            .flat_map(move |ladder| {
                ladder.levels().iter().rev().flat_map(move |level| {
                    let first = (level.head != NIL).then_some(level.head);
                    std::iter::successors(first, move |&slot| {
                        let next = self.orders.get(slot).next;
                        (next != NIL).then_some(next)
                    })
                    .map(move |slot| self.resting_at(slot))
                })
            })
    }

    /// Rebuilds a book whose latest trade was `last_match` and depth sequence `seq` from its
    /// resting orders, each price level's orders in time priority (as [`Book::resting`]
    /// lists them), so its `match` ids and sequence carry on. The orders are put on the
    /// book as they are, without matching: a list taken from a book never crosses. Their
    /// `tif` and `stp` are kept.
    ///
    /// # Errors
    ///
    /// [`RestoreError`] for an account's id listed twice or an order without quantity.
    pub fn restore(
        symbol: Symbol,
        last_match: u64,
        seq: u64,
        orders: impl IntoIterator<Item = Resting>,
    ) -> Result<Book, RestoreError> {
        let mut book = Book::new(symbol);
        book.last_match = last_match;
        book.seq = seq;
        let mut unused = Vec::new();
        for o in orders {
            if o.leaves == 0 {
                return Err(RestoreError::NoQuantity(o.id));
            }
            if book.index.contains_key(&(o.owner, o.id)) {
                return Err(RestoreError::DuplicateId(o.id));
            }
            let order = Incoming {
                id: o.id,
                side: o.side,
                qty: o.leaves,
                limit: Some(o.price),
                tif: o.tif,
                stp: o.stp,
                to: To::Owner(o.owner),
            };
            book.rest(o.owner, order, o.price, o.leaves, &mut unused);
        }
        // Putting the orders back is no request: nothing to carry into the next one.
        book.changes.start(false);
        Ok(book)
    }
}
