use std::fmt;

use super::{OrderId, Owner, Price, Qty, Side, Symbol, Tif};

/// One response and who it goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Report {
    /// Its audience.
    pub to: To,
    /// What it says.
    pub kind: ReportKind,
}

/// Who a report goes to. PROTOCOL.md: a request's own responses go to the connection that
/// sent it; reports of an account's resting orders go to every live session of the account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum To {
    /// Only the connection that sent the request: its `ack`, `reject`, `amended`, listing,
    /// and the fills and `done` of a new order while it has not rested.
    Sender,
    /// Every live session of the account (the sender among them when it is the account's):
    /// fills and `done`s of resting orders.
    Owner(Owner),
}

/// The responses that name an order: everything but `pong` and `error`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportKind {
    /// The order was accepted.
    Ack {
        /// The order.
        id: OrderId,
    },
    /// The order traded; sent to the owner of each side with its own `id`, `side`, `leaves`.
    Fill {
        /// The order.
        id: OrderId,
        /// Its book.
        symbol: Symbol,
        /// Its side.
        side: Side,
        /// The trade's price: the resting order's limit.
        price: Price,
        /// The traded quantity.
        qty: Qty,
        /// The order's quantity still open after this fill.
        leaves: Qty,
        /// The trade's id, the same on both sides, increasing per symbol from 1.
        match_id: u64,
    },
    /// The order left the book.
    Done {
        /// The order.
        id: OrderId,
        /// Why it left.
        reason: DoneReason,
        /// Its quantity still open when it left.
        leaves: Qty,
    },
    /// An `amend` took effect: the order's values right after it, before any trade it causes.
    Amended {
        /// The order.
        id: OrderId,
        /// Its limit now.
        price: Price,
        /// Its open quantity now.
        leaves: Qty,
    },
    /// One of the account's resting orders, in answer to `orders`.
    Order {
        /// The order.
        id: OrderId,
        /// Its book.
        symbol: Symbol,
        /// Its side.
        side: Side,
        /// Its limit.
        price: Price,
        /// Its open quantity.
        leaves: Qty,
        /// As entered: [`Tif::Gtc`] or [`Tif::Post`].
        tif: Tif,
    },
    /// Ends the answer to `orders`.
    OrdersEnd {
        /// How many `order` reports came before.
        count: u64,
    },
    /// Ends the answer to `cancel_all`, after one `done` per cancelled order.
    CancelAllDone {
        /// How many orders were cancelled.
        count: u64,
    },
    /// The request was refused; nothing changed.
    Reject {
        /// The id the request named.
        id: OrderId,
        /// Why.
        reason: RejectReason,
    },
}

/// Why an order left the book.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DoneReason {
    /// Fully traded.
    Filled,
    /// Removed by a `cancel`.
    Cancelled,
    /// The remainder of an `ioc` or `market` order, or a `fok` order that could not fill.
    Expired,
    /// Removed by self-trade prevention.
    SelfTrade,
}

impl DoneReason {
    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            DoneReason::Filled => "filled",
            DoneReason::Cancelled => "cancelled",
            DoneReason::Expired => "expired",
            DoneReason::SelfTrade => "self trade",
        }
    }
}

/// Every `reject` reason of the protocol. The matching engine produces the first five; the
/// codec produces the ones naming a field; admission control produces `Overloaded`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RejectReason {
    /// A new order's id equals the id of an order resting on the same symbol.
    DuplicateId,
    /// A new order's id is not above every id its account had accepted before.
    IdNotIncreasing,
    /// A cancel or amend names no order of the account resting on that symbol.
    UnknownOrder,
    /// A `post` (post-only) order, or an amend of one, would trade.
    WouldCross,
    /// An `amend` with neither `qty` nor `price`.
    NothingToAmend,
    /// A request before `login` on a server that requires one.
    LoginRequired,
    /// The server is shedding load.
    Overloaded,
    /// The symbol's book was taken out of service after an internal failure.
    SymbolUnavailable,
    /// Refused by a stage the operator added (a risk check), with its own reason.
    Custom(&'static str),
    /// No `op` field.
    MissingOp,
    /// `op` is not one of the protocol's requests.
    InvalidOp,
    /// No `symbol` field.
    MissingSymbol,
    /// `symbol` is not 1–16 characters of `A–Z 0–9 . _ -`.
    InvalidSymbol,
    /// No `side` field.
    MissingSide,
    /// `side` is not `buy` or `sell`.
    InvalidSide,
    /// A limit order without `price`.
    MissingPrice,
    /// `price` breaks the price rules.
    InvalidPrice,
    /// No `qty` field.
    MissingQty,
    /// `qty` is not an integer in `1 ..= 1,000,000,000`.
    InvalidQty,
    /// `tif` is not `gtc`, `ioc`, `fok` or `post`.
    InvalidTif,
    /// `stp` is not `none`, `cancel_taker`, `cancel_maker` or `cancel_both`.
    InvalidStp,
}

impl RejectReason {
    /// The wire text.
    pub const fn as_str(self) -> &'static str {
        match self {
            RejectReason::DuplicateId => "duplicate id",
            RejectReason::IdNotIncreasing => "id not increasing",
            RejectReason::UnknownOrder => "unknown order",
            RejectReason::WouldCross => "would cross",
            RejectReason::NothingToAmend => "nothing to amend",
            RejectReason::LoginRequired => "login required",
            RejectReason::Overloaded => "overloaded",
            RejectReason::SymbolUnavailable => "symbol unavailable",
            RejectReason::Custom(reason) => reason,
            RejectReason::MissingOp => "missing op",
            RejectReason::InvalidOp => "invalid op",
            RejectReason::MissingSymbol => "missing symbol",
            RejectReason::InvalidSymbol => "invalid symbol",
            RejectReason::MissingSide => "missing side",
            RejectReason::InvalidSide => "invalid side",
            RejectReason::MissingPrice => "missing price",
            RejectReason::InvalidPrice => "invalid price",
            RejectReason::MissingQty => "missing qty",
            RejectReason::InvalidQty => "invalid qty",
            RejectReason::InvalidTif => "invalid tif",
            RejectReason::InvalidStp => "invalid stp",
        }
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_stay_small() {
        // Reports are copied into an output Vec per trade; keep them within two cache lines.
        assert!(std::mem::size_of::<Report>() <= 80);
    }

    #[test]
    fn wire_texts() {
        assert_eq!(DoneReason::Filled.as_str(), "filled");
        assert_eq!(DoneReason::Cancelled.as_str(), "cancelled");
        assert_eq!(DoneReason::Expired.as_str(), "expired");
        assert_eq!(RejectReason::DuplicateId.to_string(), "duplicate id");
        assert_eq!(RejectReason::IdNotIncreasing.as_str(), "id not increasing");
        assert_eq!(RejectReason::UnknownOrder.as_str(), "unknown order");
        assert_eq!(RejectReason::WouldCross.as_str(), "would cross");
        assert_eq!(RejectReason::InvalidTif.as_str(), "invalid tif");
        assert_eq!(RejectReason::InvalidStp.as_str(), "invalid stp");
        assert_eq!(RejectReason::NothingToAmend.as_str(), "nothing to amend");
        assert_eq!(RejectReason::LoginRequired.as_str(), "login required");
        assert_eq!(DoneReason::SelfTrade.as_str(), "self trade");
    }
}
