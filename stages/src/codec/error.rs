use thiserror::Error;

use crate::matching::{OrderId, RejectReason};

/// Why the [`LineFramer`](super::LineFramer) yielded no frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum FrameError {
    /// A line longer than the limit; it was discarded up to its newline.
    #[error("frame too long")]
    TooLong,
}

/// Why a frame could not be read as a request at all: the `error` response's reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Error)]
pub enum ErrorReason {
    /// Not valid JSON (or valid JSON with a repeated field).
    #[error("invalid json")]
    InvalidJson,
    /// Valid JSON, but not an object.
    #[error("not an object")]
    NotAnObject,
    /// Longer than the frame limit.
    #[error("frame too long")]
    FrameTooLong,
    /// No `op` field, and no usable `id` to reject.
    #[error("missing op")]
    MissingOp,
    /// An unknown `op`, and no usable `id` to reject.
    #[error("invalid op")]
    InvalidOp,
    /// An `op` that needs an `id` came without one.
    #[error("missing id")]
    MissingId,
    /// `id` is not an integer in `1 ..= 2^63 - 1`.
    #[error("invalid id")]
    InvalidId,
    /// The optional `symbol` of `orders` or `cancel_all` (requests without an `id`) breaks
    /// the symbol rules.
    #[error("invalid symbol")]
    InvalidSymbol,
    /// The server is at its connection limit; the connection is closed.
    #[error("too many connections")]
    TooManyConnections,
    /// A frame started but did not end within the frame timeout; the connection is closed.
    #[error("frame timeout")]
    FrameTimeout,
    /// Nothing arrived within the idle timeout; the connection is closed.
    #[error("idle timeout")]
    IdleTimeout,
    /// A request other than `login` or `ping`, without a usable `id`, before `login` on a
    /// server that requires one.
    #[error("login required")]
    LoginRequired,
    /// A `login` with an unknown account, a wrong key or an invalid name; the connection is
    /// closed.
    #[error("login failed")]
    LoginFailed,
    /// A `login` after the connection's first processed request.
    #[error("login not first")]
    LoginNotFirst,
}

impl ErrorReason {
    /// The wire text.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorReason::InvalidJson => "invalid json",
            ErrorReason::NotAnObject => "not an object",
            ErrorReason::FrameTooLong => "frame too long",
            ErrorReason::MissingOp => "missing op",
            ErrorReason::InvalidOp => "invalid op",
            ErrorReason::MissingId => "missing id",
            ErrorReason::InvalidId => "invalid id",
            ErrorReason::InvalidSymbol => "invalid symbol",
            ErrorReason::TooManyConnections => "too many connections",
            ErrorReason::FrameTimeout => "frame timeout",
            ErrorReason::IdleTimeout => "idle timeout",
            ErrorReason::LoginRequired => "login required",
            ErrorReason::LoginFailed => "login failed",
            ErrorReason::LoginNotFirst => "login not first",
        }
    }
}

impl From<FrameError> for ErrorReason {
    fn from(error: FrameError) -> ErrorReason {
        match error {
            FrameError::TooLong => ErrorReason::FrameTooLong,
        }
    }
}

/// Why [`decode_request`](super::decode_request) refused a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// No usable id: answered with an `error` response.
    #[error("{reason}")]
    Error {
        /// The `error` response's reason.
        reason: ErrorReason,
    },
    /// A usable id, but another field is wrong: answered with a `reject` for that id.
    #[error("{reason}")]
    Reject {
        /// The request's id.
        id: OrderId,
        /// The reason, naming the field.
        reason: RejectReason,
    },
}

impl From<ErrorReason> for DecodeError {
    fn from(reason: ErrorReason) -> DecodeError {
        DecodeError::Error { reason }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_the_wire_reason() {
        let error = DecodeError::Error {
            reason: ErrorReason::InvalidJson,
        };
        assert_eq!(error.to_string(), "invalid json");
        let reject = DecodeError::Reject {
            id: 1,
            reason: RejectReason::InvalidQty,
        };
        assert_eq!(reject.to_string(), "invalid qty");
        assert_eq!(FrameError::TooLong.to_string(), "frame too long");
        for reason in [
            ErrorReason::InvalidJson,
            ErrorReason::NotAnObject,
            ErrorReason::FrameTooLong,
            ErrorReason::MissingOp,
            ErrorReason::InvalidOp,
            ErrorReason::MissingId,
            ErrorReason::InvalidId,
            ErrorReason::InvalidSymbol,
            ErrorReason::TooManyConnections,
            ErrorReason::FrameTimeout,
            ErrorReason::IdleTimeout,
            ErrorReason::LoginRequired,
            ErrorReason::LoginFailed,
            ErrorReason::LoginNotFirst,
        ] {
            assert_eq!(reason.to_string(), reason.as_str());
        }
        assert_eq!(
            ErrorReason::from(FrameError::TooLong),
            ErrorReason::FrameTooLong
        );
    }
}
