use super::{History, Interval, Trade};
use crate::matching::{Price, Qty};

/// One candle: the trades of one interval, aligned to the epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Candle {
    /// The interval's first millisecond.
    pub open_time: u64,
    /// The first trade's price.
    pub open: Price,
    /// The highest price traded.
    pub high: Price,
    /// The lowest price traded.
    pub low: Price,
    /// The last trade's price.
    pub close: Price,
    /// The quantity traded.
    pub volume: Qty,
    /// How many trades.
    pub trades: u64,
}

impl Candle {
    fn new(open_time: u64, price: Price, qty: Qty) -> Candle {
        Candle {
            open_time,
            open: price,
            high: price,
            low: price,
            close: price,
            volume: qty,
            trades: 1,
        }
    }

    fn add(&mut self, price: Price, qty: Qty) {
        self.high = self.high.max(price);
        self.low = self.low.min(price);
        self.close = price;
        self.volume += qty;
        self.trades += 1;
    }

    /// The interval's last millisecond: `open_time + interval − 1`.
    pub const fn close_time(&self, interval: Interval) -> u64 {
        self.open_time + interval.millis() - 1
    }
}

/// The candles of one symbol and interval: the open one and the last closed ones.
///
/// A trade goes to the candle of its time; one whose interval is later than the open
/// candle's closes that first. Time never goes back here: a trade stamped before the open
/// candle (a clock step back) counts in the open candle, and one stamped inside an interval
/// that already closed (late through the pipeline) counts in the next interval, so a closed
/// candle is final.
///
/// # Examples
///
/// ```
/// use sedaflow_stages::market::{CandleSeries, Interval, Trade};
/// use sedaflow_stages::matching::{Price, Side};
///
/// let mut series = CandleSeries::new(Interval::Second);
/// let price = Price::parse("10").unwrap();
/// let trade = Trade { match_id: 1, price, qty: 5, taker: Side::Buy, time_ms: 1_500 };
/// assert_eq!(series.trade(&trade), None);
/// assert_eq!(series.tick(1_999), None);
/// let closed = series.tick(2_000).unwrap();
/// assert_eq!((closed.open_time, closed.close_time(Interval::Second)), (1_000, 1_999));
/// assert_eq!(series.open(), None);
/// ```
#[derive(Clone, Debug)]
pub struct CandleSeries {
    interval: Interval,
    open: Option<Candle>,
    closed: History<Candle>,
    /// The earliest open time a new candle may have: just after the last closed one.
    floor: u64,
}

impl CandleSeries {
    /// No candles yet.
    pub fn new(interval: Interval) -> CandleSeries {
        CandleSeries {
            interval,
            open: None,
            closed: History::default(),
            floor: 0,
        }
    }

    /// The candle length.
    pub fn interval(&self) -> Interval {
        self.interval
    }

    /// The candle still open, if its interval had trades.
    pub fn open(&self) -> Option<&Candle> {
        self.open.as_ref()
    }

    /// Adds a trade; answers the candle it closed, when it was the first of a later
    /// interval.
    pub fn trade(&mut self, trade: &Trade) -> Option<Candle> {
        let time = trade.time_ms.max(self.floor);
        if let Some(open) = &mut self.open {
            if time <= open.close_time(self.interval) {
                open.add(trade.price, trade.qty);
                return None;
            }
        }
        let closed = self.close();
        self.open = Some(Candle::new(
            self.interval.open_time(time),
            trade.price,
            trade.qty,
        ));
        closed
    }

    /// Closes the open candle once its interval has ended at `now_ms`, answering it.
    pub fn tick(&mut self, now_ms: u64) -> Option<Candle> {
        let open = self.open?;
        if now_ms > open.close_time(self.interval) {
            self.close()
        } else {
            None
        }
    }

    fn close(&mut self) -> Option<Candle> {
        let candle = self.open.take()?;
        self.floor = candle.close_time(self.interval) + 1;
        self.closed.push(candle);
        Some(candle)
    }

    /// The newest `limit` candles, oldest first, each with whether it is closed; the open
    /// one (if any) last.
    pub fn last(&self, limit: usize) -> impl Iterator<Item = (&Candle, bool)> {
        let open = self.open.as_ref().filter(|_| limit > 0);
        let closed = limit - usize::from(open.is_some());
        self.closed
            .last(closed)
            .map(|candle| (candle, true))
            .chain(open.map(|candle| (candle, false)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::Side;

    fn trade(ticks: u64, qty: Qty, time_ms: u64) -> Trade {
        Trade {
            match_id: 0,
            price: Price::from_ticks(ticks).unwrap(),
            qty,
            taker: Side::Buy,
            time_ms,
        }
    }

    #[test]
    fn a_candle_follows_its_trades() {
        let mut series = CandleSeries::new(Interval::Minute);
        for (ticks, qty) in [(10, 1), (12, 2), (9, 3), (11, 4)] {
            assert_eq!(series.trade(&trade(ticks, qty, 61_000 + ticks)), None);
        }
        let open = *series.open().unwrap();
        assert_eq!(open.open_time, 60_000);
        assert_eq!(open.close_time(Interval::Minute), 119_999);
        let ticks = |price: Price| price.ticks();
        assert_eq!(
            [open.open, open.high, open.low, open.close].map(ticks),
            [10, 12, 9, 11]
        );
        assert_eq!((open.volume, open.trades), (10, 4));
    }

    #[test]
    fn a_later_trade_closes_the_open_candle_and_empty_intervals_have_none() {
        let mut series = CandleSeries::new(Interval::Second);
        series.trade(&trade(10, 1, 1_000));
        let closed = series.trade(&trade(20, 1, 4_200)).unwrap();
        assert_eq!(closed.open_time, 1_000);
        assert_eq!(series.open().unwrap().open_time, 4_000);
        let times: Vec<_> = series
            .last(10)
            .map(|(c, closed)| (c.open_time, closed))
            .collect();
        assert_eq!(times, [(1_000, true), (4_000, false)]);
    }

    #[test]
    fn closes_once_when_the_interval_has_ended() {
        let mut series = CandleSeries::new(Interval::Second);
        assert_eq!(series.tick(10_000), None);
        series.trade(&trade(10, 1, 1_999));
        assert_eq!(series.tick(1_999), None);
        assert_eq!(series.tick(2_000).map(|c| c.open_time), Some(1_000));
        assert_eq!(series.tick(3_000), None);
    }

    #[test]
    fn time_never_goes_back() {
        let mut series = CandleSeries::new(Interval::Second);
        series.trade(&trade(10, 1, 5_500));
        // A clock step back: counts in the open candle.
        assert_eq!(series.trade(&trade(10, 1, 4_000)), None);
        assert_eq!(series.open().unwrap().trades, 2);
        series.tick(6_000);
        // Late for a closed interval: counts in the next one.
        series.trade(&trade(10, 1, 5_900));
        assert_eq!(series.open().unwrap().open_time, 6_000);
    }

    #[test]
    fn last_limits_the_history_and_puts_the_open_candle_last() {
        let mut series = CandleSeries::new(Interval::Second);
        for second in 0..1_100 {
            series.trade(&trade(10, 1, second * 1_000));
        }
        assert_eq!(series.last(usize::MAX).count(), 1_001);
        let last: Vec<_> = series
            .last(2)
            .map(|(c, closed)| (c.open_time, closed))
            .collect();
        assert_eq!(last, [(1_098_000, true), (1_099_000, false)]);
        assert_eq!(series.last(0).count(), 0);
    }
}
