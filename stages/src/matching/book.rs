use std::collections::HashMap;

use foldhash::fast::RandomState;

use self::changes::Changes;
use super::ladder::{Ladder, Level};
use super::slab::{Node, Slab, NIL};
use super::{
    DoneReason, OrderId, Outcome, Owner, Price, Qty, RejectReason, Report, ReportKind, Request,
    Resting, Side, Stp, Symbol, Tif, To,
};

mod amend;
mod changes;
mod listing;
mod restore;

use crate::matching::DeltaSink;
pub(super) use listing::{cancel_all, list_orders};

/// Resting orders by account and id: ids are unique per account, not per book.
type Index = HashMap<(Owner, OrderId), u32, RandomState>;

/// The order book of one symbol: price–time priority, trades at the resting order's price.
///
/// Resting orders live in a slab and are linked in a FIFO per price level; levels sit in a
/// sorted vector per side with the best level last, each with its total open quantity; an
/// index by account and id finds orders for cancels, amends and duplicate checks. Filled
/// and cancelled orders leave every structure at once, and empty levels are removed, so
/// memory follows the resting orders. `orders`, `cancel_all`, amends and the depth
/// sequence with its deltas are described in the [module docs](crate::matching).
///
/// # Examples
///
/// ```
/// use sedaflow_stages::matching::{
///     Book, DoneReason, Price, ReportKind, Request, Side, Stp, Symbol, Tif,
/// };
///
/// let symbol = Symbol::new("ACME").unwrap();
/// let mut book = Book::new(symbol);
/// let mut out = Vec::new();
/// let sell = Request::Limit {
///     id: 1, symbol, side: Side::Sell, price: Price::parse("10").unwrap(), qty: 5,
///     tif: Tif::Gtc, stp: Stp::None,
/// };
/// assert!(book.submit(7, &sell, 0, &mut out).is_accepted());
/// assert_eq!(book.len(), 1);
///
/// let buy = Request::Market { id: 2, symbol, side: Side::Buy, qty: 5, stp: Stp::None };
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
    index: Index,
    last_match: u64,
    /// The depth sequence: requests that changed the resting orders.
    seq: u64,
    changes: Changes,
}

/// An order as the matching loop sees it: a new one, or an amended one that moved. A market
/// order has no limit and never rests.
#[derive(Clone, Copy)]
struct Incoming {
    id: OrderId,
    side: Side,
    qty: Qty,
    limit: Option<Price>,
    tif: Tif,
    stp: Stp,
    /// Where its own fills and `done` go: the sender for a new order, the account for an
    /// amended one (its reports are about a resting order).
    to: To,
}

/// How a crossing ended.
#[derive(Clone, Copy)]
struct Crossed {
    /// The incoming order's quantity left.
    leaves: Qty,
    /// Self-trade prevention cancelled the incoming order's remainder.
    self_trade: bool,
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
            seq: 0,
            changes: Changes::default(),
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

    /// The depth sequence: 0 for a book that never changed, +1 per request that changed its
    /// resting orders (see [`BookDelta`]); the `seq` of the latest delta.
    ///
    /// [`BookDelta`]: super::BookDelta
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Applies `req` for the account `owner`, appending the reports it causes to `out` in
    /// the order they must be delivered.
    ///
    /// The caller routes by symbol: the request's own symbol is not looked at, reports carry
    /// the book's, and `orders` and `cancel_all` cover this book only. A new order whose id
    /// is at most `id_floor` (the highest id this account had accepted) is rejected as `id
    /// not increasing`, unless the account's order with that id rests here, which is
    /// `duplicate id`. Other requests ignore the floor. A quantity of 0, which the codec
    /// never lets through, is `invalid qty`. [`Request::Login`] and [`Request::Ping`] are
    /// [`Outcome::Ignored`].
    pub fn submit(
        &mut self,
        owner: Owner,
        req: &Request,
        id_floor: OrderId,
        out: &mut Vec<Report>,
    ) -> Outcome {
        self.submit_into(owner, req, id_floor, out, None)
    }

    /// [`Book::submit`], also putting what the request did to the book for market data in
    /// `deltas`: one [`BookDelta`] when it changed the resting orders, none otherwise. Its
    /// trades' `time_ms` is 0: the engine has no clock, so the caller stamps them.
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

