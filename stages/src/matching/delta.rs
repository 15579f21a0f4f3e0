use smallvec::SmallVec;

use super::{Price, Qty, Side, Symbol};

/// What one request did to one book, as matching hands it to market data: the levels whose
/// total changed and the trades, in match order.
///
/// # Sequence
///
/// Matching assigns `seq`, per symbol: 0 for a book that never changed, and +1 for each
/// request that changed the book's resting orders (an order that rests or trades, a cancel,
/// one step per book a `cancel_all` changed, an amend, a self-trade cancel) and for each
/// order cancelled on disconnect. A request that leaves the book as it was (a rejected
/// order, an amend to the current values, an `ioc` that trades nothing) makes no delta.
/// Market data applies deltas in `seq` order without gaps, so every subscriber sees the same
/// numbering, whichever process serves it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BookDelta {
    /// The book.
    pub symbol: Symbol,
    /// The book's sequence number after the request.
    pub seq: u64,
    /// Each level whose total changed, at most once per side and price, with its total after
    /// the request (0: the level is gone). Usually one or two; a request that changed
    /// resting orders without changing any total leaves it empty.
    pub levels: Levels,
    /// The request's trades, in match order.
    pub trades: Trades,
}

/// A delta's levels: two inline, the usual most, so a delta costs no allocation of its own
/// (it is made on matching's thread and dropped on market data's).
pub type Levels = SmallVec<[LevelChange; 2]>;

/// A delta's trades: two inline, for the same reason.
pub type Trades = SmallVec<[Trade; 2]>;

/// One price level's total after a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LevelChange {
    /// Bids (`Buy`) or asks (`Sell`).
    pub side: Side,
    /// The level.
    pub price: Price,
    /// The quantity resting at it now; 0 when nothing is left.
    pub total: Qty,
}

/// One public trade.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Trade {
    /// The trade's id, increasing by 1 per symbol from 1 (the fills' `match`).
    pub match_id: u64,
    /// The resting order's price.
    pub price: Price,
    /// The traded quantity.
    pub qty: Qty,
    /// The incoming order's side.
    pub taker: Side,
    /// When matching executed it, in milliseconds since the Unix epoch.
    pub time_ms: u64,
}
