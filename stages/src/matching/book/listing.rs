//! `orders` and `cancel_all`: an account's resting orders over one book or several.
//!
//! Both scan the books' indexes rather than keep a per-account index, which every order
//! entering or leaving would have to maintain: these requests are rare, orders are not.

use super::{done, Book};
use crate::matching::DeltaSink;
use crate::matching::{
    DoneReason, OrderId, Outcome, Owner, Report, ReportKind, Resting, Symbol, To,
};

impl Book {
    /// The slots of the resting orders of `owner`, in no particular order.
    fn owned(&self, owner: Owner) -> impl Iterator<Item = u32> + '_ {
        self.index
            .iter()
            .filter(move |(key, _)| key.0 == owner)
            .map(|(_, &slot)| slot)
    }
}

/// Sorts listed orders ascending by id, then symbol (an account's id may rest on several).
fn sort(listed: &mut [(Symbol, Resting)]) {
    listed.sort_unstable_by_key(|(symbol, order)| (order.id, *symbol));
}

/// Answers `orders`: one `order` per resting order of `owner` in `books`, ascending by id
/// (then symbol), then `orders_end` with their count, all to the sender.
pub(in crate::matching) fn list_orders<'a>(
    books: impl IntoIterator<Item = &'a Book>,
    owner: Owner,
    out: &mut Vec<Report>,
) -> Outcome {
    let mut listed = Vec::new();
    for book in books {
        listed.extend(
            book.owned(owner)
                .map(|slot| (book.symbol, book.resting_at(slot))),
        );
    }
    sort(&mut listed);
    let count = listed.len() as u64;
    out.extend(listed.into_iter().map(|(symbol, order)| Report {
        to: To::Sender,
        kind: ReportKind::Order {
            id: order.id,
            symbol,
            side: order.side,
            price: order.price,
            leaves: order.leaves,
            tif: order.tif,
        },
    }));
    out.push(Report {
        to: To::Sender,
        kind: ReportKind::OrdersEnd { count },
    });
    Outcome::Listed
}

/// Answers `cancel_all`: cancels every resting order of `owner` in `books`, with one `done`
/// `cancelled` each to the account, ascending by id (then symbol), then `cancel_all_done`
/// with their count to the sender. [`Outcome::CancelledAll`] when it cancelled any.
///
/// Each book it changed moves its sequence once and, when `deltas` is given, gets one
/// [`BookDelta`]; with `each_order` (cancel on disconnect) a book moves once per cancelled
/// order instead, ascending by id, each delta the levels after that order left.
///
/// [`BookDelta`]: crate::matching::BookDelta
pub(in crate::matching) fn cancel_all<'a>(
    books: impl IntoIterator<Item = &'a mut Book>,
    owner: Owner,
    out: &mut Vec<Report>,
    mut deltas: Option<&mut (dyn DeltaSink + '_)>,
    each_order: bool,
) -> Outcome {
    let mut cancelled = Vec::new();
    for book in books {
        let mut slots: Vec<(OrderId, u32)> = book
            .owned(owner)
            .map(|slot| (book.orders.get(slot).id, slot))
            .collect();
        // By id, so the sequence steps do not depend on hash-map order.
        slots.sort_unstable();
        book.changes.start(deltas.is_some());
        for (_, slot) in slots {
            cancelled.push((book.symbol, book.resting_at(slot)));
            book.unlink(slot);
            if each_order {
                book.finish(deltas.as_deref_mut());
                book.changes.start(deltas.is_some());
            }
        }
        book.finish(deltas.as_deref_mut());
    }
    sort(&mut cancelled);
    let count = cancelled.len() as u64;
    out.extend(cancelled.into_iter().map(|(_, order)| {
        done(
            To::Owner(owner),
            order.id,
            DoneReason::Cancelled,
            order.leaves,
        )
    }));
    out.push(Report {
        to: To::Sender,
        kind: ReportKind::CancelAllDone { count },
    });
    if count == 0 {
        Outcome::Listed
    } else {
        Outcome::CancelledAll
    }
}
