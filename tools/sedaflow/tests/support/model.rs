//! A deliberately plain reference of PROTOCOL.md's matching rules: one `Vec` of resting orders
//! per symbol, searched in full for every trade. It says which responses a request must produce
//! and to whom; the tests compare the server's answers against it.

use std::collections::HashMap;

use serde_json::{json, Value};

pub use super::request::{render_price, Req, Side, Tif};

/// Fixed-point steps per price unit: prices are multiples of 0.0001.
pub const TICKS: u64 = 10_000;
/// The highest valid price, in ticks.
pub const MAX_PRICE: u64 = 1_000_000_000 * TICKS;
/// The highest valid quantity.
pub const MAX_QTY: u64 = 1_000_000_000;

/// Who receives a response: the index of a connection in the test.
pub type Owner = usize;

/// Why a request was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    DuplicateId,
    IdNotIncreasing,
    UnknownOrder,
    /// A `post` order that would trade on arrival (or be amended to a crossing price).
    WouldCross,
    /// An `amend` with neither `qty` nor `price`.
    NothingToAmend,
    /// An invalid field: the reason must name it (wording is the server's choice).
    Field(&'static str),
}

impl Reason {
    /// The exact reason text, or `None` for a field reason (only required to name the field).
    pub fn exact(self) -> Option<&'static str> {
        match self {
            Reason::DuplicateId => Some("duplicate id"),
            Reason::IdNotIncreasing => Some("id not increasing"),
            Reason::UnknownOrder => Some("unknown order"),
            Reason::WouldCross => Some("would cross"),
            Reason::NothingToAmend => Some("nothing to amend"),
            Reason::Field(_) => None,
        }
    }
}

/// Why an order left the book.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DoneReason {
    Filled,
    Cancelled,
    Expired,
}

impl DoneReason {
    pub fn as_str(self) -> &'static str {
        match self {
            DoneReason::Filled => "filled",
            DoneReason::Cancelled => "cancelled",
            DoneReason::Expired => "expired",
        }
    }
}

/// One response the model expects. `trade` numbers the symbol's trades 1, 2, 3, …; the
/// server's `match` only has to increase with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Report {
    Ack {
        id: u64,
    },
    Reject {
        id: u64,
        reason: Reason,
    },
    Fill {
        id: u64,
        symbol: String,
        side: Side,
        price: u64,
        qty: u64,
        leaves: u64,
        trade: u64,
    },
    Done {
        id: u64,
        reason: DoneReason,
        leaves: u64,
    },
    /// The order's price (ticks) and `leaves` right after an `amend`.
    Amended {
        id: u64,
        price: u64,
        leaves: u64,
    },
    /// One line of an `orders` answer.
    Order {
        id: u64,
        symbol: String,
        side: Side,
        price: u64,
        leaves: u64,
        tif: Tif,
    },
    OrdersEnd {
        count: usize,
    },
    CancelAllDone {
        count: usize,
    },
    Pong,
}

impl Report {
    /// The response as the server must write it; a fill gets `match` as given.
    pub fn to_value(&self, matched: u64) -> Value {
        match self {
            Report::Ack { id } => json!({"type": "ack", "id": id}),
            Report::Reject { id, reason } => {
                json!({"type": "reject", "id": id, "reason": reason.exact().unwrap_or("?")})
            }
            Report::Fill {
                id,
                symbol,
                side,
                price,
                qty,
                leaves,
                ..
            } => json!({
                "type": "fill", "id": id, "symbol": symbol, "side": side.as_str(),
                "price": render_price(*price), "qty": qty, "leaves": leaves, "match": matched,
            }),
            Report::Done { id, reason, leaves } => {
                json!({"type": "done", "id": id, "reason": reason.as_str(), "leaves": leaves})
            }
            Report::Amended { id, price, leaves } => json!({
                "type": "amended", "id": id, "price": render_price(*price), "leaves": leaves,
            }),
            Report::Order {
                id,
                symbol,
                side,
                price,
                leaves,
                tif,
            } => json!({
                "type": "order", "id": id, "symbol": symbol, "side": side.as_str(),
                "price": render_price(*price), "leaves": leaves,
                "tif": if *tif == Tif::Post { "post" } else { "gtc" },
            }),
            Report::OrdersEnd { count } => json!({"type": "orders_end", "count": count}),
            Report::CancelAllDone { count } => json!({"type": "cancel_all_done", "count": count}),
            Report::Pong => json!({"type": "pong"}),
        }
    }
}