    /// [`Book::submit`], with deltas when `deltas` is given.
    #[inline]
    pub(super) fn submit_into(
        &mut self,
        owner: Owner,
        req: &Request,
        id_floor: OrderId,
        out: &mut Vec<Report>,
        deltas: Option<&mut (dyn DeltaSink + '_)>,
    ) -> Outcome {
        match *req {
            Request::Orders { .. } => return list_orders([&*self], owner, out),
            Request::CancelAll { .. } => return cancel_all([self], owner, out, deltas, false),
            _ => {}
        }
        self.changes.start(deltas.is_some());
        let outcome = self.apply(owner, req, id_floor, out);
        self.finish(deltas);
        outcome
    }

    /// Ends a request (or, on disconnect, one cancelled order): moves the sequence and
    /// appends the delta when the book changed.
    fn finish(&mut self, deltas: Option<&mut (dyn DeltaSink + '_)>) {
        self.changes.finish(self.symbol, &mut self.seq, deltas);
    }

    /// A request other than `orders` and `cancel_all`, with the change tracking started.
    fn apply(
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
                    to: To::Sender,
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
                    to: To::Sender,
                };
                self.place(owner, order, id_floor, out)
            }
            Request::Cancel { id, .. } => self.cancel(owner, id, out),
            Request::Amend { id, qty, price, .. } => self.amend(owner, id, qty, price, out),
            Request::Login | Request::Ping | Request::Orders { .. } | Request::CancelAll { .. } => {
                Outcome::Ignored
            }
        }
    }

    /// Never changed (no resting order, no trade, sequence 0), so dropping the book loses
    /// nothing: its `match` ids and sequence must keep increasing once it has.
    pub(crate) fn is_idle(&self) -> bool {
        self.is_empty() && self.last_match == 0 && self.seq == 0
    }

    /// The resting order in `slot`.
    fn resting_at(&self, slot: u32) -> Resting {
        let node = self.orders.get(slot);
        Resting {
            id: node.id,
            owner: node.owner,
            side: node.side,
            price: self.ladder(node.side).price(node.key),
            leaves: node.leaves,
            tif: node.tif,
            stp: node.stp,
        }
    }

    fn ladder(&self, side: Side) -> &Ladder {
        match side {
            Side::Buy => &self.bids,
            Side::Sell => &self.asks,
        }
    }

    fn ladder_mut(&mut self, side: Side) -> &mut Ladder {
        match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        }
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
        } else if self.index.contains_key(&(owner, order.id)) {
            Some(RejectReason::DuplicateId)
        } else if order.id <= id_floor {
            Some(RejectReason::IdNotIncreasing)
        } else if order.tif == Tif::Post && self.crosses(order) {
            Some(RejectReason::WouldCross)
        } else {
            None
        };
        if let Some(reason) = refusal {
            return reject(out, order.id, reason);
        }
        out.push(Report {
            to: To::Sender,
            kind: ReportKind::Ack { id: order.id },
        });
        if order.tif == Tif::Fok && self.available(owner, order) < order.qty {
            out.push(done(order.to, order.id, DoneReason::Expired, order.qty));
            return Outcome::Accepted;
        }
        self.execute(owner, order, out);
        Outcome::Accepted
    }

    /// Whether any resting order crosses `order`'s limit, the account's own included: a
    /// `post` order never takes liquidity, so self-trade prevention does not make a crossing
    /// price acceptable to it.
    fn crosses(&self, order: Incoming) -> bool {
        self.ladder(order.side.opposite())
            .crossing(order.limit)
            .next()
            .is_some()
    }

    /// The quantity `order` could trade, counted best level first and each level in time
    /// priority only until it reaches `order.qty` (a `fok` needs no more to know it fills).
    /// Under self-trade prevention the account's own orders are never available, and when
    /// the taker would be cancelled at the first one nothing after it counts. Walks the slab
    /// links in place, allocating nothing.
    fn available(&self, owner: Owner, order: Incoming) -> Qty {
        let mut available = 0;
        for level in self.ladder(order.side.opposite()).crossing(order.limit) {
            let mut slot = level.head;
            while slot != NIL {
                let node = self.orders.get(slot);
                if order.stp != Stp::None && node.owner == owner {
                    if order.stp.cancels_taker() {
                        return available;
                    }
                } else {
                    available += node.leaves;
                    if available >= order.qty {
                        return available;
                    }
                }
                slot = node.next;
            }
        }
        available
    }

    /// Trades `order` as far as it crosses, then rests its remainder or ends it: `done`
    /// `filled`, `self trade` or `expired`.
    fn execute(&mut self, owner: Owner, order: Incoming, out: &mut Vec<Report>) {
        let crossed = self.cross(owner, order, out);
        let (reason, leaves) = match (crossed, order.limit) {
            (Crossed { leaves: 0, .. }, _) => (DoneReason::Filled, 0),
            (Crossed { leaves, self_trade }, _) if self_trade => (DoneReason::SelfTrade, leaves),
            (Crossed { leaves, .. }, Some(price)) if order.tif.rests() => {
                return self.rest(owner, order, price, leaves, out);
            }
            (Crossed { leaves, .. }, _) => (DoneReason::Expired, leaves),
        };
        out.push(done(order.to, order.id, reason, leaves));
    }

    /// Trades `order` against the opposite side, best level first and each level's FIFO in
    /// arrival order, while it crosses. An order of the same account meets `order.stp`
    /// instead of a trade: the maker leaves (`done`, `self trade`), or the taker stops.
    fn cross(&mut self, owner: Owner, order: Incoming, out: &mut Vec<Report>) -> Crossed {
        let Book {
            symbol,
            bids,
            asks,
            orders,
            index,
            last_match,
            changes,
            ..
        } = self;
        let opposite = match order.side {
            Side::Buy => asks,
            Side::Sell => bids,
        };
        let threshold = opposite.threshold(order.limit);
        let prevents = order.stp != Stp::None;
        let mut leaves = order.qty;
        let mut self_trade = false;
        while leaves > 0 && !self_trade {
            let Some(&mut Level {
                key,
                mut head,
                mut total,
                ..
            }) = opposite.best_mut()
            else {
                break;
            };
            if key < threshold {
                break;
            }
            let price = opposite.price(key);
            let before = total;
            while leaves > 0 && head != NIL {
                let resting = orders.get_mut(head);
                if prevents && resting.owner == owner {
                    if order.stp.cancels_maker() {
                        let id = resting.id;
                        out.push(done(
                            To::Owner(owner),
                            id,
                            DoneReason::SelfTrade,
                            resting.leaves,
                        ));
                        total -= resting.leaves;
                        head = free_head(orders, index, head);
                    }
                    if order.stp.cancels_taker() {
                        self_trade = true;
                        break;
                    }
                    continue;
                }
                let qty = leaves.min(resting.leaves);
                leaves -= qty;
                resting.leaves -= qty;
                total -= qty;
                *last_match += 1;
                changes.trade(*last_match, price, qty, order.side);
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
                    to: order.to,
                    kind: fill(order.id, order.side, leaves),
                });
                out.push(Report {
                    to: To::Owner(resting.owner),
                    kind: fill(resting.id, resting.side, resting.leaves),
                });
                if resting.leaves == 0 {
                    out.push(done(
                        To::Owner(resting.owner),
                        resting.id,
                        DoneReason::Filled,
                        0,
                    ));
                    head = free_head(orders, index, head);
                }
            }
            if total != before {
                changes.level(order.side.opposite(), price, total);
            }
            match opposite.best_mut() {
                Some(level) if head != NIL => {
                    level.head = head;
                    level.total = total;
                    orders.get_mut(head).prev = NIL;
                }
                _ => opposite.pop_best(),
            }
        }
        Crossed { leaves, self_trade }
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
            out.push(done(order.to, order.id, DoneReason::Expired, leaves));
            return;
        };
        let level = own.entry(key);
        level.total += leaves;
        self.changes.level(order.side, price, level.total);
        let tail = level.tail;
        level.tail = slot;
        if tail == NIL {
            level.head = slot;
        } else {
            self.orders.get_mut(tail).next = slot;
            self.orders.get_mut(slot).prev = tail;
        }
        self.index.insert((owner, order.id), slot);
    }

    fn cancel(&mut self, owner: Owner, id: OrderId, out: &mut Vec<Report>) -> Outcome {
        let Some(&slot) = self.index.get(&(owner, id)) else {
            // Another account's order is reported exactly as no order.
            return reject(out, id, RejectReason::UnknownOrder);
        };
        let node = self.unlink(slot);
        out.push(done(
            To::Owner(owner),
            id,
            DoneReason::Cancelled,
            node.leaves,
        ));
        Outcome::Cancelled
    }

    /// Takes the order in `slot` off the book from any position in its level, removing the
    /// level when it empties, and returns it.
    fn unlink(&mut self, slot: u32) -> Node {
        let node = *self.orders.get(slot);
        self.index.remove(&(node.owner, node.id));
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
            let price = ladder.price(node.key);
            let level = ladder.get_mut(position);
            level.total -= node.leaves;
            self.changes.level(node.side, price, level.total);
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
        node
    }
}

/// Frees the order in `slot`, the head of its level while crossing (the caller fixes the
/// level's links after), and returns the order after it.
fn free_head(orders: &mut Slab, index: &mut Index, slot: u32) -> u32 {
    let Node {
        id, owner, next, ..
    } = *orders.get(slot);
    index.remove(&(owner, id));
    orders.free(slot);
    next
}

fn done(to: To, id: OrderId, reason: DoneReason, leaves: Qty) -> Report {
    Report {
        to,
        kind: ReportKind::Done { id, reason, leaves },
    }
}

/// A request's refusal, always to its sender.
fn reject(out: &mut Vec<Report>, id: OrderId, reason: RejectReason) -> Outcome {
    out.push(Report {
        to: To::Sender,
        kind: ReportKind::Reject { id, reason },
    });
    Outcome::Rejected
}

#[cfg(test)]
mod tests;
