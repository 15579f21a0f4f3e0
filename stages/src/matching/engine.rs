use std::collections::hash_map::{Entry, HashMap};

use foldhash::fast::RandomState;

use super::{Book, OrderId, Outcome, Owner, RejectReason, Report, ReportKind, Request, Symbol, To};

/// All order books of one matching shard, keyed by symbol.
///
/// A book is created by the first order for its symbol and dropped again while it holds no
/// order and has never traded (its `match` ids must keep increasing once it has), so memory
/// follows the resting orders, not the symbols ever named.
///
/// # Examples
///
/// ```
/// use sedaflow_stages::matching::{Engine, Price, ReportKind, Request, Side, Symbol, Tif};
///
/// let symbol = Symbol::new("ACME").unwrap();
/// let mut engine = Engine::new();
/// let mut out = Vec::new();
/// let order = Request::Limit {
///     id: 1, symbol, side: Side::Buy, price: Price::parse("9.5").unwrap(), qty: 10, tif: Tif::Gtc,
/// };
/// // Connection 7 has had no order accepted yet: its id floor is 0.
/// let outcome = engine.submit(7, &order, 0, &mut out);
/// assert!(outcome.is_accepted());
/// assert_eq!(out[0].to, 7);
/// assert_eq!(out[0].kind, ReportKind::Ack { id: 1 });
/// assert_eq!(engine.resting(), 1);
/// ```
#[derive(Debug, Default)]
pub struct Engine {
    books: HashMap<Symbol, Book, RandomState>,
}

impl Engine {
    /// An engine without books.
    pub fn new() -> Engine {
        Engine::default()
    }

    /// Applies `req` from connection `owner` to its symbol's book, appending the reports it
    /// causes to `out` (never cleared here) in delivery order.
    ///
    /// `id_floor` is the highest order id this connection has had accepted (0 for none): a
    /// new order at or below it is rejected as `id not increasing`, unless its id is resting
    /// on the symbol, which is `duplicate id`. When the outcome
    /// [is accepted](Outcome::is_accepted) the caller raises the floor to the order's id;
    /// the engine keeps no per-connection state, so it can be sharded by symbol. Cancels
    /// ignore the floor; a cancel for a symbol without a book is `unknown order`.
    /// [`Request::Ping`] is [`Outcome::Ignored`].
    pub fn submit(
        &mut self,
        owner: Owner,
        req: &Request,
        id_floor: OrderId,
        out: &mut Vec<Report>,
    ) -> Outcome {
        let Some(symbol) = req.symbol() else {
            return Outcome::Ignored;
        };
        let mut book = match self.books.entry(symbol) {
            Entry::Occupied(entry) => entry,
            Entry::Vacant(entry) => {
                if let Request::Cancel { id, .. } = *req {
                    out.push(Report {
                        to: To::Sender,
                        kind: ReportKind::Reject {
                            id,
                            reason: RejectReason::UnknownOrder,
                        },
                    });
                    return Outcome::Rejected;
                }
                entry.insert_entry(Book::new(symbol))
            }
        };
        let outcome = book.get_mut().submit(owner, req, id_floor, out);
        if book.get().is_idle() {
            book.remove();
        }
        outcome
    }

    /// The book of `symbol`, if it has one.
    pub fn book(&self, symbol: Symbol) -> Option<&Book> {
        self.books.get(&symbol)
    }

    /// Every book, in no particular order.
    pub fn books(&self) -> impl Iterator<Item = &Book> {
        self.books.values()
    }

    /// Puts `book` in, replacing any book of its symbol (recovery hands books to the shard
    /// that serves their symbol).
    pub fn insert_book(&mut self, book: Book) {
        self.books.insert(book.symbol(), book);
    }

    /// Takes every book out.
    pub fn into_books(self) -> impl Iterator<Item = Book> {
        self.books.into_values()
    }

