use std::collections::HashMap;

use foldhash::fast::RandomState;

use super::ladder::{Ladder, Level};
use super::slab::{Node, Slab, NIL};
use super::{
    DoneReason, OrderId, Outcome, Owner, Price, Qty, RejectReason, Report, ReportKind, Request,
    Resting, RestoreError, Side, Stp, Symbol, Tif, To,
};

/// The order book of one symbol: price–time priority, trades at the resting order's price.
///
/// Resting orders live in a slab and are linked in a FIFO per price level; levels sit in a
/// sorted vector per side with the best level last; an id index finds orders for cancels and
/// duplicate checks. Filled and cancelled orders leave every structure at once, and empty
/// levels are removed, so memory follows the resting orders.
///
/// # Examples
///
/// ```
/// use sedaflow_stages::matching::{Book, DoneReason, Price, ReportKind, Request, Side, Symbol, Tif};
///
/// let symbol = Symbol::new("ACME").unwrap();
/// let mut book = Book::new(symbol);
/// let mut out = Vec::new();
/// let sell = Request::Limit {
///     id: 1, symbol, side: Side::Sell, price: Price::parse("10").unwrap(), qty: 5, tif: Tif::Gtc,
/// };
/// assert!(book.submit(7, &sell, 0, &mut out).is_accepted());
/// assert_eq!(book.len(), 1);
///
/// let buy = Request::Market { id: 2, symbol, side: Side::Buy, qty: 5 };
/// assert!(book.submit(8, &buy, 0, &mut out).is_accepted());
/// assert!(book.is_empty());
/// assert!(matches!(
///     out.last().unwrap().kind,
///     ReportKind::Done { id: 2, reason: DoneReason::Filled, leaves: 0 }
/// ));
/// ```
#[derive(Debug)]
pub struct Book {
    symbol: Symbol,
    bids: Ladder,
    asks: Ladder,
    orders: Slab,
    index: HashMap<OrderId, u32, RandomState>,
    last_match: u64,
}

/// A new order as the matching loop sees it: a market order has no limit and never rests.
#[derive(Clone, Copy)]
struct Incoming {
    id: OrderId,
    side: Side,
    qty: Qty,
    limit: Option<Price>,
    tif: Tif,
    stp: Stp,
}

impl Book {
    /// An empty book; allocates nothing until an order rests.
    pub fn new(symbol: Symbol) -> Book {
        Book {
            symbol,
            bids: Ladder::new(Side::Buy),
            asks: Ladder::new(Side::Sell),
            orders: Slab::default(),
            index: HashMap::default(),
            last_match: 0,
        }
    }

    /// The book's symbol.
    pub fn symbol(&self) -> Symbol {
        self.symbol
    }

    /// The number of resting orders.
    pub fn len(&self) -> usize {
        self.orders.len()
    }

    /// Whether no order rests.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `match` id of the latest trade; 0 before the first.
    pub fn last_match(&self) -> u64 {
        self.last_match
    }

    /// Applies `req` for the connection `owner`, appending the reports it causes to `out` in
    /// the order they must be delivered.
    ///
    /// The caller routes by symbol: the request's own symbol is not looked at, reports carry
    /// the book's. A new order whose id is at most `id_floor` (the highest id this connection
    /// had accepted) is rejected as `id not increasing`, unless its id is resting here, which
    /// is `duplicate id`. Cancels ignore the floor. A quantity of 0, which the codec never
    /// lets through, is `invalid qty`. A [`Request::Ping`] is [`Outcome::Ignored`].
    pub fn submit(
        &mut self,
        owner: Owner,
        req: &Request,
        id_floor: OrderId,
        out: &mut Vec<Report>,
    ) -> Outcome {
        match *req {
            Request::Limit {
                id,
                side,
                price,
                qty,
                tif,
                stp,
                ..
            } => {
                let order = Incoming {
                    id,
                    side,
                    qty,
                    limit: Some(price),
                    tif,
                    stp,
                };
                self.place(owner, order, id_floor, out)
            }
            Request::Market {
                id, side, qty, stp, ..
            } => {
                let order = Incoming {
                    id,
                    side,
                    qty,
                    limit: None,
                    tif: Tif::Ioc,
                    stp,
                };
                self.place(owner, order, id_floor, out)
            }
            Request::Cancel { id, .. } => self.cancel(owner, id, out),
            Request::Amend { .. }
            | Request::Orders { .. }
            | Request::CancelAll { .. }
            | Request::Login
            | Request::Ping => Outcome::Ignored,
        }
    }