/// An order resting on a book.
#[derive(Clone, Debug)]
struct Resting {
    id: u64,
    owner: Owner,
    side: Side,
    price: u64,
    leaves: u64,
    arrival: u64,
    /// As entered: `Gtc` or `Post`.
    tif: Tif,
}

/// One symbol's book.
#[derive(Default)]
struct Book {
    resting: Vec<Resting>,
    arrivals: u64,
    trades: u64,
}

impl Book {
    /// The quantity resting at prices that cross an incoming order's `limit`.
    fn crossing(&self, side: Side, limit: Option<u64>) -> u64 {
        self.resting
            .iter()
            .filter(|r| crosses(side, limit, r))
            .map(|r| r.leaves)
            .sum()
    }

    /// The index of the resting order an incoming order trades with next, if any crosses:
    /// best price first, then earliest arrival. `limit == None` is a market order.
    fn best_against(&self, side: Side, limit: Option<u64>) -> Option<usize> {
        let better = |a: &Resting, b: &Resting| {
            let price_better = match side {
                Side::Buy => a.price < b.price,
                Side::Sell => a.price > b.price,
            };
            price_better || (a.price == b.price && a.arrival < b.arrival)
        };
        let mut best: Option<usize> = None;
        for (i, r) in self.resting.iter().enumerate() {
            if crosses(side, limit, r) && best.is_none_or(|b| better(r, &self.resting[b])) {
                best = Some(i);
            }
        }
        best
    }
}

/// Whether `r` trades with an incoming order on `side` up to `limit` (`None`: a market order).
fn crosses(side: Side, limit: Option<u64>, r: &Resting) -> bool {
    match side {
        Side::Buy => r.side == Side::Sell && limit.is_none_or(|l| r.price <= l),
        Side::Sell => r.side == Side::Buy && limit.is_none_or(|l| r.price >= l),
    }
}

/// An incoming `limit` or `market` order.
struct Entry<'a> {
    id: u64,
    symbol: &'a str,
    side: Side,
    /// `None` for a market order.
    limit: Option<u64>,
    qty: u64,
    tif: Tif,
}

/// The reference exchange: books per symbol and each account's highest accepted id.
#[derive(Default)]
pub struct Model {
    books: HashMap<String, Book>,
    last_accepted: HashMap<Owner, u64>,
}

impl Model {
    pub fn new() -> Model {
        Model::default()
    }

    /// Applies `req` sent by `owner` (an account); returns every response it causes, with its
    /// addressee, in the order the contract allows (per order: ack or amended, fills in trade
    /// order, done; `order` and `done` lines of a listing or `cancel_all` ascending by id).
    pub fn apply(&mut self, owner: Owner, req: &Req) -> Vec<(Owner, Report)> {
        let mut out = Vec::new();
        match req {
            Req::Ping => out.push((owner, Report::Pong)),
            Req::Cancel { id, symbol } => self.cancel(owner, *id, symbol, &mut out),
            Req::Limit {
                id,
                symbol,
                side,
                price,
                qty,
                tif,
            } => {
                let entry = Entry {
                    id: *id,
                    symbol,
                    side: *side,
                    limit: Some(*price),
                    qty: *qty,
                    tif: *tif,
                };
                self.enter(owner, entry, &mut out);
            }
            Req::Market {
                id,
                symbol,
                side,
                qty,
            } => {
                let entry = Entry {
                    id: *id,
                    symbol,
                    side: *side,
                    limit: None,
                    qty: *qty,
                    tif: Tif::Ioc,
                };
                self.enter(owner, entry, &mut out);
            }
            Req::Amend {
                id,
                symbol,
                qty,
                price,
            } => self.amend(owner, (*id, symbol), (*qty, *price), &mut out),
            Req::Orders { symbol } => {
                for (symbol, r) in self.owned(owner, symbol.as_deref()) {
                    let (id, side, price, leaves, tif) = (r.id, r.side, r.price, r.leaves, r.tif);
                    out.push((
                        owner,
                        Report::Order {
                            id,
                            symbol,
                            side,
                            price,
                            leaves,
                            tif,
                        },
                    ));
                }
                let count = out.len();
                out.push((owner, Report::OrdersEnd { count }));
            }
            Req::CancelAll { symbol } => {
                for (symbol, r) in self.owned(owner, symbol.as_deref()) {
                    self.cancel(owner, r.id, &symbol, &mut out);
                }
                let count = out.len();
                out.push((owner, Report::CancelAllDone { count }));
            }
        }
        out
    }

