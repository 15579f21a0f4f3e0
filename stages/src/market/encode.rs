use super::{Bbo, Candle, Depth, DepthUpdate, ErrorReason, Interval, Subscription, Trade};
use crate::matching::{Price, Qty, Symbol};

/// Anything market data sends: over the WebSocket one per text frame, over HTTP alone or in
/// an array.
#[derive(Clone, Copy, Debug)]
pub enum Message<'a> {
    /// `trade`: one trade.
    Trade {
        /// Its book.
        symbol: Symbol,
        /// The trade.
        trade: &'a Trade,
    },
    /// `bbo`: the best bid and offer.
    Bbo {
        /// Its book.
        symbol: Symbol,
        /// The best levels.
        bbo: &'a Bbo,
    },
    /// `depth`: the whole aggregated book.
    Depth {
        /// Its book.
        symbol: Symbol,
        /// The book.
        depth: &'a Depth,
    },
    /// `depth_update`: the levels that changed over `first_seq ..= seq`.
    DepthUpdate {
        /// Its book.
        symbol: Symbol,
        /// The changes.
        update: &'a DepthUpdate,
    },
    /// `kline`: one candle.
    Kline {
        /// Its book.
        symbol: Symbol,
        /// The candle length.
        interval: Interval,
        /// The candle.
        candle: &'a Candle,
        /// Whether its interval has ended (sent once so).
        closed: bool,
    },
    /// `subscribed`: a subscription took effect.
    Subscribed(Subscription),
    /// `unsubscribed`: a subscription ended; nothing of it follows.
    Unsubscribed(Subscription),
    /// `error`: a refused client message, or a slow consumer.
    Error(ErrorReason),
}

/// Appends `message` as one JSON object, fields in protocol order, without a newline.
///
/// Written directly, without a JSON value in between: symbols, names and reasons never
/// need escaping.
///
/// # Examples
///
/// ```
/// use sedaflow_stages::market::{encode_message, Bbo, Message};
/// use sedaflow_stages::matching::{Price, Symbol};
///
/// let bbo = Bbo { seq: 12, bid: Some((Price::parse("10").unwrap(), 300)), ask: None };
/// let mut out = Vec::new();
/// encode_message(&Message::Bbo { symbol: Symbol::new("ACME").unwrap(), bbo: &bbo }, &mut out);
/// assert_eq!(
///     out,
///     br#"{"type":"bbo","symbol":"ACME","seq":12,"bid":"10","bid_qty":300,"ask":null,"ask_qty":0}"#
/// );
/// ```
pub fn encode_message(message: &Message<'_>, out: &mut Vec<u8>) {
    let mut json = Json { out };
    match *message {
        Message::Trade { symbol, trade } => {
            json.open("trade", symbol);
            json.number("match", trade.match_id);
            json.price("price", trade.price);
            json.number("qty", trade.qty);
            json.string("taker", trade.taker.as_str());
            json.number("time", trade.time_ms);
        }
        Message::Bbo { symbol, bbo } => {
            json.open("bbo", symbol);
            json.number("seq", bbo.seq);
            json.best("bid", "bid_qty", bbo.bid);
            json.best("ask", "ask_qty", bbo.ask);
        }
        Message::Depth { symbol, depth } => {
            json.open("depth", symbol);
            json.number("seq", depth.seq());
            json.levels("bids", depth.bids());
            json.levels("asks", depth.asks());
        }
        Message::DepthUpdate { symbol, update } => {
            json.open("depth_update", symbol);
            json.number("first_seq", update.first_seq);
            json.number("seq", update.seq);
            json.levels("bids", update.bids.iter().rev().map(|(&p, &q)| (p, q)));
            json.levels("asks", update.asks.iter().map(|(&p, &q)| (p, q)));
        }
        Message::Kline {
            symbol,
            interval,
            candle,
            closed,
        } => {
            json.open("kline", symbol);
            json.string("interval", interval.as_str());
            json.number("open_time", candle.open_time);
            json.number("close_time", candle.close_time(interval));
            json.price("open", candle.open);
            json.price("high", candle.high);
            json.price("low", candle.low);
            json.price("close", candle.close);
            json.number("volume", candle.volume);
            json.number("trades", candle.trades);
            json.raw("closed", if closed { b"true" } else { b"false" });
        }
        Message::Subscribed(subscription) => json.subscription("subscribed", subscription),
        Message::Unsubscribed(subscription) => json.subscription("unsubscribed", subscription),
        Message::Error(reason) => {
            json.out.extend_from_slice(br#"{"type":"error""#);
            json.string("reason", reason.as_str());
        }
    }
    json.out.push(b'}');
}

/// Appends `messages` as one JSON array (an HTTP response body), without a newline.
///
/// # Examples
///
/// ```
/// use sedaflow_stages::market::{encode_array, ErrorReason, Message};
///
/// let mut out = Vec::new();
/// encode_array([], &mut out);
/// assert_eq!(out, b"[]");
/// out.clear();
/// encode_array([Message::Error(ErrorReason::InvalidLimit)], &mut out);
/// assert_eq!(out, br#"[{"type":"error","reason":"invalid limit"}]"#);
/// ```
pub fn encode_array<'a>(messages: impl IntoIterator<Item = Message<'a>>, out: &mut Vec<u8>) {
    out.push(b'[');
    for (index, message) in messages.into_iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        encode_message(&message, out);
    }
    out.push(b']');
}

