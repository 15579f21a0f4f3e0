use super::{
    encode_array, encode_message, BookDelta, CandleSeries, Channel, DeltaError, DeltaRef, Depth,
    DepthUpdate, History, Interval, Message, Snapshot, Trade, Update,
};
use crate::matching::Symbol;

/// The market data of one symbol: its aggregated book, trades and candles, turning each
/// [`BookDelta`] into the updates its subscribers get, each encoded once.
///
/// # Examples
///
/// ```
/// use sedaflow_stages::market::{BookDelta, Channel, Feed, LevelChange};
/// use sedaflow_stages::matching::{Price, Side, Symbol};
///
/// let symbol = Symbol::new("ACME").unwrap();
/// let mut feed = Feed::new(symbol);
/// let price = Price::parse("10.05").unwrap();
/// let levels = vec![LevelChange { side: Side::Sell, price, total: 100 }];
/// let mut out = Vec::new();
/// let delta = BookDelta { symbol, seq: 1, levels: levels.into(), trades: Default::default() };
/// feed.apply(&delta, &mut out).unwrap();
/// let update = out.iter().find(|fanout| fanout.channel == Channel::Depth).unwrap();
/// assert_eq!(
///     update.update.text().as_str(),
///     r#"{"type":"depth_update","symbol":"ACME","first_seq":1,"seq":1,"bids":[],"asks":[["10.05",100]]}"#
/// );
/// ```
#[derive(Clone, Debug)]
pub struct Feed {
    symbol: Symbol,
    depth: Depth,
    trades: History<Trade>,
    /// One series per [`Interval::ALL`] entry, in that order.
    candles: [CandleSeries; 4],
    /// Updates absorbed and not yet flushed.
    held: Held,
}

/// What [`Feed::absorb`] holds for the next [`Feed::flush`].
#[derive(Clone, Debug, Default)]
struct Held {
    trades: Vec<Fanout>,
    depth: Option<DepthUpdate>,
    bbo: bool,
    closed: Vec<Fanout>,
    /// Per [`Interval::ALL`] entry: its open candle changed.
    open: [bool; 4],
}

/// One update for every subscriber of `channel` on the feed's symbol.
#[derive(Clone, Debug)]
pub struct Fanout {
    /// Who gets it.
    pub channel: Channel,
    /// The encoded message.
    pub update: Update,
}

impl Feed {
    /// The feed of a book that never changed: `seq` 0, no trades, no candles.
    pub fn new(symbol: Symbol) -> Feed {
        Feed {
            symbol,
            depth: Depth::default(),
            trades: History::default(),
            candles: Interval::ALL.map(CandleSeries::new),
            held: Held::default(),
        }
    }

    /// Its symbol.
    pub fn symbol(&self) -> Symbol {
        self.symbol
    }

    /// Its aggregated book.
    pub fn depth(&self) -> &Depth {
        &self.depth
    }

    /// Its latest trade, if it has had one.
    pub fn last_trade(&self) -> Option<&Trade> {
        self.trades.last(1).next()
    }

    /// Applies one request's changes and appends what to fan out, in this order: each
    /// trade (in match order), the `depth_update`, the `bbo` when the best bid or offer
    /// changed, and per interval the candles the trades closed then the open candle.
    ///
    /// # Errors
    ///
    /// [`DeltaError`] when the delta is for another symbol or does not carry the next
    /// `seq`; nothing changes then.
    pub fn apply(&mut self, delta: &BookDelta, out: &mut Vec<Fanout>) -> Result<(), DeltaError> {
        self.apply_for(delta.view(), |_| true, out)
    }

    /// [`Feed::apply`], encoding only the updates of the channels `wanted` says someone
    /// subscribes to: the state (depth, trade history, candles) follows every delta, but a
    /// book nobody watches costs no encoding.
    ///
    /// # Errors
    ///
    /// As [`Feed::apply`].
    pub fn apply_for(
        &mut self,
        delta: DeltaRef<'_>,
        wanted: impl Fn(Channel) -> bool,
        out: &mut Vec<Fanout>,
    ) -> Result<(), DeltaError> {
        self.absorb(delta, wanted)?;
        self.flush(out);
        Ok(())
    }

