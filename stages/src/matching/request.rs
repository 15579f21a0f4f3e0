use super::{OrderId, Price, Qty, Side, Stp, Symbol, Tif};

/// A client request, validated: every field already satisfies the protocol's rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    /// A limit order: matches up to `price`, then rests (`gtc`, `post`) or expires (`ioc`,
    /// `fok`); a `fok` trades all of `qty` or nothing, a `post` that would trade is refused.
    Limit {
        /// The new order's id.
        id: OrderId,
        /// The book it goes to.
        symbol: Symbol,
        /// Buy or sell.
        side: Side,
        /// The limit.
        price: Price,
        /// The quantity; at least 1.
        qty: Qty,
        /// What happens to an unfilled remainder.
        tif: Tif,
        /// What happens when it would trade with its own account's order.
        stp: Stp,
    },
    /// A market order: matches at any price, the remainder expires.
    Market {
        /// The new order's id.
        id: OrderId,
        /// The book it goes to.
        symbol: Symbol,
        /// Buy or sell.
        side: Side,
        /// The quantity; at least 1.
        qty: Qty,
        /// What happens when it would trade with its own account's order.
        stp: Stp,
    },
    /// Cancels the account's order resting on `symbol` with this `id`.
    Cancel {
        /// The resting order's id.
        id: OrderId,
        /// The book it rests on.
        symbol: Symbol,
    },
    /// Changes the account's resting order: a new open quantity (`leaves`), a new price, or
    /// both (neither is `nothing to amend`).
    Amend {
        /// The resting order's id.
        id: OrderId,
        /// The book it rests on.
        symbol: Symbol,
        /// The new open quantity.
        qty: Option<Qty>,
        /// The new limit.
        price: Option<Price>,
    },
    /// Lists the account's resting orders, on one symbol or on all.
    Orders {
        /// The book to list, or every book.
        symbol: Option<Symbol>,
    },
    /// Cancels all the account's resting orders, on one symbol or on all.
    CancelAll {
        /// The book to clear, or every book.
        symbol: Option<Symbol>,
    },
    /// Opens a session for an account; the network handles it before any other request, so
    /// the matching engine ignores it. Its fields stay in the frame (the codec's
    /// `decode_login` reads them).
    Login,
    /// Liveness check, answered with `pong` outside the matching engine.
    Ping,
}

impl Request {
    /// The book the request goes to; `None` for a request on every book (`orders`,
    /// `cancel_all` without a symbol) and for [`Request::Login`] and [`Request::Ping`].
    pub fn symbol(&self) -> Option<Symbol> {
        match *self {
            Request::Limit { symbol, .. }
            | Request::Market { symbol, .. }
            | Request::Cancel { symbol, .. }
            | Request::Amend { symbol, .. } => Some(symbol),
            Request::Orders { symbol } | Request::CancelAll { symbol } => symbol,
            Request::Login | Request::Ping => None,
        }
    }

    /// The order id the request names; `None` for the requests without one.
    pub fn id(&self) -> Option<OrderId> {
        match *self {
            Request::Limit { id, .. }
            | Request::Market { id, .. }
            | Request::Cancel { id, .. }
            | Request::Amend { id, .. } => Some(id),
            Request::Orders { .. } | Request::CancelAll { .. } | Request::Login | Request::Ping => {
                None
            }
        }
    }

    /// Whether it places a new order, whose id the per-account increasing rule checks.
    pub fn is_new_order(&self) -> bool {
        matches!(self, Request::Limit { .. } | Request::Market { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbol_and_id() {
        let symbol = Symbol::new("ACME").unwrap();
        let cancel = Request::Cancel { id: 3, symbol };
        assert_eq!(cancel.symbol(), Some(symbol));
        assert_eq!(cancel.id(), Some(3));
        assert!(!cancel.is_new_order());
        let market = Request::Market {
            id: 4,
            symbol,
            side: Side::Buy,
            qty: 1,
            stp: Stp::None,
        };
        assert_eq!(market.id(), Some(4));
        assert!(market.is_new_order());
        assert_eq!(Request::Ping.symbol(), None);
        assert_eq!(Request::Ping.id(), None);
        let all = Request::CancelAll { symbol: None };
        assert_eq!((all.symbol(), all.id()), (None, None));
        let one = Request::Orders {
            symbol: Some(symbol),
        };
        assert_eq!(one.symbol(), Some(symbol));
    }
}
