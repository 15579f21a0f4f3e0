use std::collections::HashMap;

use super::*;
use crate::matching::{BookDelta, RestoreError};

mod deltas;
mod management;
mod stp;
mod tifs;

const A: Owner = 1;
const B: Owner = 2;
const C: Owner = 3;

/// A book plus the per-account id floors a caller keeps.
struct Harness {
    book: Book,
    floors: HashMap<Owner, OrderId>,
    /// The outcome of the latest request.
    outcome: Outcome,
    /// What the latest request did to the book, for market data.
    deltas: Vec<BookDelta>,
}

impl Harness {
    fn new() -> Harness {
        Harness {
            book: Book::new(Symbol::new("ACME").unwrap()),
            floors: HashMap::new(),
            outcome: Outcome::Ignored,
            deltas: Vec::new(),
        }
    }

    /// Submits and renders the reports compactly, one string per report.
    fn send(&mut self, owner: Owner, req: Request) -> Vec<String> {
        let floor = self.floors.get(&owner).copied().unwrap_or(0);
        let mut out = Vec::new();
        self.deltas.clear();
        let outcome = self
            .book
            .submit_with_deltas(owner, &req, floor, &mut out, &mut self.deltas);
        if outcome.is_accepted() {
            self.floors.insert(owner, req.id().unwrap());
        }
        self.outcome = outcome;
        out.iter().map(|r| show(r, owner)).collect()
    }

    fn limit(
        &mut self,
        owner: Owner,
        id: OrderId,
        side: Side,
        price: &str,
        qty: Qty,
    ) -> Vec<String> {
        self.send(owner, limit(id, side, price, qty, Tif::Gtc))
    }

    fn ioc(&mut self, owner: Owner, id: OrderId, side: Side, price: &str, qty: Qty) -> Vec<String> {
        self.send(owner, limit(id, side, price, qty, Tif::Ioc))
    }

    fn market(&mut self, owner: Owner, id: OrderId, side: Side, qty: Qty) -> Vec<String> {
        let symbol = self.book.symbol();
        self.send(
            owner,
            Request::Market {
                id,
                symbol,
                side,
                qty,
                stp: Default::default(),
            },
        )
    }

    fn cancel(&mut self, owner: Owner, id: OrderId) -> Vec<String> {
        let symbol = self.book.symbol();
        self.send(owner, Request::Cancel { id, symbol })
    }

    fn amend(&mut self, owner: Owner, id: OrderId, qty: Option<Qty>, price: &str) -> Vec<String> {
        let symbol = self.book.symbol();
        let price = (!price.is_empty()).then(|| Price::parse(price).unwrap());
        self.send(
            owner,
            Request::Amend {
                id,
                symbol,
                qty,
                price,
            },
        )
    }

    /// Resting orders per level, best first: `(price, [(id, leaves)])`.
    fn depth(&self, side: Side) -> Vec<(String, Vec<(OrderId, Qty)>)> {
        let ladder = match side {
            Side::Buy => &self.book.bids,
            Side::Sell => &self.book.asks,
        };
        ladder
            .levels()
            .iter()
            .rev()
            .map(|level| {
                let mut orders = Vec::new();
                let mut slot = level.head;
                let mut prev = NIL;
                while slot != NIL {
                    let node = self.book.orders.get(slot);
                    assert_eq!(node.prev, prev, "broken back link");
                    assert_eq!(node.key, level.key);
                    orders.push((node.id, node.leaves));
                    prev = slot;
                    slot = node.next;
                }
                assert_eq!(level.tail, prev, "tail is not the last order");
                let total: Qty = orders.iter().map(|&(_, leaves)| leaves).sum();
                assert_eq!(level.total, total, "level total is not its orders' sum");
                (ladder.price(level.key).to_string(), orders)
            })
            .collect()
    }
}

fn limit(id: OrderId, side: Side, price: &str, qty: Qty, tif: Tif) -> Request {
    Request::Limit {
        id,
        symbol: Symbol::new("ACME").unwrap(),
        side,
        price: Price::parse(price).unwrap(),
        qty,
        tif,
        stp: Stp::None,
    }
}

