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

impl BookDelta {
    /// The delta as a [`DeltaRef`], as [`Deltas`] holds one.
    pub fn view(&self) -> DeltaRef<'_> {
        DeltaRef {
            symbol: self.symbol,
            seq: self.seq,
            levels: &self.levels,
            trades: &self.trades,
        }
    }
}

impl DeltaRef<'_> {
    /// An owned copy.
    pub fn to_delta(&self) -> BookDelta {
        BookDelta {
            symbol: self.symbol,
            seq: self.seq,
            levels: self.levels.into(),
            trades: self.trades.into(),
        }
    }
}

/// Where matching puts the deltas it makes: each one is handed over once, borrowed, as it is
/// made, so a sink copies it straight into its own layout (a [`Deltas`] by market-data lane,
/// say) with no owned delta in between.
pub trait DeltaSink {
    /// Takes a copy of `delta`.
    fn put(&mut self, delta: DeltaRef<'_>);
}

impl DeltaSink for Vec<BookDelta> {
    fn put(&mut self, delta: DeltaRef<'_>) {
        self.push(delta.to_delta());
    }
}

impl DeltaSink for Deltas {
    fn put(&mut self, delta: DeltaRef<'_>) {
        self.push(delta);
    }
}

/// One [`BookDelta`], borrowed: from a [`Deltas`] or a `BookDelta` alike.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeltaRef<'a> {
    /// The book.
    pub symbol: Symbol,
    /// The book's sequence number after the request.
    pub seq: u64,
    /// The levels whose total changed (see [`BookDelta::levels`]).
    pub levels: &'a [LevelChange],
    /// The request's trades, in match order.
    pub trades: &'a [Trade],
}

/// Book changes laid out for handing to another thread: a head per delta, and every
/// delta's levels and trades each in one vector.
///
/// A `Vec<BookDelta>` spends three cache lines on each change, most of them the inline room
/// of its levels and trades; here a usual change (a level or two, no trade) takes about a
/// third of that, in arrays read front to back. That is memory the matching thread writes and
/// the market-data thread pulls across, per request. Emptying it drops nothing element by
/// element.
///
/// ```
/// use sedaflow_stages::matching::{BookDelta, Deltas, LevelChange, Price, Side, Symbol};
///
/// let symbol = Symbol::new("ACME").unwrap();
/// let level = LevelChange { side: Side::Buy, price: Price::parse("10").unwrap(), total: 5 };
/// let delta = BookDelta { symbol, seq: 1, levels: [level].into_iter().collect(), trades: Default::default() };
/// let mut deltas = Deltas::default();
/// deltas.push(delta.view());
/// deltas.push(BookDelta { seq: 2, ..delta.clone() }.view());
/// assert_eq!(deltas.len(), 2);
/// assert_eq!(deltas.iter().next(), Some(delta.view()));
/// assert_eq!(deltas.iter().map(|d| d.seq).collect::<Vec<_>>(), [1, 2]);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Deltas {
    heads: Vec<Head>,
    levels: Vec<LevelChange>,
    trades: Vec<Trade>,
}

/// A delta's symbol and `seq`, and where its levels and trades end in [`Deltas`]' vectors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Head {
    symbol: Symbol,
    seq: u64,
    levels_end: usize,
    trades_end: usize,
}

impl Deltas {
    /// Appends a copy of `delta`.
    pub fn push(&mut self, delta: DeltaRef<'_>) {
        self.levels.extend_from_slice(delta.levels);
        self.trades.extend_from_slice(delta.trades);
        self.heads.push(Head {
            symbol: delta.symbol,
            seq: delta.seq,
            levels_end: self.levels.len(),
            trades_end: self.trades.len(),
        });
    }

    /// Appends a copy of `delta` with its trades' time set to `time_ms` (the engine has no
    /// clock: its trades come with 0).
    pub fn push_at(&mut self, delta: DeltaRef<'_>, time_ms: u64) {
        let from = self.trades.len();
        self.push(delta);
        for trade in &mut self.trades[from..] {
            trade.time_ms = time_ms;
        }
    }

    /// The deltas, in the order pushed.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = DeltaRef<'_>> {
        let (mut levels_at, mut trades_at) = (0, 0);
        self.heads.iter().map(move |head| {
            let levels = &self.levels[levels_at..head.levels_end];
            let trades = &self.trades[trades_at..head.trades_end];
            (levels_at, trades_at) = (head.levels_end, head.trades_end);
            DeltaRef {
                symbol: head.symbol,
                seq: head.seq,
                levels,
                trades,
            }
        })
    }

    /// How many deltas it holds.
    pub fn len(&self) -> usize {
        self.heads.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.heads.is_empty()
    }

    /// Empties it, keeping its room.
    pub fn clear(&mut self) {
        self.heads.clear();
        self.levels.clear();
        self.trades.clear();
    }

    /// Makes room for as many deltas, levels and trades as `like` holds.
    pub fn reserve_like(&mut self, like: &Deltas) {
        self.heads.reserve(like.heads.len());
        self.levels.reserve(like.levels.len());
        self.trades.reserve(like.trades.len());
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delta_put_in_either_sink_comes_back_the_same_and_push_at_stamps_only_its_trades() {
        let symbol = Symbol::new("ACME").unwrap();
        let price = Price::from_ticks(5).unwrap();
        let level = LevelChange {
            side: Side::Sell,
            price,
            total: 3,
        };
        let trade = |match_id, time_ms| Trade {
            match_id,
            price,
            qty: 1,
            taker: Side::Buy,
            time_ms,
        };
        let first = BookDelta {
            symbol,
            seq: 1,
            levels: [level].into_iter().collect(),
            trades: [trade(1, 7)].into_iter().collect(),
        };
        let second = BookDelta {
            seq: 2,
            levels: Levels::new(),
            trades: [trade(2, 0), trade(3, 0)].into_iter().collect(),
            ..first.clone()
        };
        let (mut owned, mut compact) = (Vec::new(), Deltas::default());
        for delta in [&first, &second] {
            DeltaSink::put(&mut owned, delta.view());
            compact.put(delta.view());
        }
        assert_eq!(owned, [first.clone(), second.clone()]);
        assert!(compact.iter().eq([first.view(), second.view()]));

        let mut stamped = Deltas::default();
        stamped.push(first.view());
        stamped.push_at(second.view(), 42);
        let times: Vec<Vec<u64>> = stamped
            .iter()
            .map(|d| d.trades.iter().map(|t| t.time_ms).collect())
            .collect();
        assert_eq!(times, [vec![7], vec![42, 42]]);
    }
}