    /// The orders resting on `symbol` as `(id, leaves)`, sorted by id.
    pub fn resting(&self, symbol: &str) -> Vec<(u64, u64)> {
        let mut resting: Vec<(u64, u64)> = self
            .books
            .get(symbol)
            .map(|b| b.resting.iter().map(|r| (r.id, r.leaves)).collect())
            .unwrap_or_default();
        resting.sort_unstable();
        resting
    }

    /// How many trades `symbol` has had.
    pub fn trades(&self, symbol: &str) -> u64 {
        self.books.get(symbol).map_or(0, |b| b.trades)
    }

    /// Every resting order as (symbol, id), sorted.
    pub fn all_resting(&self) -> Vec<(String, u64)> {
        let mut all: Vec<(String, u64)> = self
            .books
            .iter()
            .flat_map(|(symbol, book)| book.resting.iter().map(|r| (symbol.clone(), r.id)))
            .collect();
        all.sort();
        all
    }

    /// `owner`'s resting orders (on `symbol` only, when given), ascending by id then symbol.
    fn owned(&self, owner: Owner, symbol: Option<&str>) -> Vec<(String, Resting)> {
        let mut owned: Vec<(String, Resting)> = self
            .books
            .iter()
            .filter(|(s, _)| symbol.is_none_or(|symbol| symbol == s.as_str()))
            .flat_map(|(s, book)| book.resting.iter().map(move |r| (s.clone(), r.clone())))
            .filter(|(_, r)| r.owner == owner)
            .collect();
        owned.sort_by(|(a, ra), (b, rb)| (ra.id, a).cmp(&(rb.id, b)));
        owned
    }

    /// Where `owner`'s order `id` rests on `symbol`, if it does.
    fn position(&self, owner: Owner, id: u64, symbol: &str) -> Option<usize> {
        let book = self.books.get(symbol)?;
        book.resting
            .iter()
            .position(|r| r.id == id && r.owner == owner)
    }

    fn cancel(&mut self, owner: Owner, id: u64, symbol: &str, out: &mut Vec<(Owner, Report)>) {
        let Some(at) = self.position(owner, id, symbol) else {
            let reason = Reason::UnknownOrder;
            out.push((owner, Report::Reject { id, reason }));
            return;
        };
        let order = self.book(symbol).resting.remove(at);
        let done = Report::Done {
            id,
            reason: DoneReason::Cancelled,
            leaves: order.leaves,
        };
        out.push((owner, done));
    }

    /// PROTOCOL.md "amend": a smaller `qty` at the same price keeps the order's place; a new
    /// price or a larger `qty` sends it to the back, trading first if it crosses.
    fn amend(
        &mut self,
        owner: Owner,
        (id, symbol): (u64, &str),
        (qty, price): (Option<u64>, Option<u64>),
        out: &mut Vec<(Owner, Report)>,
    ) {
        let reject = |out: &mut Vec<(Owner, Report)>, reason| {
            out.push((owner, Report::Reject { id, reason }));
        };
        if price.is_some_and(|p| p == 0 || p > MAX_PRICE) {
            return reject(out, Reason::Field("price"));
        }
        if qty.is_some_and(|q| q == 0 || q > MAX_QTY) {
            return reject(out, Reason::Field("qty"));
        }
        if qty.is_none() && price.is_none() {
            return reject(out, Reason::NothingToAmend);
        }
        let Some(at) = self.position(owner, id, symbol) else {
            return reject(out, Reason::UnknownOrder);
        };
        let book = self.book(symbol);
        let order = book.resting[at].clone();
        let (price, leaves) = (price.unwrap_or(order.price), qty.unwrap_or(order.leaves));
        let amended = Report::Amended { id, price, leaves };
        if price == order.price && leaves <= order.leaves {
            book.resting[at].leaves = leaves;
            return out.push((owner, amended));
        }
        if order.tif == Tif::Post && book.crossing(order.side, Some(price)) > 0 {
            return reject(out, Reason::WouldCross);
        }
        book.resting.remove(at);
        out.push((owner, amended));
        let entry = Entry {
            id,
            symbol,
            side: order.side,
            limit: Some(price),
            qty: leaves,
            tif: order.tif,
        };
        self.execute(owner, &entry, out);
    }

