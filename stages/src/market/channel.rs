use crate::matching::Symbol;

/// A candle length: `1s`, `1m`, `5m` or `1h`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Interval {
    /// One second.
    Second,
    /// One minute.
    Minute,
    /// Five minutes.
    FiveMinutes,
    /// One hour.
    Hour,
}

impl Interval {
    /// Every interval, shortest first.
    pub const ALL: [Interval; 4] = [
        Interval::Second,
        Interval::Minute,
        Interval::FiveMinutes,
        Interval::Hour,
    ];

    /// Parses the wire name.
    ///
    /// # Examples
    ///
    /// ```
    /// use sedaflow_stages::market::Interval;
    ///
    /// assert_eq!(Interval::parse("5m"), Some(Interval::FiveMinutes));
    /// assert_eq!(Interval::parse("2m"), None);
    /// ```
    pub fn parse(text: &str) -> Option<Interval> {
        Interval::ALL
            .into_iter()
            .find(|interval| interval.as_str() == text)
    }

    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Interval::Second => "1s",
            Interval::Minute => "1m",
            Interval::FiveMinutes => "5m",
            Interval::Hour => "1h",
        }
    }

    /// The position in [`Interval::ALL`].
    pub(super) const fn index(self) -> usize {
        self as usize
    }

    /// The length in milliseconds.
    pub const fn millis(self) -> u64 {
        match self {
            Interval::Second => 1_000,
            Interval::Minute => 60_000,
            Interval::FiveMinutes => 300_000,
            Interval::Hour => 3_600_000,
        }
    }

    /// The start of the interval holding `time_ms`, aligned to the epoch.
    pub const fn open_time(self, time_ms: u64) -> u64 {
        time_ms - time_ms % self.millis()
    }
}

/// What a subscription receives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Channel {
    /// Every trade.
    Trades,
    /// The best bid and offer.
    Bbo,
    /// The aggregated book: a snapshot, then updates.
    Depth,
    /// Candles of one interval.
    Kline(Interval),
}

impl Channel {
    /// How many channels a symbol has: trades, bbo, depth and a kline per interval.
    pub(crate) const COUNT: usize = 3 + Interval::ALL.len();

    /// A number below [`Channel::COUNT`], one per channel.
    pub(crate) const fn index(self) -> usize {
        match self {
            Channel::Trades => 0,
            Channel::Bbo => 1,
            Channel::Depth => 2,
            Channel::Kline(interval) => 3 + interval.index(),
        }
    }

    /// The wire name of the channel (the interval is a field of its own).
    pub const fn as_str(self) -> &'static str {
        match self {
            Channel::Trades => "trades",
            Channel::Bbo => "bbo",
            Channel::Depth => "depth",
            Channel::Kline(_) => "kline",
        }
    }
}

/// One subscription of a socket: a channel of a symbol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Subscription {
    /// The channel (with its interval, for candles).
    pub channel: Channel,
    /// The symbol.
    pub symbol: Symbol,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_names_round_trip() {
        for (index, interval) in Interval::ALL.into_iter().enumerate() {
            assert_eq!(interval.index(), index);
            assert_eq!(Interval::parse(interval.as_str()), Some(interval));
        }
        for text in ["", "1S", "60s", "1d", " 1m"] {
            assert_eq!(Interval::parse(text), None, "{text:?}");
        }
    }

    #[test]
    fn each_channel_has_an_index_of_its_own() {
        let mut channels = vec![Channel::Trades, Channel::Bbo, Channel::Depth];
        channels.extend(Interval::ALL.map(Channel::Kline));
        let mut indexes: Vec<_> = channels.iter().map(|c| c.index()).collect();
        indexes.sort_unstable();
        assert_eq!(indexes, (0..Channel::COUNT).collect::<Vec<_>>());
    }

    #[test]
    fn open_times_align_to_the_epoch() {
        assert_eq!(Interval::Second.open_time(1_999), 1_000);
        assert_eq!(Interval::Minute.open_time(60_000), 60_000);
        assert_eq!(Interval::FiveMinutes.open_time(299_999), 0);
        assert_eq!(Interval::Hour.open_time(7_200_001), 7_200_000);
    }
}