    /// Applies one request's changes to the state and holds its updates until
    /// [`Feed::flush`], merged with those of the deltas absorbed before: the trades one by
    /// one, but one `depth_update` over all their sequence numbers, one `bbo` and one open
    /// `kline` per interval. A subscriber of a busy book thus gets one update per run of
    /// changes instead of one per request, merged once for all subscribers; the merged
    /// update still rebuilds the book exactly. `wanted` must answer alike until the flush.
    ///
    /// # Errors
    ///
    /// As [`Feed::apply`]; nothing changes then.
    pub fn absorb(
        &mut self,
        delta: DeltaRef<'_>,
        wanted: impl Fn(Channel) -> bool,
    ) -> Result<(), DeltaError> {
        if delta.symbol != self.symbol {
            return Err(DeltaError::WrongSymbol);
        }
        let bbo_changed = self.depth.apply(delta.seq, delta.levels)?;
        let (symbol, held) = (self.symbol, &mut self.held);
        let trades = wanted(Channel::Trades);
        for trade in delta.trades {
            self.trades.push(*trade);
            if trades {
                held.trades.push(Fanout {
                    channel: Channel::Trades,
                    update: Update::whole(&Message::Trade { symbol, trade }),
                });
            }
        }
        if wanted(Channel::Depth) {
            let update = DepthUpdate::new(delta.seq, delta.levels);
            match &mut held.depth {
                Some(pending) => pending.merge(&update),
                None => held.depth = Some(update),
            }
        }
        held.bbo |= bbo_changed && wanted(Channel::Bbo);
        if !delta.trades.is_empty() {
            for (series, open) in self.candles.iter_mut().zip(&mut held.open) {
                let watched = wanted(Channel::Kline(series.interval()));
                for trade in delta.trades {
                    if let (Some(closed), true) = (series.trade(trade), watched) {
                        held.closed
                            .push(kline(symbol, series.interval(), &closed, true));
                    }
                }
                *open |= watched && series.open().is_some();
            }
        }
        Ok(())
    }

    /// Appends what the deltas absorbed since the last flush made, in this order: each trade
    /// (in match order), the `depth_update`, the `bbo` when the best bid or offer changed,
    /// the candles the trades closed, then each interval's open candle.
    pub fn flush(&mut self, out: &mut Vec<Fanout>) {
        let symbol = self.symbol;
        let held = &mut self.held;
        out.append(&mut held.trades);
        if let Some(update) = held.depth.take() {
            out.push(Fanout {
                channel: Channel::Depth,
                update: Update::depth(symbol, update),
            });
        }
        if std::mem::take(&mut held.bbo) {
            out.push(Fanout {
                channel: Channel::Bbo,
                update: Update::latest(&Message::Bbo {
                    symbol,
                    bbo: &self.depth.bbo(),
                }),
            });
        }
        out.append(&mut held.closed);
        for (series, open) in self.candles.iter().zip(&mut held.open) {
            if let (true, Some(candle)) = (std::mem::take(open), series.open()) {
                out.push(kline(symbol, series.interval(), candle, false));
            }
        }
    }

    /// Closes the candles whose interval has ended at `now_ms` and appends their closed
    /// `kline`s. The caller ticks often enough (say every 250 ms) for a candle to close
    /// within a second of its end.
    pub fn tick(&mut self, now_ms: u64, out: &mut Vec<Fanout>) {
        for series in &mut self.candles {
            if let Some(closed) = series.tick(now_ms) {
                out.push(kline(self.symbol, series.interval(), &closed, true));
            }
        }
    }