/// A new order entered with self-trade prevention `with` instead.
fn with_stp(mut req: Request, with: Stp) -> Request {
    if let Request::Limit { stp, .. } | Request::Market { stp, .. } = &mut req {
        *stp = with;
    }
    req
}

/// `sender` sent the request: reports to [`To::Sender`] go to it and show as its name alone;
/// [`To::Owner`] shows the account's name, with a `*` when that is the sender's account (all
/// of its sessions, not only the sending one).
fn show(report: &Report, sender: Owner) -> String {
    let (to, everywhere) = match report.to {
        To::Sender => (sender, ""),
        To::Owner(owner) if owner == sender => (owner, "*"),
        To::Owner(owner) => (owner, ""),
    };
    let name = match to {
        A => "A",
        B => "B",
        C => "C",
        _ => "?",
    };
    let to = format!("{name}{everywhere}");
    let what = match report.kind {
        ReportKind::Ack { id } => format!("ack {id}"),
        ReportKind::Fill {
            id,
            symbol,
            side,
            price,
            qty,
            leaves,
            match_id,
        } => format!(
            "fill {id} {symbol} {} {qty}@{price} leaves {leaves} match {match_id}",
            side.as_str()
        ),
        ReportKind::Done { id, reason, leaves } => {
            format!("done {id} {} leaves {leaves}", reason.as_str())
        }
        ReportKind::Reject { id, reason } => format!("reject {id} {reason}"),
        ReportKind::Amended { id, price, leaves } => {
            format!("amended {id} {price} leaves {leaves}")
        }
        ReportKind::Order {
            id,
            symbol,
            side,
            price,
            leaves,
            tif,
        } => format!(
            "order {id} {symbol} {} {leaves}@{price} {}",
            side.as_str(),
            tif.as_str()
        ),
        ReportKind::OrdersEnd { count } => format!("orders_end {count}"),
        ReportKind::CancelAllDone { count } => format!("cancel_all_done {count}"),
    };
    format!("{to} {what}")
}

#[test]
fn protocol_example() {
    let mut h = Harness::new();
    assert_eq!(h.limit(A, 1, Side::Sell, "10.05", 100), ["A ack 1"]);
    assert_eq!(
        h.limit(B, 2, Side::Buy, "10.10", 40),
        [
            "B ack 2",
            "B fill 2 ACME buy 40@10.05 leaves 0 match 1",
            "A fill 1 ACME sell 40@10.05 leaves 60 match 1",
            "B done 2 filled leaves 0",
        ]
    );
    assert_eq!(h.cancel(A, 1), ["A* done 1 cancelled leaves 60"]);
    assert!(h.book.is_empty());
}

#[test]
fn best_price_first_then_earliest() {
    let mut h = Harness::new();
    h.limit(A, 1, Side::Sell, "10.2", 5);
    h.limit(A, 2, Side::Sell, "10.1", 5);
    h.limit(B, 3, Side::Sell, "10.1", 5);
    h.limit(C, 4, Side::Sell, "10", 5);
    assert_eq!(
        h.depth(Side::Sell),
        [
            ("10".to_owned(), vec![(4, 5)]),
            ("10.1".to_owned(), vec![(2, 5), (3, 5)]),
            ("10.2".to_owned(), vec![(1, 5)]),
        ]
    );
    assert_eq!(
        h.limit(C, 5, Side::Buy, "10.15", 12),
        [
            "C ack 5",
            "C fill 5 ACME buy 5@10 leaves 7 match 1",
            "C* fill 4 ACME sell 5@10 leaves 0 match 1",
            "C* done 4 filled leaves 0",
            "C fill 5 ACME buy 5@10.1 leaves 2 match 2",
            "A fill 2 ACME sell 5@10.1 leaves 0 match 2",
            "A done 2 filled leaves 0",
            "C fill 5 ACME buy 2@10.1 leaves 0 match 3",
            "B fill 3 ACME sell 2@10.1 leaves 3 match 3",
            "C done 5 filled leaves 0",
        ]
    );
    assert_eq!(
        h.depth(Side::Sell),
        [
            ("10.1".to_owned(), vec![(3, 3)]),
            ("10.2".to_owned(), vec![(1, 5)]),
        ]
    );
}

