use thiserror::Error;

use crate::codec::binary::FieldError;

/// A role name that is none of `all`, `ingress`, `matcher`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown role `{0}`: expected all, ingress or matcher")]
pub struct UnknownRole(pub String);

/// A log or response payload that cannot be written or read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WireError {
    /// The payload ends inside a field.
    #[error("payload truncated")]
    Truncated,
    /// Written by a newer (or unknown) layout.
    #[error("unknown payload version {0}")]
    Version(u8),
    /// A tag byte outside its enumeration.
    #[error("invalid {what} tag {tag}")]
    Tag {
        /// The field.
        what: &'static str,
        /// The byte.
        tag: u8,
    },
    /// A symbol that breaks the symbol rules.
    #[error("invalid symbol")]
    Symbol,
    /// A price outside the price rules.
    #[error("invalid price")]
    Price,
    /// Bytes after the end of the payload.
    #[error("{0} trailing bytes")]
    Trailing(usize),
    /// A value the layout has no room for.
    #[error("cannot encode {0}")]
    Unencodable(&'static str),
}

/// Why a scale-out role could not start or stopped.
#[derive(Debug, Error)]
pub enum ClusterError {
    /// The NATS server could not be reached.
    #[error("cannot connect to NATS at {url}: {source}")]
    Connect {
        /// The URL tried.
        url: String,
        /// The client's error.
        source: async_nats::ConnectError,
    },
    /// A JetStream request (stream, bucket, consumer, publish) failed.
    #[error("jetstream {what}: {message}")]
    JetStream {
        /// What was being done.
        what: &'static str,
        /// The client's error, rendered.
        message: String,
    },
    /// A payload could not be written or read.
    #[error(transparent)]
    Wire(#[from] WireError),
    /// This matcher's lease on a partition was superseded: it must stop touching it.
    #[error("lease on partition {0} lost")]
    Fenced(u32),
}

impl ClusterError {
    /// Wraps any client error with what was being done.
    pub(crate) fn js<E: std::fmt::Display>(what: &'static str) -> impl FnOnce(E) -> ClusterError {
        move |e| ClusterError::JetStream {
            what,
            message: e.to_string(),
        }
    }
}

impl From<FieldError> for WireError {
    fn from(e: FieldError) -> Self {
        match e {
            FieldError::Truncated => WireError::Truncated,
            FieldError::Tag { what, tag } => WireError::Tag { what, tag },
            FieldError::Symbol => WireError::Symbol,
            FieldError::Price => WireError::Price,
        }
    }
}
