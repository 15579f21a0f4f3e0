//! A deliberately simple reference for the matching engine: each book a plain list of
//! orders, searched in full for every trade, so that its rules read straight from
//! PROTOCOL.md. Property tests run the same requests through it and through
//! `matching::Engine` and compare every report and outcome, and the market-data deltas,
//! which the model finds by comparing each book before and after a request.

use std::collections::{BTreeMap, BTreeSet};

use sedaflow_stages::market::{BookDelta, LevelChange, Trade};
use sedaflow_stages::matching::{
    DoneReason, OrderId, Outcome, Owner, Price, Qty, RejectReason, Report, ReportKind, Request,
    Resting, Side, Stp, Symbol, Tif, To,
};

/// A resting order and when it (last) joined the back of its level.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Order {
    resting: Resting,
    arrival: u64,
}

/// An order that trades on arrival: a new one, or a resting one amended to a new place.
#[derive(Clone, Copy)]
struct Taker {
    id: OrderId,
    owner: Owner,
    side: Side,
    qty: Qty,
    limit: Option<Price>,
    tif: Tif,
    stp: Stp,
    /// Where its own fills and `done` go.
    to: To,
}

#[derive(Default)]
struct Book {
    orders: Vec<Order>,
    arrivals: u64,
    matches: u64,
    /// Requests that changed `orders`.
    seq: u64,
    /// The trades of the current request.
    trades: Vec<Trade>,
}

/// Every symbol's book.
#[derive(Default)]
pub struct Model {
    books: BTreeMap<Symbol, Book>,
}

fn push(out: &mut Vec<Report>, to: To, kind: ReportKind) {
    out.push(Report { to, kind });
}

fn done(out: &mut Vec<Report>, to: To, id: OrderId, reason: DoneReason, leaves: Qty) {
    push(out, to, ReportKind::Done { id, reason, leaves });
}

fn reject(out: &mut Vec<Report>, id: OrderId, reason: RejectReason) -> Outcome {
    push(out, To::Sender, ReportKind::Reject { id, reason });
    Outcome::Rejected
}

/// The total per level, keyed bids first (`false`), then by price.
fn totals(orders: &[Order]) -> BTreeMap<(bool, Price), Qty> {
    let mut totals = BTreeMap::new();
    for o in orders {
        let key = (o.resting.side == Side::Sell, o.resting.price);
        *totals.entry(key).or_default() += o.resting.leaves;
    }
    totals
}

/// `cancel_all`'s last report and outcome, after `count` cancels.
fn cancel_all_done(out: &mut Vec<Report>, count: usize) -> Outcome {
    let count = count as u64;
    push(out, To::Sender, ReportKind::CancelAllDone { count });
    if count == 0 {
        Outcome::Listed
    } else {
        Outcome::CancelledAll
    }
}

fn cancels_taker(stp: Stp) -> bool {
    matches!(stp, Stp::CancelTaker | Stp::CancelBoth)
}

fn cancels_maker(stp: Stp) -> bool {
    matches!(stp, Stp::CancelMaker | Stp::CancelBoth)
}

impl Book {
    fn crosses(taker: &Taker, o: &Resting) -> bool {
        o.side != taker.side
            && match (taker.side, taker.limit) {
                (_, None) => true,
                (Side::Buy, Some(limit)) => o.price <= limit,
                (Side::Sell, Some(limit)) => o.price >= limit,
            }
    }

    /// The orders `taker` crosses, in the order it would meet them.
    fn crossing(&self, taker: &Taker) -> Vec<Order> {
        let mut crossing: Vec<Order> = self
            .orders
            .iter()
            .copied()
            .filter(|o| Book::crosses(taker, &o.resting))
            .collect();
        crossing.sort_by_key(|o| {
            let price = o.resting.price.ticks() as i128;
            let better_first = if taker.side == Side::Buy {
                price
            } else {
                -price
            };
            (better_first, o.arrival)
        });
        crossing
    }

    fn position(&self, owner: Owner, id: OrderId) -> Option<usize> {
        self.orders
            .iter()
            .position(|o| o.resting.owner == owner && o.resting.id == id)
    }