#[test]
fn sell_aggressor_trades_at_the_resting_bid() {
    let mut h = Harness::new();
    h.limit(A, 1, Side::Buy, "9", 5);
    h.limit(A, 2, Side::Buy, "10", 5);
    assert_eq!(
        h.limit(B, 3, Side::Sell, "9.5", 8),
        [
            "B ack 3",
            "B fill 3 ACME sell 5@10 leaves 3 match 1",
            "A fill 2 ACME buy 5@10 leaves 0 match 1",
            "A done 2 filled leaves 0",
        ]
    );
    // The remainder rests at its own limit; nothing at 9 crossed.
    assert_eq!(h.depth(Side::Sell), [("9.5".to_owned(), vec![(3, 3)])]);
    assert_eq!(h.depth(Side::Buy), [("9".to_owned(), vec![(1, 5)])]);
}

#[test]
fn limit_that_does_not_cross_rests() {
    let mut h = Harness::new();
    h.limit(A, 1, Side::Sell, "10", 5);
    assert_eq!(h.limit(B, 2, Side::Buy, "9.9999", 5), ["B ack 2"]);
    assert_eq!(h.book.len(), 2);
}

#[test]
fn ioc_remainder_expires() {
    let mut h = Harness::new();
    h.limit(A, 1, Side::Sell, "10", 5);
    h.limit(A, 2, Side::Sell, "11", 5);
    assert_eq!(
        h.ioc(B, 11, Side::Buy, "10", 8),
        [
            "B ack 11",
            "B fill 11 ACME buy 5@10 leaves 3 match 1",
            "A fill 1 ACME sell 5@10 leaves 0 match 1",
            "A done 1 filled leaves 0",
            "B done 11 expired leaves 3",
        ]
    );
    assert_eq!(
        h.ioc(B, 12, Side::Buy, "10", 8),
        ["B ack 12", "B done 12 expired leaves 8"]
    );
    assert_eq!(
        h.ioc(B, 13, Side::Buy, "11", 5),
        [
            "B ack 13",
            "B fill 13 ACME buy 5@11 leaves 0 match 2",
            "A fill 2 ACME sell 5@11 leaves 0 match 2",
            "A done 2 filled leaves 0",
            "B done 13 filled leaves 0",
        ]
    );
    assert!(h.book.is_empty());
}

#[test]
fn market_sweeps_any_price_and_expires_the_rest() {
    let mut h = Harness::new();
    assert_eq!(
        h.market(B, 1, Side::Sell, 4),
        ["B ack 1", "B done 1 expired leaves 4"]
    );
    h.limit(A, 1, Side::Buy, "1", 2);
    h.limit(A, 2, Side::Buy, "1000000000", 2);
    assert_eq!(
        h.market(B, 12, Side::Sell, 5),
        [
            "B ack 12",
            "B fill 12 ACME sell 2@1000000000 leaves 3 match 1",
            "A fill 2 ACME buy 2@1000000000 leaves 0 match 1",
            "A done 2 filled leaves 0",
            "B fill 12 ACME sell 2@1 leaves 1 match 2",
            "A fill 1 ACME buy 2@1 leaves 0 match 2",
            "A done 1 filled leaves 0",
            "B done 12 expired leaves 1",
        ]
    );
    assert!(h.book.is_empty());
}

#[test]
fn partially_filled_gtc_rests_and_trades_later() {
    let mut h = Harness::new();
    h.limit(A, 1, Side::Sell, "10", 3);
    h.limit(B, 2, Side::Buy, "10", 5);
    assert_eq!(h.depth(Side::Buy), [("10".to_owned(), vec![(2, 2)])]);
    assert_eq!(
        h.limit(C, 3, Side::Sell, "10", 2),
        [
            "C ack 3",
            "C fill 3 ACME sell 2@10 leaves 0 match 2",
            "B fill 2 ACME buy 2@10 leaves 0 match 2",
            "B done 2 filled leaves 0",
            "C done 3 filled leaves 0",
        ]
    );
}