    /// The resting orders: bids then asks, each side best level first, each level in time
    /// priority. [`Book::restore`] with this list and [`Book::last_match`] rebuilds the book.
    pub fn resting(&self) -> impl Iterator<Item = Resting> + '_ {
        [&self.bids, &self.asks]
            .into_iter()
            .flat_map(move |ladder| {
                ladder.levels().iter().rev().flat_map(move |level| {
                    let price = ladder.price(level.key);
                    let first = (level.head != NIL).then_some(level.head);
                    std::iter::successors(first, move |&slot| {
                        let next = self.orders.get(slot).next;
                        (next != NIL).then_some(next)
                    })
                    .map(move |slot| {
                        let node = self.orders.get(slot);
                        Resting {
                            id: node.id,
                            owner: node.owner,
                            side: node.side,
                            price,
                            leaves: node.leaves,
                            tif: node.tif,
                            stp: node.stp,
                        }
                    })
                })
            })
    }

    /// Rebuilds a book whose latest trade was `last_match` from its resting orders, each
    /// price level's orders in time priority (as [`Book::resting`] lists them). The orders
    /// are put on the book as they are, without matching: a list taken from a book never
    /// crosses.
    ///
    /// # Errors
    ///
    /// [`RestoreError`] for an id listed twice or an order without quantity.
    pub fn restore(
        symbol: Symbol,
        last_match: u64,
        orders: impl IntoIterator<Item = Resting>,
    ) -> Result<Book, RestoreError> {
        let mut book = Book::new(symbol);
        book.last_match = last_match;
        let mut unused = Vec::new();
        for o in orders {
            if o.leaves == 0 {
                return Err(RestoreError::NoQuantity(o.id));
            }
            if book.index.contains_key(&o.id) {
                return Err(RestoreError::DuplicateId(o.id));
            }
            let order = Incoming {
                id: o.id,
                side: o.side,
                qty: o.leaves,
                limit: Some(o.price),
                tif: o.tif,
                stp: o.stp,
            };
            book.rest(o.owner, order, o.price, o.leaves, &mut unused);
        }
        Ok(book)
    }

    /// No resting order and no trade yet, so dropping the book loses nothing.
    pub(crate) fn is_idle(&self) -> bool {
        self.is_empty() && self.last_match == 0
    }

    fn place(
        &mut self,
        owner: Owner,
        order: Incoming,
        id_floor: OrderId,
        out: &mut Vec<Report>,
    ) -> Outcome {
        let refusal = if order.qty == 0 {
            Some(RejectReason::InvalidQty)
        } else if self.index.contains_key(&order.id) {
            Some(RejectReason::DuplicateId)
        } else if order.id <= id_floor {
            Some(RejectReason::IdNotIncreasing)
        } else if order.tif == Tif::Post && self.available(order) > 0 {
            Some(RejectReason::WouldCross)
        } else {
            None
        };
        if let Some(reason) = refusal {
            return reject(out, To::Sender, order.id, reason);
        }
        out.push(Report {
            to: To::Sender,
            kind: ReportKind::Ack { id: order.id },
        });
        if order.tif == Tif::Fok && self.available(order) < order.qty {
            out.push(done(To::Sender, order.id, DoneReason::Expired, order.qty));
            return Outcome::Accepted;
        }
        let leaves = self.cross(owner, order, out);
        match (order.limit, order.tif) {
            _ if leaves == 0 => out.push(done(To::Sender, order.id, DoneReason::Filled, 0)),
            (Some(price), tif) if tif.rests() => self.rest(owner, order, price, leaves, out),
            _ => out.push(done(To::Sender, order.id, DoneReason::Expired, leaves)),
        }
        Outcome::Accepted
    }

    /// The quantity resting at prices that cross `order`'s limit, counted best level first
    /// and each level in time priority only until it reaches `order.qty`: a `fok` needs no
    /// more to know it fills, a `post` only whether anything crosses (its quantity is at
    /// least 1). Walks the slab links in place, allocating nothing.
    fn available(&self, order: Incoming) -> Qty {
        let opposite = match order.side {
            Side::Buy => &self.asks,
            Side::Sell => &self.bids,
        };
        let mut available = 0;
        for level in opposite.crossing(order.limit) {
            let mut slot = level.head;
            while slot != NIL {
                let node = self.orders.get(slot);
                available += node.leaves;
                if available >= order.qty {
                    return available;
                }
                slot = node.next;
            }
        }
        available
    }

    /// Trades `order` against the opposite side, best level first and each level's FIFO in
    /// arrival order, while it crosses; returns the quantity left.
    fn cross(&mut self, owner: Owner, order: Incoming, out: &mut Vec<Report>) -> Qty {
        let Book {
            symbol,
            bids,
            asks,
            orders,
            index,
            last_match,
        } = self;
        let opposite = match order.side {
            Side::Buy => asks,
            Side::Sell => bids,
        };
        let threshold = opposite.threshold(order.limit);
        let mut leaves = order.qty;
        while leaves > 0 {
            let Some(&mut Level { key, mut head, .. }) = opposite.best_mut() else {
                break;
            };
            if key < threshold {
                break;
            }
            let price = opposite.price(key);
            while leaves > 0 && head != NIL {
                let resting = orders.get_mut(head);
                let qty = leaves.min(resting.leaves);
                leaves -= qty;
                resting.leaves -= qty;
                *last_match += 1;
                let fill = |id, side, leaves| ReportKind::Fill {
                    id,
                    symbol: *symbol,
                    side,
                    price,
                    qty,
                    leaves,
                    match_id: *last_match,
                };
                out.push(Report {
                    to: To::Sender,
                    kind: fill(order.id, order.side, leaves),
                });
                out.push(Report {
                    to: To::Owner(resting.owner),
                    kind: fill(resting.id, resting.side, resting.leaves),
                });
                if resting.leaves == 0 {
                    let Node {
                        id, owner, next, ..
                    } = *resting;
                    out.push(done(To::Owner(owner), id, DoneReason::Filled, 0));
                    index.remove(&id);
                    orders.free(head);
                    head = next;
                }
            }
            match opposite.best_mut() {
                Some(level) if head != NIL => {
                    level.head = head;
                    orders.get_mut(head).prev = NIL;
                }
                _ => opposite.pop_best(),
            }
        }
        leaves
    }

    /// Appends the remainder of `order` to the FIFO of its price level.
    fn rest(
        &mut self,
        owner: Owner,
        order: Incoming,
        price: Price,
        leaves: Qty,
        out: &mut Vec<Report>,
    ) {
        let own = match order.side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        };
        let key = own.key(price);
        let node = Node {
            id: order.id,
            owner,
            leaves,
            key,
            prev: NIL,
            next: NIL,
            side: order.side,
            tif: order.tif,
            stp: order.stp,
        };
        let Some(slot) = self.orders.alloc(node) else {
            // Only with 2^32 - 1 orders resting: nothing more can rest, so it expires.
            out.push(done(To::Sender, order.id, DoneReason::Expired, leaves));
            return;
        };
        let level = own.entry(key);
        let tail = level.tail;
        level.tail = slot;
        if tail == NIL {
            level.head = slot;
        } else {
            self.orders.get_mut(tail).next = slot;
            self.orders.get_mut(slot).prev = tail;
        }
        self.index.insert(order.id, slot);
    }

    fn cancel(&mut self, canceller: Owner, id: OrderId, out: &mut Vec<Report>) -> Outcome {
        let owned = self.index.get(&id).copied();
        let Some(slot) = owned.filter(|&slot| self.orders.get(slot).owner == canceller) else {
            // Another account's order is reported exactly as no order.
            return reject(out, To::Sender, id, RejectReason::UnknownOrder);
        };
        self.index.remove(&id);
        let node = *self.orders.get(slot);
        if node.prev != NIL {
            self.orders.get_mut(node.prev).next = node.next;
        }
        if node.next != NIL {
            self.orders.get_mut(node.next).prev = node.prev;
        }
        let ladder = match node.side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        };
        if let Some(position) = ladder.find(node.key) {
            let level = ladder.get_mut(position);
            if level.head == slot {
                level.head = node.next;
            }
            if level.tail == slot {
                level.tail = node.prev;
            }
            if level.head == NIL {
                ladder.remove(position);
            }
        }
        self.orders.free(slot);
        out.push(done(
            To::Owner(node.owner),
            id,
            DoneReason::Cancelled,
            node.leaves,
        ));
        Outcome::Cancelled
    }
}

fn done(to: To, id: OrderId, reason: DoneReason, leaves: Qty) -> Report {
    Report {
        to,
        kind: ReportKind::Done { id, reason, leaves },
    }
}

fn reject(out: &mut Vec<Report>, to: To, id: OrderId, reason: RejectReason) -> Outcome {
    out.push(Report {
        to,
        kind: ReportKind::Reject { id, reason },
    });
    Outcome::Rejected
}

#[cfg(test)]
mod tests;