    /// What a `fok` may count on: under stp, own orders never, and nothing after the first
    /// one when the taker would be cancelled there.
    fn available(&self, taker: &Taker) -> Qty {
        let mut available = 0;
        for o in self.crossing(taker) {
            if taker.stp != Stp::None && o.resting.owner == taker.owner {
                if cancels_taker(taker.stp) {
                    break;
                }
                continue;
            }
            available += o.resting.leaves;
        }
        available
    }

    fn place(
        &mut self,
        symbol: Symbol,
        taker: Taker,
        floor: OrderId,
        out: &mut Vec<Report>,
    ) -> Outcome {
        let refusal = if taker.qty == 0 {
            Some(RejectReason::InvalidQty)
        } else if self.position(taker.owner, taker.id).is_some() {
            Some(RejectReason::DuplicateId)
        } else if taker.id <= floor {
            Some(RejectReason::IdNotIncreasing)
        } else if taker.tif == Tif::Post && !self.crossing(&taker).is_empty() {
            Some(RejectReason::WouldCross)
        } else {
            None
        };
        if let Some(reason) = refusal {
            return reject(out, taker.id, reason);
        }
        push(out, To::Sender, ReportKind::Ack { id: taker.id });
        if taker.tif == Tif::Fok && self.available(&taker) < taker.qty {
            done(out, taker.to, taker.id, DoneReason::Expired, taker.qty);
            return Outcome::Accepted;
        }
        self.execute(symbol, taker, out);
        Outcome::Accepted
    }

    /// Trades `taker`, then rests or ends its remainder.
    fn execute(&mut self, symbol: Symbol, taker: Taker, out: &mut Vec<Report>) {
        let mut leaves = taker.qty;
        let mut self_trade = false;
        while leaves > 0 {
            let Some(best) = self
                .crossing(&Taker {
                    qty: leaves,
                    ..taker
                })
                .first()
                .copied()
            else {
                break;
            };
            let maker = best.resting;
            let position = self
                .position(maker.owner, maker.id)
                .expect("crossing order rests");
            if taker.stp != Stp::None && maker.owner == taker.owner {
                if cancels_maker(taker.stp) {
                    self.orders.remove(position);
                    done(
                        out,
                        To::Owner(maker.owner),
                        maker.id,
                        DoneReason::SelfTrade,
                        maker.leaves,
                    );
                }
                if cancels_taker(taker.stp) {
                    self_trade = true;
                    break;
                }
                continue;
            }
            let qty = leaves.min(maker.leaves);
            leaves -= qty;
            self.matches += 1;
            self.trades.push(Trade {
                match_id: self.matches,
                price: maker.price,
                qty,
                taker: taker.side,
                time_ms: 0,
            });
            let fill = |id, side, leaves| ReportKind::Fill {
                id,
                symbol,
                side,
                price: maker.price,
                qty,
                leaves,
                match_id: self.matches,
            };
            push(out, taker.to, fill(taker.id, taker.side, leaves));
            let maker_leaves = maker.leaves - qty;
            push(
                out,
                To::Owner(maker.owner),
                fill(maker.id, maker.side, maker_leaves),
            );
            if maker_leaves == 0 {
                done(out, To::Owner(maker.owner), maker.id, DoneReason::Filled, 0);
                self.orders.remove(position);
            } else {
                self.orders[position].resting.leaves = maker_leaves;
            }
        }
        match (leaves, taker.limit) {
            (0, _) => done(out, taker.to, taker.id, DoneReason::Filled, 0),
            _ if self_trade => done(out, taker.to, taker.id, DoneReason::SelfTrade, leaves),
            (_, Some(price)) if matches!(taker.tif, Tif::Gtc | Tif::Post) => {
                self.arrivals += 1;
                let resting = Resting {
                    id: taker.id,
                    owner: taker.owner,
                    side: taker.side,
                    price,
                    leaves,
                    tif: taker.tif,
                    stp: taker.stp,
                };
                self.orders.push(Order {
                    resting,
                    arrival: self.arrivals,
                });
            }
            _ => done(out, taker.to, taker.id, DoneReason::Expired, leaves),
        }
    }

    fn cancel(&mut self, owner: Owner, id: OrderId, out: &mut Vec<Report>) -> Outcome {
        let Some(position) = self.position(owner, id) else {
            return reject(out, id, RejectReason::UnknownOrder);
        };
        let order = self.orders.remove(position).resting;
        done(
            out,
            To::Owner(owner),
            id,
            DoneReason::Cancelled,
            order.leaves,
        );
        Outcome::Cancelled
    }

