use std::collections::hash_map::{Entry, HashMap};

use foldhash::fast::RandomState;

use super::book::{cancel_all, list_orders};
use super::{Book, OrderId, Outcome, Owner, Report, Request, Symbol};
use crate::matching::DeltaSink;

/// All order books of one matching shard, keyed by symbol.
///
/// A book is created by the first order for its symbol and dropped again while it has never
/// changed (its `match` ids and depth sequence must keep increasing once it has), so memory
/// follows the books ever used, not the symbols ever named.
///
/// # Examples
///
/// ```
/// use sedaflow_stages::matching::{
///     Engine, Outcome, Price, ReportKind, Request, Side, Stp, Symbol, Tif, To,
/// };
///
/// let symbol = Symbol::new("ACME").unwrap();
/// let mut engine = Engine::new();
/// let mut out = Vec::new();
/// let order = Request::Limit {
///     id: 1, symbol, side: Side::Buy, price: Price::parse("9.5").unwrap(), qty: 10,
///     tif: Tif::Gtc, stp: Stp::None,
/// };
/// // Account 7 has had no order accepted yet: its id floor is 0.
/// let outcome = engine.submit(7, &order, 0, &mut out);
/// assert!(outcome.is_accepted());
/// assert_eq!(out[0].to, To::Sender);
/// assert_eq!(out[0].kind, ReportKind::Ack { id: 1 });
/// assert_eq!(engine.resting(), 1);
///
/// // Its orders on every book of the engine.
/// out.clear();
/// let listed = engine.submit(7, &Request::Orders { symbol: None }, 1, &mut out);
/// assert_eq!(listed, Outcome::Listed);
/// assert_eq!(out.last().unwrap().kind, ReportKind::OrdersEnd { count: 1 });
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

    /// Applies `req` from account `owner` to its symbol's book, appending the reports it
    /// causes to `out` (never cleared here) in delivery order.
    ///
    /// `id_floor` is the highest order id this account has had accepted (0 for none): a
    /// new order at or below it is rejected as `id not increasing`, unless the account's
    /// order with that id rests on the symbol, which is `duplicate id`. When the outcome
    /// [is accepted](Outcome::is_accepted) the caller raises the floor to the order's id;
    /// the engine keeps no per-account state, so it can be sharded by symbol. Other requests
    /// ignore the floor; a cancel or amend for a symbol without a book is `unknown order`.
    /// `orders` and `cancel_all` without a symbol cover every book of this engine.
    /// [`Request::Login`] and [`Request::Ping`] are [`Outcome::Ignored`].
    pub fn submit(
        &mut self,
        owner: Owner,
        req: &Request,
        id_floor: OrderId,
        out: &mut Vec<Report>,
    ) -> Outcome {
        self.submit_into(owner, req, id_floor, out, None)
    }

    /// [`Engine::submit`], also putting in `deltas` one [`BookDelta`] per book the request
    /// changed (see [`Book::submit_with_deltas`]): at most one, except for a symbol-less
    /// `cancel_all`, whose deltas come by symbol. Trades' `time_ms` is 0 for the caller to
    /// stamp.
    ///
    /// [`BookDelta`]: super::BookDelta
    pub fn submit_with_deltas(
        &mut self,
        owner: Owner,
        req: &Request,
        id_floor: OrderId,
        out: &mut Vec<Report>,
        deltas: &mut impl DeltaSink,
    ) -> Outcome {
        self.submit_into(owner, req, id_floor, out, Some(deltas))
    }

    /// Cancel on disconnect: the account's `cancel_all` on `symbol` (every book when
    /// `None`) with the same reports, but one sequence step and one [`BookDelta`] per
    /// cancelled order (by symbol, then ascending id), as the contract counts a
    /// disconnect's cancels. A journal replaying it must replay it this way too, or the
    /// sequence comes out shorter.
    ///
    /// [`BookDelta`]: super::BookDelta
    pub fn cancel_all_each(
        &mut self,
        owner: Owner,
        symbol: Option<Symbol>,
        out: &mut Vec<Report>,
        deltas: &mut impl DeltaSink,
    ) -> Outcome {
        self.cancel_all(owner, symbol, out, Some(deltas), true)
    }

    fn submit_into(
        &mut self,
        owner: Owner,
        req: &Request,
        id_floor: OrderId,
        out: &mut Vec<Report>,
        deltas: Option<&mut (dyn DeltaSink + '_)>,
    ) -> Outcome {
        match *req {
            Request::Orders { symbol } => {
                let books = self.books.values().filter(|book| covers(symbol, book));
                return list_orders(books, owner, out);
            }
            Request::CancelAll { symbol } => {
                return self.cancel_all(owner, symbol, out, deltas, false);
            }
            _ => {}
        }
        let Some(symbol) = req.symbol() else {
            return Outcome::Ignored;
        };
        // A book that a request leaves idle (a cancel of an unknown order, an order that
        // expired) is dropped again at once.
        let mut book = match self.books.entry(symbol) {
            Entry::Occupied(entry) => entry,
            Entry::Vacant(entry) => entry.insert_entry(Book::new(symbol)),
        };
        let outcome = book
            .get_mut()
            .submit_into(owner, req, id_floor, out, deltas);
        if book.get().is_idle() {
            book.remove();
        }
        outcome
    }

    fn cancel_all(
        &mut self,
        owner: Owner,
        symbol: Option<Symbol>,
        out: &mut Vec<Report>,
        deltas: Option<&mut (dyn DeltaSink + '_)>,
        each_order: bool,
    ) -> Outcome {
        // By symbol, so the deltas come in the same order whatever the map's.
        let mut books: Vec<&mut Book> = self
            .books
            .values_mut()
            .filter(|book| covers(symbol, book))
            .collect();
        books.sort_unstable_by_key(|book| book.symbol());
        cancel_all(books, owner, out, deltas, each_order)
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

/// Whether a request for `symbol` (every book when `None`) covers `book`.
fn covers(symbol: Option<Symbol>, book: &Book) -> bool {
    symbol.is_none_or(|symbol| symbol == book.symbol())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::BookDelta;
    use crate::matching::{DoneReason, Price, RejectReason, ReportKind, Side, Tif, To};

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
    fn drops_books_that_never_changed() {
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
        // A book that changed is kept, so its depth sequence keeps increasing.
        assert_eq!(engine.book(symbol("AAA")).map(Book::seq), Some(2));

        // And one that traded, so its match ids do.
        let _ = engine.submit(1, &limit(3, "AAA", Side::Buy, 100, 5), 2, &mut out);
        let _ = engine.submit(1, &limit(4, "AAA", Side::Sell, 100, 5), 3, &mut out);
        assert_eq!(engine.resting(), 0);
        assert_eq!(engine.book(symbol("AAA")).map(Book::last_match), Some(1));
    }

    /// A delta as `(symbol, seq, [(price ticks, total)])`.
    type Shown = (String, u64, Vec<(u64, u64)>);

    fn shown(deltas: &[BookDelta]) -> Vec<Shown> {
        deltas
            .iter()
            .map(|d| {
                let levels = d.levels.iter().map(|l| (l.price.ticks(), l.total));
                (d.symbol.to_string(), d.seq, levels.collect())
            })
            .collect()
    }

    #[test]
    fn symbol_less_cancel_all_gives_one_delta_per_changed_book_by_symbol() {
        let mut engine = Engine::new();
        let (mut out, mut deltas) = (Vec::new(), Vec::new());
        for (id, sym, ticks) in [(1, "CCC", 100), (2, "AAA", 100), (3, "AAA", 101)] {
            let req = limit(id, sym, Side::Buy, ticks, 5);
            let _ = engine.submit_with_deltas(1, &req, 0, &mut out, &mut deltas);
        }
        let _ = engine.submit(2, &limit(1, "BBB", Side::Buy, 100, 5), 0, &mut out);
        assert_eq!(shown(&deltas)[0], ("CCC".into(), 1, vec![(100, 5)]));
        deltas.clear();
        let all = Request::CancelAll { symbol: None };
        let outcome = engine.submit_with_deltas(1, &all, 3, &mut out, &mut deltas);
        assert_eq!(outcome, Outcome::CancelledAll);
        // BBB holds no order of account 1: no delta.
        assert_eq!(
            shown(&deltas),
            [
                ("AAA".into(), 3, vec![(100, 0), (101, 0)]),
                ("CCC".into(), 2, vec![(100, 0)])
            ]
        );
        deltas.clear();
        let orders = Request::Orders { symbol: None };
        let _ = engine.submit_with_deltas(1, &orders, 3, &mut out, &mut deltas);
        let _ = engine.submit_with_deltas(1, &all, 3, &mut out, &mut deltas);
        assert!(deltas.is_empty());
    }

    /// Account 1 rests ids 3, 1 (at 100) and 2 (at 101), quantity = id; account 2 rests 9
    /// at 100; then `cancel` runs for account 1.
    fn disconnect(cancel: impl FnOnce(&mut Engine, &mut Vec<Report>)) -> (Engine, Vec<Report>) {
        let mut engine = Engine::new();
        let mut out = Vec::new();
        for (id, ticks) in [(3, 100), (1, 100), (2, 101)] {
            let _ = engine.submit(1, &limit(id, "AAA", Side::Sell, ticks, id), 0, &mut out);
        }
        let _ = engine.submit(2, &limit(1, "AAA", Side::Sell, 100, 9), 0, &mut out);
        out.clear();
        cancel(&mut engine, &mut out);
        (engine, out)
    }

    #[test]
    fn cancel_on_disconnect_steps_once_per_order() {
        let aaa = Some(symbol("AAA"));
        let mut deltas = Vec::new();
        let (engine, out) = disconnect(|engine, out| {
            let outcome = engine.cancel_all_each(1, aaa, out, &mut deltas);
            assert_eq!(outcome, Outcome::CancelledAll);
        });
        let (plain, plain_out) = disconnect(|engine, out| {
            let _ = engine.submit(1, &Request::CancelAll { symbol: aaa }, 0, out);
        });
        // The same reports as `cancel_all`, one step per order instead of one in all.
        assert_eq!(out, plain_out);
        assert_eq!(plain.book(symbol("AAA")).map(Book::seq), Some(5));
        assert_eq!(engine.book(symbol("AAA")).map(Book::seq), Some(7));
        // Ascending by id, each with the level after that order left.
        assert_eq!(
            shown(&deltas),
            [
                ("AAA".into(), 5, vec![(100, 12)]),
                ("AAA".into(), 6, vec![(101, 0)]),
                ("AAA".into(), 7, vec![(100, 9)])
            ]
        );
    }

    #[test]
    fn listing_and_cancel_all_cover_every_book_by_id_then_symbol() {
        let mut engine = Engine::new();
        let mut out = Vec::new();
        for (id, sym) in [(2, "BBB"), (1, "BBB"), (1, "AAA"), (3, "AAA")] {
            // The floor is not checked here: ids only need to be new on their book.
            let _ = engine.submit(1, &limit(id, sym, Side::Buy, 100, id), 0, &mut out);
        }
        let _ = engine.submit(2, &limit(9, "AAA", Side::Sell, 200, 1), 0, &mut out);
        let listed = |out: &[Report]| -> Vec<(OrderId, Option<Symbol>)> {
            out.iter()
                .map(|r| match r.kind {
                    ReportKind::Order { id, symbol, .. } => (id, Some(symbol)),
                    ReportKind::Done { id, .. } => (id, None),
                    ReportKind::OrdersEnd { count } | ReportKind::CancelAllDone { count } => {
                        (count, None)
                    }
                    _ => (0, None),
                })
                .collect()
        };
        out.clear();
        let all = Request::Orders { symbol: None };
        assert_eq!(engine.submit(1, &all, 3, &mut out), Outcome::Listed);
        let (a, b) = (Some(symbol("AAA")), Some(symbol("BBB")));
        assert_eq!(listed(&out), [(1, a), (1, b), (2, b), (3, a), (4, None)]);
        out.clear();
        let one = Request::CancelAll { symbol: b };
        assert_eq!(engine.submit(1, &one, 3, &mut out), Outcome::CancelledAll);
        assert_eq!(listed(&out), [(1, None), (2, None), (2, None)]);
        assert!(out[..2].iter().all(|r| r.to == To::Owner(1)));
        assert_eq!(out[2].to, To::Sender);
        // The emptied book is kept: it changed, so its sequence must carry on.
        assert_eq!(engine.book(symbol("BBB")).map(Book::len), Some(0));
        out.clear();
        let all = Request::CancelAll { symbol: None };
        assert_eq!(engine.submit(1, &all, 3, &mut out), Outcome::CancelledAll);
        assert_eq!(listed(&out), [(1, None), (3, None), (2, None)]);
        assert_eq!(engine.resting(), 1);
        out.clear();
        assert_eq!(engine.submit(1, &all, 3, &mut out), Outcome::Listed);
        let missing = Request::Orders {
            symbol: Some(symbol("ZZZ")),
        };
        assert_eq!(engine.submit(1, &missing, 3, &mut out), Outcome::Listed);
        assert_eq!(listed(&out), [(0, None), (0, None)]);
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
