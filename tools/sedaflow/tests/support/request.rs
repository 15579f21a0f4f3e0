//! The requests the tests send, as the reference model and the flows see them, and how each is
//! written on the wire (PROTOCOL.md "Requests").

use serde_json::{json, Value};

use super::model::TICKS;

/// `buy` or `sell`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Buy,
    Sell,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "buy",
            Side::Sell => "sell",
        }
    }
}

/// Time in force of a limit order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tif {
    Gtc,
    Ioc,
    /// Fill or kill: all of `qty` at once, or expires untouched.
    Fok,
    /// Post-only: `would cross` if it would trade on arrival, else rests as `gtc`.
    Post,
}

/// A request as the tests generate it: always a JSON object with a usable `id` (or a ping).
/// `price == 0` or an out-of-range `qty` make deliberately invalid orders.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Req {
    Limit {
        id: u64,
        symbol: String,
        side: Side,
        /// In ticks.
        price: u64,
        qty: u64,
        tif: Tif,
    },
    Market {
        id: u64,
        symbol: String,
        side: Side,
        qty: u64,
    },
    Cancel {
        id: u64,
        symbol: String,
    },
    /// *v2*: `qty` (the new `leaves`) or `price` or both; neither is `nothing to amend`.
    Amend {
        id: u64,
        symbol: String,
        qty: Option<u64>,
        /// In ticks.
        price: Option<u64>,
    },
    /// *v2*: the account's resting orders (on `symbol`).
    Orders {
        symbol: Option<String>,
    },
    /// *v2*: cancel the account's resting orders (on `symbol`).
    CancelAll {
        symbol: Option<String>,
    },
    Ping,
}

impl Req {
    /// A resting order that crosses nothing on a symbol nobody sells: buys 1 at 1.
    pub fn resting_bid(id: u64, symbol: &str) -> Req {
        Req::Limit {
            id,
            symbol: symbol.to_owned(),
            side: Side::Buy,
            price: TICKS,
            qty: 1,
            tif: Tif::Gtc,
        }
    }

    /// The `id` the request carries, if any.
    pub fn id(&self) -> Option<u64> {
        match self {
            Req::Limit { id, .. }
            | Req::Market { id, .. }
            | Req::Cancel { id, .. }
            | Req::Amend { id, .. } => Some(*id),
            Req::Orders { .. } | Req::CancelAll { .. } | Req::Ping => None,
        }
    }

    /// Whether this is a `limit` or `market` order (answered by `ack` or `reject`).
    pub fn is_order(&self) -> bool {
        matches!(self, Req::Limit { .. } | Req::Market { .. })
    }

    /// The request as one JSON line (without the newline). A `gtc` order names its `tif` only
    /// on every third id, so the default is exercised too.
    pub fn to_line(&self) -> String {
        let value = match self {
            Req::Limit {
                id,
                symbol,
                side,
                price,
                qty,
                tif,
            } => {
                let mut v = json!({
                    "op": "limit", "id": id, "symbol": symbol, "side": side.as_str(),
                    "price": render_price(*price), "qty": qty,
                });
                match tif {
                    Tif::Ioc => v["tif"] = json!("ioc"),
                    Tif::Fok => v["tif"] = json!("fok"),
                    Tif::Post => v["tif"] = json!("post"),
                    Tif::Gtc if id % 3 == 0 => v["tif"] = json!("gtc"),
                    Tif::Gtc => {}
                }
                v
            }
            Req::Market {
                id,
                symbol,
                side,
                qty,
            } => json!({
                "op": "market", "id": id, "symbol": symbol, "side": side.as_str(), "qty": qty,
            }),
            Req::Cancel { id, symbol } => json!({"op": "cancel", "id": id, "symbol": symbol}),
            Req::Amend {
                id,
                symbol,
                qty,
                price,
            } => {
                let mut v = json!({"op": "amend", "id": id, "symbol": symbol});
                if let Some(qty) = qty {
                    v["qty"] = json!(qty);
                }
                if let Some(price) = price {
                    v["price"] = json!(render_price(*price));
                }
                v
            }
            Req::Orders { symbol } => with_symbol(json!({"op": "orders"}), symbol.as_deref()),
            Req::CancelAll { symbol } => {
                with_symbol(json!({"op": "cancel_all"}), symbol.as_deref())
            }
            Req::Ping => json!({"op": "ping"}),
        };
        value.to_string()
    }
}

/// `v` with a `symbol` field when there is one.
fn with_symbol(mut v: Value, symbol: Option<&str>) -> Value {
    if let Some(symbol) = symbol {
        v["symbol"] = json!(symbol);
    }
    v
}

/// A price in ticks as PROTOCOL.md renders it: a decimal string, trailing zeros removed.
pub fn render_price(ticks: u64) -> String {
    let (units, frac) = (ticks / TICKS, ticks % TICKS);
    if frac == 0 {
        return units.to_string();
    }
    let frac = format!("{frac:04}");
    format!("{units}.{}", frac.trim_end_matches('0'))
}