#[test]
fn self_trade_is_allowed() {
    let mut h = Harness::new();
    h.limit(A, 1, Side::Sell, "10", 1);
    assert_eq!(
        h.limit(A, 2, Side::Buy, "10", 1),
        [
            "A ack 2",
            "A fill 2 ACME buy 1@10 leaves 0 match 1",
            "A* fill 1 ACME sell 1@10 leaves 0 match 1",
            "A* done 1 filled leaves 0",
            "A done 2 filled leaves 0",
        ]
    );
}

#[test]
fn only_the_owner_cancels() {
    let mut h = Harness::new();
    h.limit(A, 1, Side::Buy, "10", 5);
    // Another account's order is reported exactly as no order, and stays.
    assert_eq!(h.cancel(B, 1), ["B reject 1 unknown order"]);
    assert_eq!(h.cancel(A, 1), ["A* done 1 cancelled leaves 5"]);
}

#[test]
fn cancel_of_unknown_or_traded_orders_is_rejected() {
    let mut h = Harness::new();
    assert_eq!(h.cancel(A, 9), ["A reject 9 unknown order"]);
    h.limit(A, 1, Side::Buy, "10", 5);
    h.market(B, 2, Side::Sell, 5);
    assert_eq!(h.cancel(A, 1), ["A reject 1 unknown order"]);
}

#[test]
fn cancel_unlinks_from_any_position_in_the_level() {
    let mut h = Harness::new();
    for id in 1..=5 {
        h.limit(A, id, Side::Sell, "10", id);
    }
    h.cancel(A, 3);
    h.cancel(A, 1);
    h.cancel(A, 5);
    assert_eq!(
        h.depth(Side::Sell),
        [("10".to_owned(), vec![(2, 2), (4, 4)])]
    );
    h.limit(A, 6, Side::Sell, "10", 6);
    assert_eq!(
        h.depth(Side::Sell),
        [("10".to_owned(), vec![(2, 2), (4, 4), (6, 6)])]
    );
    h.cancel(A, 4);
    h.cancel(A, 2);
    h.cancel(A, 6);
    assert!(h.depth(Side::Sell).is_empty());
    assert!(h.book.is_empty());
    assert!(h.book.index.is_empty());
}

#[test]
fn cancel_removes_emptied_levels_anywhere() {
    let mut h = Harness::new();
    for (id, price) in [(1, "10"), (2, "11"), (3, "12")] {
        h.limit(A, id, Side::Buy, price, 1);
    }
    h.cancel(A, 2);
    let prices: Vec<String> = h.depth(Side::Buy).into_iter().map(|(p, _)| p).collect();
    assert_eq!(prices, ["12", "10"]);
}

#[test]
fn ids_are_per_account() {
    let mut h = Harness::new();
    h.limit(A, 5, Side::Buy, "10", 5);
    // Another account may use the same id, even resting on the same book.
    assert_eq!(h.limit(B, 5, Side::Sell, "11", 5), ["B ack 5"]);
    assert_eq!(h.book.len(), 2);
    // Each cancel names its own account's order.
    assert_eq!(h.cancel(B, 5), ["B* done 5 cancelled leaves 5"]);
    assert_eq!(h.depth(Side::Buy), [("10".to_owned(), vec![(5, 5)])]);
    assert!(h.depth(Side::Sell).is_empty());
}

#[test]
fn duplicate_wins_over_id_not_increasing() {
    let mut h = Harness::new();
    h.limit(A, 5, Side::Buy, "10", 5);
    h.limit(A, 6, Side::Buy, "10", 5);
    assert_eq!(
        h.limit(A, 5, Side::Buy, "10", 5),
        ["A reject 5 duplicate id"]
    );
    assert_eq!(
        h.limit(A, 4, Side::Buy, "10", 5),
        ["A reject 4 id not increasing"]
    );
    assert_eq!(
        h.limit(A, 6, Side::Buy, "10", 5),
        ["A reject 6 duplicate id"]
    );
}