    fn book(&mut self, symbol: &str) -> &mut Book {
        self.books.entry(symbol.to_owned()).or_default()
    }

    fn enter(&mut self, owner: Owner, e: Entry<'_>, out: &mut Vec<(Owner, Report)>) {
        let reject = |out: &mut Vec<(Owner, Report)>, reason| {
            out.push((owner, Report::Reject { id: e.id, reason }));
        };
        if e.limit.is_some_and(|p| p == 0 || p > MAX_PRICE) {
            return reject(out, Reason::Field("price"));
        }
        if e.qty == 0 || e.qty > MAX_QTY {
            return reject(out, Reason::Field("qty"));
        }
        if self.position(owner, e.id, e.symbol).is_some() {
            return reject(out, Reason::DuplicateId);
        }
        let last = self.last_accepted.entry(owner).or_insert(0);
        if e.id <= *last {
            return reject(out, Reason::IdNotIncreasing);
        }
        let crossing = self.book(e.symbol).crossing(e.side, e.limit);
        if e.tif == Tif::Post && crossing > 0 {
            return reject(out, Reason::WouldCross);
        }
        self.last_accepted.insert(owner, e.id);
        out.push((owner, Report::Ack { id: e.id }));
        if e.tif == Tif::Fok && crossing < e.qty {
            let (reason, leaves) = (DoneReason::Expired, e.qty);
            out.push((
                owner,
                Report::Done {
                    id: e.id,
                    reason,
                    leaves,
                },
            ));
            return;
        }
        self.execute(owner, &e, out);
    }

    /// Trades `e` against the book, then rests its remainder (a `gtc` or `post` limit) at
    /// the back of its price level, or expires it.
    fn execute(&mut self, owner: Owner, e: &Entry<'_>, out: &mut Vec<(Owner, Report)>) {
        let book = self.book(e.symbol);
        let mut leaves = e.qty;
        while leaves > 0 {
            let Some(at) = book.best_against(e.side, e.limit) else {
                break;
            };
            book.trades += 1;
            let trade = book.trades;
            let maker = &mut book.resting[at];
            let qty = leaves.min(maker.leaves);
            leaves -= qty;
            maker.leaves -= qty;
            let fill = |id, side, leaves| Report::Fill {
                id,
                symbol: e.symbol.to_owned(),
                side,
                price: maker.price,
                qty,
                leaves,
                trade,
            };
            out.push((owner, fill(e.id, e.side, leaves)));
            out.push((maker.owner, fill(maker.id, maker.side, maker.leaves)));
            if maker.leaves == 0 {
                let maker = book.resting.remove(at);
                let done = Report::Done {
                    id: maker.id,
                    reason: DoneReason::Filled,
                    leaves: 0,
                };
                out.push((maker.owner, done));
            }
        }

        let done = |reason, leaves| Report::Done {
            id: e.id,
            reason,
            leaves,
        };
        match e.limit {
            _ if leaves == 0 => out.push((owner, done(DoneReason::Filled, 0))),
            Some(price) if matches!(e.tif, Tif::Gtc | Tif::Post) => {
                book.arrivals += 1;
                book.resting.push(Resting {
                    id: e.id,
                    owner,
                    side: e.side,
                    price,
                    leaves,
                    arrival: book.arrivals,
                    tif: e.tif,
                });
            }
            _ => out.push((owner, done(DoneReason::Expired, leaves))),
        }
    }
}