    /// What a new subscriber of `channel` gets right after `subscribed`: the `bbo`, the
    /// `depth` snapshot, or the open candle if its interval has trades; nothing for
    /// `trades`, which start with the next trade.
    pub fn initial(&self, channel: Channel) -> Option<Update> {
        let symbol = self.symbol;
        match channel {
            Channel::Trades => None,
            Channel::Bbo => Some(Update::latest(&Message::Bbo {
                symbol,
                bbo: &self.depth.bbo(),
            })),
            Channel::Depth => Some(Update::whole(&Message::Depth {
                symbol,
                depth: &self.depth,
            })),
            Channel::Kline(interval) => {
                let series = self.series(interval);
                let open = series.open()?;
                Some(kline(symbol, interval, open, false).update)
            }
        }
    }

    /// Appends the HTTP body answering `snapshot` (whose symbol is the feed's).
    pub fn snapshot(&self, snapshot: &Snapshot, out: &mut Vec<u8>) {
        let symbol = self.symbol;
        match *snapshot {
            Snapshot::Depth { .. } => encode_message(
                &Message::Depth {
                    symbol,
                    depth: &self.depth,
                },
                out,
            ),
            Snapshot::Trades { limit, .. } => encode_array(
                self.trades
                    .last(limit)
                    .map(|trade| Message::Trade { symbol, trade }),
                out,
            ),
            Snapshot::Klines {
                interval, limit, ..
            } => encode_array(
                self.series(interval)
                    .last(limit)
                    .map(|(candle, closed)| Message::Kline {
                        symbol,
                        interval,
                        candle,
                        closed,
                    }),
                out,
            ),
        }
    }

    fn series(&self, interval: Interval) -> &CandleSeries {
        &self.candles[interval.index()]
    }
}