    /// The number of resting orders over all books.
    pub fn resting(&self) -> usize {
        self.books.values().map(Book::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::{DoneReason, Price, Side, Tif};

    fn symbol(text: &str) -> Symbol {
        Symbol::new(text).unwrap()
    }

    fn limit(id: OrderId, sym: &str, side: Side, ticks: u64, qty: u64) -> Request {
        Request::Limit {
            id,
            symbol: symbol(sym),
            side,
            price: Price::from_ticks(ticks).unwrap(),
            qty,
            tif: Tif::Gtc,
            stp: Default::default(),
        }
    }

    #[test]
    fn books_are_independent() {
        let mut engine = Engine::new();
        let mut out = Vec::new();
        assert!(engine
            .submit(1, &limit(1, "AAA", Side::Sell, 100, 5), 0, &mut out)
            .is_accepted());
        // The same id resting on another symbol is no duplicate.
        assert!(engine
            .submit(2, &limit(1, "BBB", Side::Sell, 100, 5), 0, &mut out)
            .is_accepted());
        out.clear();
        let _ = engine.submit(3, &limit(2, "BBB", Side::Buy, 100, 5), 0, &mut out);
        let matches: Vec<u64> = out
            .iter()
            .filter_map(|r| match r.kind {
                ReportKind::Fill { match_id, .. } => Some(match_id),
                _ => None,
            })
            .collect();
        // Match ids start at 1 per symbol.
        assert_eq!(matches, [1, 1]);
        assert_eq!(engine.resting(), 1);
        assert_eq!(engine.book(symbol("BBB")).map(Book::last_match), Some(1));
    }

    #[test]
    fn cancel_on_another_symbol_is_unknown() {
        let mut engine = Engine::new();
        let mut out = Vec::new();
        let _ = engine.submit(1, &limit(5, "AAA", Side::Buy, 100, 5), 0, &mut out);
        let _ = engine.submit(1, &limit(6, "BBB", Side::Buy, 100, 5), 5, &mut out);
        out.clear();
        let cancel = Request::Cancel {
            id: 5,
            symbol: symbol("BBB"),
        };
        assert_eq!(engine.submit(1, &cancel, 6, &mut out), Outcome::Rejected);
        let never_seen = Request::Cancel {
            id: 5,
            symbol: symbol("CCC"),
        };
        assert_eq!(
            engine.submit(1, &never_seen, 6, &mut out),
            Outcome::Rejected
        );
        let unknown = ReportKind::Reject {
            id: 5,
            reason: RejectReason::UnknownOrder,
        };
        assert_eq!(
            out,
            [Report {
                to: To::Sender,
                kind: unknown
            }; 2]
        );
        assert!(engine.book(symbol("CCC")).is_none());
        assert_eq!(engine.resting(), 2);
    }

    #[test]
    fn drops_books_that_hold_nothing_and_never_traded() {
        let mut engine = Engine::new();
        let mut out = Vec::new();
        let market = Request::Market {
            id: 1,
            symbol: symbol("AAA"),
            side: Side::Buy,
            qty: 3,
            stp: Default::default(),
        };
        assert!(engine.submit(1, &market, 0, &mut out).is_accepted());
        assert_eq!(
            out[1].kind,
            ReportKind::Done {
                id: 1,
                reason: DoneReason::Expired,
                leaves: 3
            }
        );
        assert!(engine.book(symbol("AAA")).is_none());

        let _ = engine.submit(1, &limit(2, "AAA", Side::Buy, 100, 5), 1, &mut out);
        let cancel = Request::Cancel {
            id: 2,
            symbol: symbol("AAA"),
        };
        assert_eq!(engine.submit(1, &cancel, 2, &mut out), Outcome::Cancelled);
        assert!(engine.book(symbol("AAA")).is_none());

        // A book that traded is kept, so its match ids keep increasing.
        let _ = engine.submit(1, &limit(3, "AAA", Side::Buy, 100, 5), 2, &mut out);
        let _ = engine.submit(1, &limit(4, "AAA", Side::Sell, 100, 5), 3, &mut out);
        assert_eq!(engine.resting(), 0);
        assert_eq!(engine.book(symbol("AAA")).map(Book::last_match), Some(1));
    }

    #[test]
    fn engine_can_move_to_another_thread() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<Engine>();
        send_sync::<Book>();
        send_sync::<Report>();
        send_sync::<Request>();
    }

    #[test]
    fn ping_is_ignored() {
        let mut engine = Engine::new();
        let mut out = Vec::new();
        assert_eq!(
            engine.submit(1, &Request::Ping, 0, &mut out),
            Outcome::Ignored
        );
        assert!(out.is_empty());
    }
}
