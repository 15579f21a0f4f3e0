/// A client-chosen order reference, `1 ..= 2^63 - 1` on the wire.
pub type OrderId = u64;

/// The account an order belongs to: a named account, or the anonymous account of one
/// connection. Its reports go to every live session of the account.
pub type Owner = u64;

/// A quantity of the instrument, `1 ..= 1,000,000,000` on the wire.
pub type Qty = u64;

/// An order resting on a book, as [`Book::resting`](super::Book::resting) lists it and
/// [`Book::restore`](super::Book::restore) puts it back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resting {
    /// The order's id.
    pub id: OrderId,
    /// The account that placed it; its fills and `done` go there.
    pub owner: Owner,
    /// Its side.
    pub side: Side,
    /// Its limit, which is also its price level.
    pub price: super::Price,
    /// Its quantity still open.
    pub leaves: Qty,
    /// How it was entered: [`Tif::Gtc`] or [`Tif::Post`] (only those rest).
    pub tif: Tif,
    /// The self-trade prevention it was entered with; it applies again when an amend makes
    /// it cross.
    pub stp: Stp,
}

/// Which side of the book an order is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// Bids: matches resting sells priced at or below its limit.
    Buy,
    /// Offers: matches resting buys priced at or above its limit.
    Sell,
}

impl Side {
    /// The wire name: `"buy"` or `"sell"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "buy",
            Side::Sell => "sell",
        }
    }

    /// The side an order of this side trades with.
    pub const fn opposite(self) -> Side {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }
}

/// How long a limit order's unfilled remainder lives, and whether it may trade on arrival.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Tif {
    /// Good till cancelled: the remainder rests on the book.
    #[default]
    Gtc,
    /// Immediate or cancel: the remainder expires at once.
    Ioc,
    /// Fill or kill: trades its whole quantity at once, or expires without trading when
    /// less than that crosses its limit.
    Fok,
    /// Post-only: refused (`would cross`) when it would trade on arrival, else rests as
    /// [`Tif::Gtc`] does.
    Post,
}

impl Tif {
    /// The wire name: `"gtc"`, `"ioc"`, `"fok"` or `"post"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Tif::Gtc => "gtc",
            Tif::Ioc => "ioc",
            Tif::Fok => "fok",
            Tif::Post => "post",
        }
    }

    /// Whether an unfilled remainder rests on the book (`gtc`, `post`) rather than
    /// expiring (`ioc`, `fok`).
    pub const fn rests(self) -> bool {
        matches!(self, Tif::Gtc | Tif::Post)
    }
}

/// Self-trade prevention, decided by the incoming order: what happens when it would trade
/// with a resting order of its own account.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Stp {
    /// The account's orders trade with each other.
    #[default]
    None,
    /// The incoming order's remainder leaves (`done`, `self trade`) and matching stops.
    CancelTaker,
    /// The resting order leaves (`done`, `self trade`) and matching goes on.
    CancelMaker,
    /// Both leave.
    CancelBoth,
}

impl Stp {
    /// The wire name: `"none"`, `"cancel_taker"`, `"cancel_maker"` or `"cancel_both"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Stp::None => "none",
            Stp::CancelTaker => "cancel_taker",
            Stp::CancelMaker => "cancel_maker",
            Stp::CancelBoth => "cancel_both",
        }
    }

    /// Whether the incoming order's remainder leaves at its first own resting order
    /// (`cancel_taker`, `cancel_both`).
    pub const fn cancels_taker(self) -> bool {
        matches!(self, Stp::CancelTaker | Stp::CancelBoth)
    }

    /// Whether the own resting order leaves (`cancel_maker`, `cancel_both`).
    pub const fn cancels_maker(self) -> bool {
        matches!(self, Stp::CancelMaker | Stp::CancelBoth)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names() {
        assert_eq!(Side::Buy.as_str(), "buy");
        assert_eq!(Side::Sell.as_str(), "sell");
        assert_eq!(Tif::Gtc.as_str(), "gtc");
        assert_eq!(Tif::Ioc.as_str(), "ioc");
        assert_eq!(Tif::Fok.as_str(), "fok");
        assert_eq!(Tif::Post.as_str(), "post");
        assert_eq!(Tif::default(), Tif::Gtc);
        assert!(Tif::Gtc.rests() && Tif::Post.rests());
        assert!(!Tif::Ioc.rests() && !Tif::Fok.rests());
        assert_eq!(Stp::default(), Stp::None);
        assert_eq!(Stp::CancelTaker.as_str(), "cancel_taker");
        assert_eq!(Stp::CancelMaker.as_str(), "cancel_maker");
        assert_eq!(Stp::CancelBoth.as_str(), "cancel_both");
        assert_eq!(Side::Buy.opposite(), Side::Sell);
        assert_eq!(Side::Sell.opposite(), Side::Buy);
        let cancels = |stp: Stp| (stp.cancels_taker(), stp.cancels_maker());
        assert_eq!(cancels(Stp::None), (false, false));
        assert_eq!(cancels(Stp::CancelTaker), (true, false));
        assert_eq!(cancels(Stp::CancelMaker), (false, true));
        assert_eq!(cancels(Stp::CancelBoth), (true, true));
    }
}