fn kline(symbol: Symbol, interval: Interval, candle: &super::Candle, closed: bool) -> Fanout {
    let message = Message::Kline {
        symbol,
        interval,
        candle,
        closed,
    };
    Fanout {
        channel: Channel::Kline(interval),
        update: Update::candle(&message, candle.open_time),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::{LevelChange, Outbox, Subscription, DEFAULT_UNSENT_CAP};
    use crate::matching::{Price, Qty, Side};

    fn acme() -> Symbol {
        Symbol::new("ACME").unwrap()
    }

    fn ask(price: &str, total: Qty) -> LevelChange {
        LevelChange {
            side: Side::Sell,
            price: Price::parse(price).unwrap(),
            total,
        }
    }

    fn trade(match_id: u64, price: &str, qty: Qty, time_ms: u64) -> Trade {
        Trade {
            match_id,
            price: Price::parse(price).unwrap(),
            qty,
            taker: Side::Buy,
            time_ms,
        }
    }

    fn delta(seq: u64, levels: Vec<LevelChange>, trades: Vec<Trade>) -> BookDelta {
        BookDelta {
            symbol: acme(),
            seq,
            levels: levels.into(),
            trades: trades.into(),
        }
    }

    fn texts(fanouts: &[Fanout], channel: Channel) -> Vec<&str> {
        fanouts
            .iter()
            .filter(|fanout| fanout.channel == channel)
            .map(|fanout| std::str::from_utf8(fanout.update.bytes()).unwrap())
            .collect()
    }

    #[test]
    fn the_protocol_example_subscriber_sees_every_step() {
        let mut feed = Feed::new(acme());
        let depth = Subscription {
            channel: Channel::Depth,
            symbol: acme(),
        };
        let mut outbox = Outbox::new(DEFAULT_UNSENT_CAP);
        outbox.subscribe(depth).unwrap();
        outbox.push(depth, &feed.initial(Channel::Depth).unwrap());
        let steps = [
            delta(1, vec![ask("10.05", 100)], vec![]),
            delta(
                2,
                vec![ask("10.05", 60)],
                vec![trade(1, "10.05", 40, 1_000)],
            ),
            delta(3, vec![ask("10.05", 50)], vec![]),
            delta(4, vec![ask("10.05", 0)], vec![]),
        ];
        let mut received = Vec::new();
        for step in &steps {
            let mut out = Vec::new();
            feed.apply(step, &mut out).unwrap();
            for fanout in out.iter().filter(|f| f.channel == Channel::Depth) {
                outbox.push(depth, &fanout.update);
            }
            received.extend(std::iter::from_fn(|| outbox.pop()));
        }
        assert_eq!(
            received,
            [
                r#"{"type":"subscribed","channel":"depth","symbol":"ACME"}"#,
                r#"{"type":"depth","symbol":"ACME","seq":0,"bids":[],"asks":[]}"#,
                r#"{"type":"depth_update","symbol":"ACME","first_seq":1,"seq":1,"bids":[],"asks":[["10.05",100]]}"#,
                r#"{"type":"depth_update","symbol":"ACME","first_seq":2,"seq":2,"bids":[],"asks":[["10.05",60]]}"#,
                r#"{"type":"depth_update","symbol":"ACME","first_seq":3,"seq":3,"bids":[],"asks":[["10.05",50]]}"#,
                r#"{"type":"depth_update","symbol":"ACME","first_seq":4,"seq":4,"bids":[],"asks":[["10.05",0]]}"#,
            ]
        );
    }

    #[test]
    fn a_delta_fans_out_trades_depth_bbo_and_candles() {
        let mut feed = Feed::new(acme());
        let mut out = Vec::new();
        feed.apply(
            &delta(1, vec![ask("10", 5), ask("11", 5)], vec![]),
            &mut out,
        )
        .unwrap();
        assert_eq!(texts(&out, Channel::Bbo).len(), 1);
        out.clear();
        // Behind the best ask: no bbo, no candles.
        feed.apply(&delta(2, vec![ask("11", 9)], vec![]), &mut out)
            .unwrap();
        assert!(texts(&out, Channel::Bbo).is_empty());
        assert!(texts(&out, Channel::Kline(Interval::Second)).is_empty());
        out.clear();
        let trades = vec![trade(1, "10", 2, 1_500), trade(2, "10", 3, 2_100)];
        feed.apply(&delta(3, vec![ask("10", 0)], trades), &mut out)
            .unwrap();
        let sent = texts(&out, Channel::Trades);
        assert_eq!(sent.len(), 2);
        assert!(sent[0].contains(r#""match":1,"#) && sent[1].contains(r#""match":2,"#));
        assert_eq!(
            texts(&out, Channel::Bbo),
            [
                r#"{"type":"bbo","symbol":"ACME","seq":3,"bid":null,"bid_qty":0,"ask":"11","ask_qty":9}"#
            ]
        );
        // The second trade closed the first second's candle.
        let seconds = texts(&out, Channel::Kline(Interval::Second));
        assert_eq!(seconds.len(), 2);
        assert!(seconds[0].contains(r#""open_time":1000,"close_time":1999,"#));
        assert!(seconds[0].ends_with(r#""volume":2,"trades":1,"closed":true}"#));
        assert!(seconds[1].contains(r#""open_time":2000,"#));
        assert!(seconds[1].ends_with(r#""closed":false}"#));
        let minutes = texts(&out, Channel::Kline(Interval::Minute));
        assert_eq!(minutes.len(), 1);
        assert!(minutes[0].ends_with(r#""volume":5,"trades":2,"closed":false}"#));
    }

    #[test]
    fn ticks_close_each_candle_once() {
        let mut feed = Feed::new(acme());
        let mut out = Vec::new();
        let trades = vec![trade(1, "10", 1, 61_500)];
        feed.apply(&delta(1, vec![], trades), &mut out).unwrap();
        out.clear();
        feed.tick(61_999, &mut out);
        assert!(out.is_empty());
        feed.tick(62_000, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].channel, Channel::Kline(Interval::Second));
        feed.tick(120_000, &mut out);
        let channels: Vec<_> = out.iter().map(|f| f.channel).collect();
        assert_eq!(
            channels,
            [
                Channel::Kline(Interval::Second),
                Channel::Kline(Interval::Minute)
            ]
        );
        assert!(texts(&out, Channel::Kline(Interval::Minute))[0].ends_with(r#""closed":true}"#));
        out.clear();
        feed.tick(120_000, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn new_subscribers_get_the_current_state() {
        let mut feed = Feed::new(acme());
        assert!(feed.initial(Channel::Trades).is_none());
        assert!(feed.initial(Channel::Kline(Interval::Hour)).is_none());
        let mut out = Vec::new();
        let trades = vec![trade(1, "10", 1, 3_600_000)];
        feed.apply(&delta(1, vec![ask("10", 4)], trades), &mut out)
            .unwrap();
        feed.apply(&delta(2, vec![ask("12", 4)], vec![]), &mut out)
            .unwrap();
        let bbo = feed.initial(Channel::Bbo).unwrap();
        // The state now, at the latest seq, though the bbo last changed at 1.
        assert_eq!(
            bbo.text().as_str(),
            r#"{"type":"bbo","symbol":"ACME","seq":2,"bid":null,"bid_qty":0,"ask":"10","ask_qty":4}"#
        );
        let depth = feed.initial(Channel::Depth).unwrap();
        assert_eq!(
            depth.text().as_str(),
            r#"{"type":"depth","symbol":"ACME","seq":2,"bids":[],"asks":[["10",4],["12",4]]}"#
        );
        let hour = feed.initial(Channel::Kline(Interval::Hour)).unwrap();
        assert!(hour.bytes().starts_with(
            br#"{"type":"kline","symbol":"ACME","interval":"1h","open_time":3600000,"#
        ));
    }

    #[test]
    fn http_snapshots_are_oldest_first_with_the_open_candle_last() {
        let mut feed = Feed::new(acme());
        let mut out = Vec::new();
        for seq in 1..=5 {
            let trades = vec![trade(seq, "10", seq, seq * 1_000)];
            feed.apply(&delta(seq, vec![], trades), &mut out).unwrap();
        }
        let body = |snapshot: Snapshot| {
            let mut body = Vec::new();
            feed.snapshot(&snapshot, &mut body);
            serde_json::from_slice::<serde_json::Value>(&body).unwrap()
        };
        let trades = body(Snapshot::Trades {
            symbol: acme(),
            limit: 2,
        });
        assert_eq!(trades[0]["match"], 4);
        assert_eq!(trades[1]["match"], 5);
        assert_eq!(trades.as_array().unwrap().len(), 2);
        let klines = body(Snapshot::Klines {
            symbol: acme(),
            interval: Interval::Second,
            limit: 3,
        });
        let summary: Vec<_> = klines
            .as_array()
            .unwrap()
            .iter()
            .map(|k| {
                (
                    k["open_time"].as_u64().unwrap(),
                    k["closed"].as_bool().unwrap(),
                )
            })
            .collect();
        assert_eq!(summary, [(3_000, true), (4_000, true), (5_000, false)]);
        assert_eq!(body(Snapshot::Depth { symbol: acme() })["seq"], 5);
        let empty = Feed::new(acme());
        let mut body = Vec::new();
        empty.snapshot(
            &Snapshot::Klines {
                symbol: acme(),
                interval: Interval::Hour,
                limit: 100,
            },
            &mut body,
        );
        assert_eq!(body, b"[]");
    }

    #[test]
    fn refuses_foreign_and_out_of_sequence_deltas() {
        let mut feed = Feed::new(acme());
        let mut out = Vec::new();
        let mut other = delta(1, vec![], vec![]);
        other.symbol = Symbol::new("OTHER").unwrap();
        assert_eq!(feed.apply(&other, &mut out), Err(DeltaError::WrongSymbol));
        assert_eq!(
            feed.apply(&delta(2, vec![], vec![]), &mut out),
            Err(DeltaError::Gap {
                seq: 2,
                expected: 1
            })
        );
        assert!(out.is_empty());
        assert_eq!(feed.depth().seq(), 0);
    }
}
