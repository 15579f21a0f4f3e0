use super::{OrderId, Price, Qty, Side, Symbol, Tif};

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
    },
    /// Cancels the order resting on `symbol` with this `id`, whoever owns it.
    Cancel {
        /// The resting order's id.
        id: OrderId,
        /// The book it rests on.
        symbol: Symbol,
    },
    /// Liveness check, answered with `pong` outside the matching engine.
    Ping,
}

impl Request {
    /// The book the request goes to; `None` for [`Request::Ping`].
    pub fn symbol(&self) -> Option<Symbol> {
        match *self {
            Request::Limit { symbol, .. }
            | Request::Market { symbol, .. }
            | Request::Cancel { symbol, .. } => Some(symbol),
            Request::Ping => None,
        }
    }

    /// The order id the request names; `None` for [`Request::Ping`].
    pub fn id(&self) -> Option<OrderId> {
        match *self {
            Request::Limit { id, .. } | Request::Market { id, .. } | Request::Cancel { id, .. } => {
                Some(id)
            }
            Request::Ping => None,
        }
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
        let market = Request::Market {
            id: 4,
            symbol,
            side: Side::Buy,
            qty: 1,
        };
        assert_eq!(market.id(), Some(4));
        assert_eq!(Request::Ping.symbol(), None);
        assert_eq!(Request::Ping.id(), None);
    }
}
