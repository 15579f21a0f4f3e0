use thiserror::Error;

/// Why a market-data request was refused: the `error` message's reason.
///
/// The WebSocket answers these and keeps the socket open, except after
/// [`SlowConsumer`](ErrorReason::SlowConsumer); the HTTP snapshots answer `400` with one of
/// the first five.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Error)]
pub enum ErrorReason {
    /// Not JSON, or not an object (or an object with a repeated field).
    #[error("invalid json")]
    InvalidJson,
    /// `op` missing, or not `subscribe` or `unsubscribe`.
    #[error("unknown op")]
    UnknownOp,
    /// `channel` missing, or not `trades`, `bbo`, `depth` or `kline`.
    #[error("unknown channel")]
    UnknownChannel,
    /// `symbol` missing or not 1–16 characters of `A–Z 0–9 . _ -`.
    #[error("invalid symbol")]
    InvalidSymbol,
    /// `interval` missing (for `kline`) or not `1s`, `1m`, `5m` or `1h`.
    #[error("invalid interval")]
    InvalidInterval,
    /// HTTP only: `limit` not an integer in `1 ..= 1000`.
    #[error("invalid limit")]
    InvalidLimit,
    /// A socket already holds the most subscriptions it may.
    #[error("too many subscriptions")]
    TooManySubscriptions,
    /// The socket's unsent output passed its cap; it is closed after this message.
    #[error("slow consumer")]
    SlowConsumer,
}

impl ErrorReason {
    /// The wire text.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorReason::InvalidJson => "invalid json",
            ErrorReason::UnknownOp => "unknown op",
            ErrorReason::UnknownChannel => "unknown channel",
            ErrorReason::InvalidSymbol => "invalid symbol",
            ErrorReason::InvalidInterval => "invalid interval",
            ErrorReason::InvalidLimit => "invalid limit",
            ErrorReason::TooManySubscriptions => "too many subscriptions",
            ErrorReason::SlowConsumer => "slow consumer",
        }
    }
}

/// Why a [`BookDelta`](super::BookDelta) was not applied; the feed is left unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum DeltaError {
    /// The delta is for another symbol than the feed's.
    #[error("delta for another symbol")]
    WrongSymbol,
    /// The delta's `seq` is not above the feed's: it was applied already (a replay).
    #[error("stale delta: seq {seq}, feed at {current}")]
    Stale {
        /// The delta's sequence number.
        seq: u64,
        /// The feed's.
        current: u64,
    },
    /// The delta's `seq` skips some: deltas were lost, and the book would be wrong.
    #[error("sequence gap: seq {seq}, expected {expected}")]
    Gap {
        /// The delta's sequence number.
        seq: u64,
        /// The one that should have come.
        expected: u64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_the_wire_reason() {
        for reason in [
            ErrorReason::InvalidJson,
            ErrorReason::UnknownOp,
            ErrorReason::UnknownChannel,
            ErrorReason::InvalidSymbol,
            ErrorReason::InvalidInterval,
            ErrorReason::InvalidLimit,
            ErrorReason::TooManySubscriptions,
            ErrorReason::SlowConsumer,
        ] {
            assert_eq!(reason.to_string(), reason.as_str());
        }
    }
}