/// Writes the fields of one object; each field after the opening one starts with a comma.
struct Json<'o> {
    out: &'o mut Vec<u8>,
}

impl Json<'_> {
    /// `{"type":"<kind>","symbol":"<symbol>"`.
    fn open(&mut self, kind: &str, symbol: Symbol) {
        self.out.extend_from_slice(br#"{"type":""#);
        self.out.extend_from_slice(kind.as_bytes());
        self.out.push(b'"');
        self.string("symbol", symbol.as_str());
    }

    fn subscription(&mut self, kind: &str, subscription: Subscription) {
        self.out.extend_from_slice(br#"{"type":""#);
        self.out.extend_from_slice(kind.as_bytes());
        self.out.push(b'"');
        self.string("channel", subscription.channel.as_str());
        self.string("symbol", subscription.symbol.as_str());
        if let super::Channel::Kline(interval) = subscription.channel {
            self.string("interval", interval.as_str());
        }
    }

    fn key(&mut self, name: &str) {
        self.out.extend_from_slice(b",\"");
        self.out.extend_from_slice(name.as_bytes());
        self.out.extend_from_slice(b"\":");
    }

    fn raw(&mut self, name: &str, value: &[u8]) {
        self.key(name);
        self.out.extend_from_slice(value);
    }

    fn string(&mut self, name: &str, value: &str) {
        self.key(name);
        self.quoted(value.as_bytes());
    }

    fn quoted(&mut self, value: &[u8]) {
        self.out.push(b'"');
        self.out.extend_from_slice(value);
        self.out.push(b'"');
    }

    fn number(&mut self, name: &str, value: u64) {
        self.raw(name, itoa::Buffer::new().format(value).as_bytes());
    }

    fn price(&mut self, name: &str, value: Price) {
        self.key(name);
        self.quoted(value.text().as_bytes());
    }

    /// `"<price_name>":"<price>","<qty_name>":<qty>`, or `null` and `0` for an empty side.
    fn best(&mut self, price_name: &str, qty_name: &str, level: Option<(Price, Qty)>) {
        match level {
            Some((price, qty)) => {
                self.price(price_name, price);
                self.number(qty_name, qty);
            }
            None => {
                self.raw(price_name, b"null");
                self.number(qty_name, 0);
            }
        }
    }

    /// `"<name>":[["<price>",<qty>],…]`.
    fn levels(&mut self, name: &str, levels: impl Iterator<Item = (Price, Qty)>) {
        self.key(name);
        self.out.push(b'[');
        let mut numbers = itoa::Buffer::new();
        for (index, (price, qty)) in levels.enumerate() {
            if index > 0 {
                self.out.push(b',');
            }
            self.out.push(b'[');
            self.quoted(price.text().as_bytes());
            self.out.push(b',');
            self.out.extend_from_slice(numbers.format(qty).as_bytes());
            self.out.push(b']');
        }
        self.out.push(b']');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::{Channel, LevelChange};
    use crate::matching::Side;

    fn text(message: Message<'_>) -> String {
        let mut out = Vec::new();
        encode_message(&message, &mut out);
        String::from_utf8(out).unwrap()
    }

    fn price(text: &str) -> Price {
        Price::parse(text).unwrap()
    }

    fn acme() -> Symbol {
        Symbol::new("ACME").unwrap()
    }

    #[test]
    fn the_protocol_examples_are_byte_exact() {
        let symbol = acme();
        let trade = Trade {
            match_id: 1,
            price: price("10.05"),
            qty: 40,
            taker: Side::Buy,
            time_ms: 1_700_000_000_123,
        };
        assert_eq!(
            text(Message::Trade {
                symbol,
                trade: &trade
            }),
            r#"{"type":"trade","symbol":"ACME","match":1,"price":"10.05","qty":40,"taker":"buy","time":1700000000123}"#
        );
        let bbo = Bbo {
            seq: 12,
            bid: Some((price("10"), 300)),
            ask: Some((price("10.05"), 60)),
        };
        assert_eq!(
            text(Message::Bbo { symbol, bbo: &bbo }),
            r#"{"type":"bbo","symbol":"ACME","seq":12,"bid":"10","bid_qty":300,"ask":"10.05","ask_qty":60}"#
        );
        let mut depth = Depth::default();
        let levels = [
            (Side::Buy, "9.99", 100),
            (Side::Buy, "10", 300),
            (Side::Sell, "10.05", 60),
        ]
        .map(|(side, p, total)| LevelChange {
            side,
            price: price(p),
            total,
        });
        for seq in 1..=12 {
            depth.apply(seq, &levels).unwrap();
        }
        assert_eq!(
            text(Message::Depth {
                symbol,
                depth: &depth
            }),
            r#"{"type":"depth","symbol":"ACME","seq":12,"bids":[["10",300],["9.99",100]],"asks":[["10.05",60]]}"#
        );
        let mut update = DepthUpdate::new(13, &[]);
        update.merge(&DepthUpdate::new(
            14,
            &[
                LevelChange {
                    side: Side::Buy,
                    price: price("10"),
                    total: 250,
                },
                LevelChange {
                    side: Side::Sell,
                    price: price("10.05"),
                    total: 0,
                },
            ],
        ));
        assert_eq!(
            text(Message::DepthUpdate {
                symbol,
                update: &update
            }),
            r#"{"type":"depth_update","symbol":"ACME","first_seq":13,"seq":14,"bids":[["10",250]],"asks":[["10.05",0]]}"#
        );
        let candle = Candle {
            open_time: 1_699_999_980_000,
            open: price("10.05"),
            high: price("10.1"),
            low: price("10"),
            close: price("10.02"),
            volume: 120,
            trades: 3,
        };
        assert_eq!(
            text(Message::Kline {
                symbol,
                interval: Interval::Minute,
                candle: &candle,
                closed: false
            }),
            r#"{"type":"kline","symbol":"ACME","interval":"1m","open_time":1699999980000,"close_time":1700000039999,"open":"10.05","high":"10.1","low":"10","close":"10.02","volume":120,"trades":3,"closed":false}"#
        );
        assert!(text(Message::Kline {
            symbol,
            interval: Interval::Minute,
            candle: &candle,
            closed: true
        })
        .ends_with(r#""trades":3,"closed":true}"#));
    }

    #[test]
    fn empty_sides_and_books() {
        let symbol = acme();
        let bbo = Bbo {
            seq: 0,
            bid: None,
            ask: None,
        };
        assert_eq!(
            text(Message::Bbo { symbol, bbo: &bbo }),
            r#"{"type":"bbo","symbol":"ACME","seq":0,"bid":null,"bid_qty":0,"ask":null,"ask_qty":0}"#
        );
        assert_eq!(
            text(Message::Depth {
                symbol,
                depth: &Depth::default()
            }),
            r#"{"type":"depth","symbol":"ACME","seq":0,"bids":[],"asks":[]}"#
        );
    }

    #[test]
    fn answers_name_the_subscription() {
        let kline = Subscription {
            channel: Channel::Kline(Interval::FiveMinutes),
            symbol: acme(),
        };
        assert_eq!(
            text(Message::Subscribed(kline)),
            r#"{"type":"subscribed","channel":"kline","symbol":"ACME","interval":"5m"}"#
        );
        let trades = Subscription {
            channel: Channel::Trades,
            symbol: acme(),
        };
        assert_eq!(
            text(Message::Unsubscribed(trades)),
            r#"{"type":"unsubscribed","channel":"trades","symbol":"ACME"}"#
        );
        assert_eq!(
            text(Message::Error(ErrorReason::TooManySubscriptions)),
            r#"{"type":"error","reason":"too many subscriptions"}"#
        );
    }

    #[test]
    fn output_is_valid_json() {
        let trade = Trade {
            match_id: 7,
            price: Price::MAX,
            qty: 1,
            taker: Side::Sell,
            time_ms: 0,
        };
        let mut out = Vec::new();
        let symbol = acme();
        encode_array(
            [
                Message::Trade {
                    symbol,
                    trade: &trade,
                },
                Message::Trade {
                    symbol,
                    trade: &trade,
                },
            ],
            &mut out,
        );
        let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(value[1]["price"], "1000000000");
        assert_eq!(value[1]["taker"], "sell");
    }
}
