use super::{ErrorReason, Interval, HISTORY_LEN};
use crate::matching::Symbol;

/// How many trades or candles a snapshot gives without `limit`.
pub const DEFAULT_LIMIT: usize = 100;

/// An HTTP snapshot request: `GET /depth`, `/trades` or `/klines`, validated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Snapshot {
    /// `GET /depth?symbol=S`: the `depth` object.
    Depth {
        /// The book.
        symbol: Symbol,
    },
    /// `GET /trades?symbol=S&limit=N`: the last `limit` trades, oldest first.
    Trades {
        /// The book.
        symbol: Symbol,
        /// How many, `1 ..= 1000`.
        limit: usize,
    },
    /// `GET /klines?symbol=S&interval=I&limit=N`: the last `limit` candles, oldest first,
    /// the open one last.
    Klines {
        /// The book.
        symbol: Symbol,
        /// The candle length.
        interval: Interval,
        /// How many, `1 ..= 1000`.
        limit: usize,
    },
}

impl Snapshot {
    /// Reads a request's path and query string (without the `?`); `None` when the path is
    /// not a market-data snapshot.
    ///
    /// Parameters are checked in this order: `symbol`, `interval` (`/klines` only),
    /// `limit` (optional, default [`DEFAULT_LIMIT`]; not for `/depth`). Values are taken as
    /// written: no valid value needs percent-encoding. The first of repeated parameters
    /// counts; unknown ones are ignored.
    ///
    /// # Errors
    ///
    /// [`ErrorReason::InvalidSymbol`], [`ErrorReason::InvalidInterval`] or
    /// [`ErrorReason::InvalidLimit`] for a missing or malformed parameter: answered `400`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sedaflow_stages::market::{ErrorReason, Interval, Snapshot};
    ///
    /// let Some(Ok(Snapshot::Klines { interval, limit, .. })) =
    ///     Snapshot::parse("/klines", Some("symbol=ACME&interval=1m"))
    /// else {
    ///     panic!("not klines");
    /// };
    /// assert_eq!((interval, limit), (Interval::Minute, 100));
    /// assert_eq!(
    ///     Snapshot::parse("/trades", Some("symbol=ACME&limit=0")),
    ///     Some(Err(ErrorReason::InvalidLimit))
    /// );
    /// assert_eq!(Snapshot::parse("/orders", None), None);
    /// ```
    pub fn parse(path: &str, query: Option<&str>) -> Option<Result<Snapshot, ErrorReason>> {
        let query = query.unwrap_or_default();
        let snapshot = match path {
            "/depth" => symbol(query).map(|symbol| Snapshot::Depth { symbol }),
            "/trades" => symbol(query).and_then(|symbol| {
                Ok(Snapshot::Trades {
                    symbol,
                    limit: limit(query)?,
                })
            }),
            "/klines" => symbol(query).and_then(|symbol| {
                let interval = param(query, "interval")
                    .and_then(Interval::parse)
                    .ok_or(ErrorReason::InvalidInterval)?;
                Ok(Snapshot::Klines {
                    symbol,
                    interval,
                    limit: limit(query)?,
                })
            }),
            _ => return None,
        };
        Some(snapshot)
    }

    /// The book asked about.
    pub fn symbol(&self) -> Symbol {
        match *self {
            Snapshot::Depth { symbol }
            | Snapshot::Trades { symbol, .. }
            | Snapshot::Klines { symbol, .. } => symbol,
        }
    }
}

fn symbol(query: &str) -> Result<Symbol, ErrorReason> {
    param(query, "symbol")
        .and_then(|text| Symbol::new(text).ok())
        .ok_or(ErrorReason::InvalidSymbol)
}

fn limit(query: &str) -> Result<usize, ErrorReason> {
    let Some(text) = param(query, "limit") else {
        return Ok(DEFAULT_LIMIT);
    };
    // Digits only: `parse` would also take a leading `+`.
    text.bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| text.parse().ok())
        .flatten()
        .filter(|limit| (1..=HISTORY_LEN).contains(limit))
        .ok_or(ErrorReason::InvalidLimit)
}

/// The first value of `name`; a parameter without `=` has the empty value.
fn param<'q>(query: &'q str, name: &str) -> Option<&'q str> {
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == name).then_some(value)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(path: &str, query: &str) -> Option<Result<Snapshot, ErrorReason>> {
        Snapshot::parse(path, Some(query))
    }

    #[test]
    fn reads_every_snapshot() {
        let acme = Symbol::new("ACME").unwrap();
        assert_eq!(
            parse("/depth", "symbol=ACME&limit=zz"),
            Some(Ok(Snapshot::Depth { symbol: acme }))
        );
        assert_eq!(
            parse("/trades", "x=1&symbol=ACME&limit=1000&symbol=OTHER"),
            Some(Ok(Snapshot::Trades {
                symbol: acme,
                limit: 1000
            }))
        );
        assert_eq!(
            parse("/klines", "limit=1&interval=1s&symbol=ACME"),
            Some(Ok(Snapshot::Klines {
                symbol: acme,
                interval: Interval::Second,
                limit: 1
            }))
        );
        assert_eq!(
            parse("/depth", "symbol=ACME").map(|s| s.map(|s| s.symbol())),
            Some(Ok(acme))
        );
    }

    #[test]
    fn names_the_first_bad_parameter() {
        let cases = [
            ("/depth", "", ErrorReason::InvalidSymbol),
            ("/depth", "symbol", ErrorReason::InvalidSymbol),
            ("/depth", "symbol=acme", ErrorReason::InvalidSymbol),
            ("/trades", "symbol=%41CME", ErrorReason::InvalidSymbol),
            ("/trades", "symbol=ACME&limit=", ErrorReason::InvalidLimit),
            (
                "/trades",
                "symbol=ACME&limit=1001",
                ErrorReason::InvalidLimit,
            ),
            ("/trades", "symbol=ACME&limit=+5", ErrorReason::InvalidLimit),
            (
                "/trades",
                "symbol=ACME&limit=99999999999999999999999",
                ErrorReason::InvalidLimit,
            ),
            (
                "/klines",
                "symbol=ACME&limit=0",
                ErrorReason::InvalidInterval,
            ),
            (
                "/klines",
                "symbol=ACME&interval=2m",
                ErrorReason::InvalidInterval,
            ),
            (
                "/klines",
                "symbol=ACME&interval=1m&limit=-1",
                ErrorReason::InvalidLimit,
            ),
        ];
        for (path, query, reason) in cases {
            assert_eq!(parse(path, query), Some(Err(reason)), "{path}?{query}");
        }
        assert_eq!(
            Snapshot::parse("/depth", None),
            Some(Err(ErrorReason::InvalidSymbol))
        );
    }

    #[test]
    fn other_paths_are_not_snapshots() {
        for path in ["/", "/ws", "/orders", "/depth/", "/Depth"] {
            assert_eq!(Snapshot::parse(path, Some("symbol=ACME")), None, "{path}");
        }
    }
}