    fn amend(
        &mut self,
        symbol: Symbol,
        owner: Owner,
        (id, qty, price): (OrderId, Option<Qty>, Option<Price>),
        out: &mut Vec<Report>,
    ) -> Outcome {
        if qty.is_none() && price.is_none() {
            return reject(out, id, RejectReason::NothingToAmend);
        }
        if qty == Some(0) {
            return reject(out, id, RejectReason::InvalidQty);
        }
        let Some(position) = self.position(owner, id) else {
            return reject(out, id, RejectReason::UnknownOrder);
        };
        let order = self.orders[position].resting;
        let new_price = price.unwrap_or(order.price);
        let leaves = qty.unwrap_or(order.leaves);
        let amended = ReportKind::Amended {
            id,
            price: new_price,
            leaves,
        };
        if new_price == order.price && leaves == order.leaves {
            push(out, To::Sender, amended);
            return Outcome::Listed;
        }
        if new_price == order.price && leaves < order.leaves {
            self.orders[position].resting.leaves = leaves;
            push(out, To::Sender, amended);
            return Outcome::Amended;
        }
        let taker = Taker {
            id,
            owner,
            side: order.side,
            qty: leaves,
            limit: Some(new_price),
            tif: order.tif,
            stp: order.stp,
            to: To::Owner(owner),
        };
        if order.tif == Tif::Post && !self.crossing(&taker).is_empty() {
            return reject(out, id, RejectReason::WouldCross);
        }
        self.orders.remove(position);
        push(out, To::Sender, amended);
        self.execute(symbol, taker, out);
        Outcome::Amended
    }

    /// The book's resting orders as `Book::resting` lists them: bids then asks, best price
    /// first, then arrival.
    fn resting(&self) -> Vec<Resting> {
        let mut orders = self.orders.clone();
        orders.sort_by_key(|o| {
            let price = o.resting.price.ticks() as i128;
            match o.resting.side {
                Side::Buy => (0, -price, o.arrival),
                Side::Sell => (1, price, o.arrival),
            }
        });
        orders.into_iter().map(|o| o.resting).collect()
    }
}

impl Model {
    /// Applies `req` from account `owner`, whose highest accepted id is `floor`.
    pub fn submit(
        &mut self,
        owner: Owner,
        req: &Request,
        floor: OrderId,
        out: &mut Vec<Report>,
    ) -> Outcome {
        let new = |id, side, qty, limit, tif, stp| Taker {
            id,
            owner,
            side,
            qty,
            limit,
            tif,
            stp,
            to: To::Sender,
        };
        match *req {
            Request::Limit {
                id,
                symbol,
                side,
                price,
                qty,
                tif,
                stp,
            } => self.book(symbol).place(
                symbol,
                new(id, side, qty, Some(price), tif, stp),
                floor,
                out,
            ),
            Request::Market {
                id,
                symbol,
                side,
                qty,
                stp,
            } => {
                self.book(symbol)
                    .place(symbol, new(id, side, qty, None, Tif::Ioc, stp), floor, out)
            }
            Request::Cancel { id, symbol } => self.book(symbol).cancel(owner, id, out),
            Request::Amend {
                id,
                symbol,
                qty,
                price,
            } => self
                .book(symbol)
                .amend(symbol, owner, (id, qty, price), out),
            Request::Orders { symbol } => self.orders(owner, symbol, out),
            Request::CancelAll { symbol } => self.cancel_all(owner, symbol, out),
            Request::Login | Request::Ping => Outcome::Ignored,
        }
    }

    fn book(&mut self, symbol: Symbol) -> &mut Book {
        self.books.entry(symbol).or_default()
    }

    /// The account's orders on `symbol` (every book when `None`), ascending by id then symbol.
    fn owned(&self, owner: Owner, symbol: Option<Symbol>) -> Vec<(OrderId, Symbol, Resting)> {
        let mut owned: Vec<_> = self
            .books
            .iter()
            .filter(|(s, _)| symbol.is_none_or(|symbol| symbol == **s))
            .flat_map(|(s, book)| {
                book.orders
                    .iter()
                    .map(move |o| (o.resting.id, *s, o.resting))
            })
            .filter(|(_, _, o)| o.owner == owner)
            .collect();
        owned.sort_by_key(|(id, symbol, _)| (*id, *symbol));
        owned
    }