#[test]
fn ids_must_increase_per_account() {
    let mut h = Harness::new();
    assert_eq!(h.limit(A, 10, Side::Buy, "10", 5), ["A ack 10"]);
    h.cancel(A, 10);
    // Gone from the book, but still not above the floor.
    assert_eq!(
        h.limit(A, 10, Side::Buy, "10", 5),
        ["A reject 10 id not increasing"]
    );
    assert_eq!(
        h.market(A, 9, Side::Buy, 5),
        ["A reject 9 id not increasing"]
    );
    // Another account has its own floor.
    assert_eq!(h.limit(B, 10, Side::Buy, "10", 5), ["B ack 10"]);
    // A rejected order does not use its id up.
    assert_eq!(
        h.limit(A, 11, Side::Buy, "10", 0),
        ["A reject 11 invalid qty"]
    );
    assert_eq!(h.limit(A, 11, Side::Buy, "10", 5), ["A ack 11"]);
}

#[test]
fn cancels_ignore_the_floor() {
    let mut h = Harness::new();
    h.limit(A, 1, Side::Buy, "10", 5);
    h.limit(A, 2, Side::Buy, "10", 5);
    assert_eq!(h.cancel(A, 1), ["A* done 1 cancelled leaves 5"]);
}

#[test]
fn ping_does_nothing() {
    let mut h = Harness::new();
    assert!(h.send(A, Request::Ping).is_empty());
}

#[test]
fn freed_memory_is_reused() {
    let mut h = Harness::new();
    for round in 0..100 {
        let id = round * 2 + 1;
        h.limit(A, id, Side::Sell, "10", 1);
        h.limit(B, id + 1, Side::Buy, "10", 1);
    }
    assert!(h.book.is_empty());
    assert!(h.book.index.is_empty());
    assert!(h.depth(Side::Sell).is_empty());
    assert_eq!(h.book.last_match(), 100);
}

#[test]
fn restore_from_resting_keeps_priority_and_match_ids() {
    let mut h = Harness::new();
    h.limit(A, 1, Side::Sell, "10", 5);
    h.limit(B, 2, Side::Sell, "10", 7);
    h.limit(A, 3, Side::Sell, "11", 4);
    h.limit(C, 4, Side::Buy, "9", 3);
    h.limit(C, 5, Side::Buy, "10", 2);
    let listed: Vec<Resting> = h.book.resting().collect();
    let ids: Vec<OrderId> = listed.iter().map(|o| o.id).collect();
    // Bids then asks, best level first, time priority within a level.
    assert_eq!(ids, [4, 1, 2, 3]);
    assert_eq!(listed[1].leaves, 3);

    let mut restored = Harness::new();
    restored.book =
        Book::restore(h.book.symbol(), h.book.last_match(), h.book.seq(), listed).unwrap();
    let sweep = |h: &mut Harness| h.limit(C, 6, Side::Buy, "11", 20);
    assert_eq!(sweep(&mut restored), sweep(&mut h));
    assert_eq!(restored.book.last_match(), h.book.last_match());
}

#[test]
fn restore_refuses_duplicates_and_empty_orders() {
    let symbol = Symbol::new("ACME").unwrap();
    let order = Resting {
        id: 1,
        owner: A,
        side: Side::Buy,
        price: Price::from_ticks(100).unwrap(),
        leaves: 5,
        stp: Default::default(),
        tif: Default::default(),
    };
    assert_eq!(
        Book::restore(symbol, 0, 0, [order, order]).err(),
        Some(RestoreError::DuplicateId(1))
    );
    let empty = Resting { leaves: 0, ..order };
    assert_eq!(
        Book::restore(symbol, 0, 0, [empty]).err(),
        Some(RestoreError::NoQuantity(1))
    );
}