    fn orders(&self, owner: Owner, symbol: Option<Symbol>, out: &mut Vec<Report>) -> Outcome {
        let owned = self.owned(owner, symbol);
        for &(id, symbol, o) in &owned {
            let kind = ReportKind::Order {
                id,
                symbol,
                side: o.side,
                price: o.price,
                leaves: o.leaves,
                tif: o.tif,
            };
            push(out, To::Sender, kind);
        }
        let count = owned.len() as u64;
        push(out, To::Sender, ReportKind::OrdersEnd { count });
        Outcome::Listed
    }

    fn cancel_all(
        &mut self,
        owner: Owner,
        symbol: Option<Symbol>,
        out: &mut Vec<Report>,
    ) -> Outcome {
        let owned = self.owned(owner, symbol);
        for &(id, symbol, _) in &owned {
            let _ = self.book(symbol).cancel(owner, id, out);
        }
        cancel_all_done(out, owned.len())
    }

    /// [`Model::submit`], appending what it did to each book it changed, by symbol.
    pub fn submit_with_deltas(
        &mut self,
        owner: Owner,
        req: &Request,
        floor: OrderId,
        out: &mut Vec<Report>,
        deltas: &mut Vec<BookDelta>,
    ) -> Outcome {
        self.tracked(deltas, |model| model.submit(owner, req, floor, out))
    }

    /// Cancel on disconnect: `cancel_all`'s reports, but one delta per cancelled order, by
    /// symbol then id.
    pub fn cancel_all_each(
        &mut self,
        owner: Owner,
        symbol: Option<Symbol>,
        out: &mut Vec<Report>,
        deltas: &mut Vec<BookDelta>,
    ) -> Outcome {
        let owned = self.owned(owner, symbol);
        let mut by_book = owned.clone();
        by_book.sort_by_key(|(id, symbol, _)| (*symbol, *id));
        let mut scratch = Vec::new();
        for (id, symbol, _) in by_book {
            let _ = self.tracked(deltas, |model| {
                model.book(symbol).cancel(owner, id, &mut scratch)
            });
        }
        for &(id, _, o) in &owned {
            done(out, To::Owner(owner), id, DoneReason::Cancelled, o.leaves);
        }
        cancel_all_done(out, owned.len())
    }

    /// The depth sequence of `symbol`'s book.
    pub fn seq(&self, symbol: Symbol) -> u64 {
        self.books.get(&symbol).map_or(0, |book| book.seq)
    }

    /// Runs `f`, then gives each book whose orders it changed one more `seq` and a delta:
    /// each level whose total differs, with its total now, and the trades.
    fn tracked<R>(&mut self, deltas: &mut Vec<BookDelta>, f: impl FnOnce(&mut Model) -> R) -> R {
        let before: BTreeMap<Symbol, Vec<Order>> = self
            .books
            .iter()
            .map(|(symbol, book)| (*symbol, book.orders.clone()))
            .collect();
        let result = f(self);
        for (&symbol, book) in &mut self.books {
            let trades = std::mem::take(&mut book.trades);
            let old = before.get(&symbol).map_or(&[][..], Vec::as_slice);
            if book.orders == old {
                assert!(trades.is_empty(), "a trade changes the book");
                continue;
            }
            book.seq += 1;
            let (was, now) = (totals(old), totals(&book.orders));
            let keys: BTreeSet<_> = was.keys().chain(now.keys()).copied().collect();
            let levels = keys
                .into_iter()
                .filter(|key| was.get(key) != now.get(key))
                .map(|(sell, price)| LevelChange {
                    side: if sell { Side::Sell } else { Side::Buy },
                    price,
                    total: now.get(&(sell, price)).copied().unwrap_or(0),
                })
                .collect();
            deltas.push(BookDelta {
                symbol,
                seq: book.seq,
                levels,
                trades: trades.into(),
            });
        }
        result
    }

    /// Every non-empty book's resting orders, as `Book::resting` lists them, by symbol.
    pub fn resting(&self) -> BTreeMap<Symbol, Vec<Resting>> {
        self.books
            .iter()
            .map(|(symbol, book)| (*symbol, book.resting()))
            .filter(|(_, orders)| !orders.is_empty())
            .collect()
    }
}
