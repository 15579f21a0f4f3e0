use std::io;
use std::net::SocketAddr;

use thiserror::Error;

use sedaflow_stages::matching::OrderId;

/// Why a load run failed.
#[derive(Debug, Error)]
pub enum LoadgenError {
    /// The configuration cannot describe a run.
    #[error("invalid loadgen config: {0}")]
    Config(&'static str),
    /// A connection could not be opened.
    #[error("connecting to {addr} failed")]
    Connect {
        /// The server address.
        addr: SocketAddr,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The server refused a connection's login.
    #[error("connection {connection}: login refused: {answer}")]
    Login {
        /// The connection.
        connection: usize,
        /// What the server answered.
        answer: String,
    },
    /// Reading or writing a connection failed.
    #[error("connection {connection}: i/o failed")]
    Io {
        /// The connection's index, from 0.
        connection: usize,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The server broke the protocol.
    #[error("connection {connection}: protocol violation")]
    Protocol {
        /// The connection's index, from 0.
        connection: usize,
        /// What it did.
        #[source]
        violation: ProtocolViolation,
    },
    /// A market-data subscriber's WebSocket handshake or subscription failed.
    #[error("market-data subscriber {subscriber}: websocket failed")]
    WebSocket {
        /// The subscriber's index, from 0.
        subscriber: usize,
        /// The cause.
        #[source]
        source: tokio_tungstenite::tungstenite::Error,
    },
    /// The market-data subscribers did not all get their snapshots in time.
    #[error("market-data subscribers: {ready} of {subscribers} got their snapshots")]
    NotReady {
        /// Subscribers with every snapshot.
        ready: usize,
        /// Subscribers started.
        subscribers: usize,
    },
    /// A market-data HTTP snapshot could not be read.
    #[error("GET {path} failed: {reason}")]
    Snapshot {
        /// The request's path and query.
        path: String,
        /// What went wrong.
        reason: SnapshotFailure,
    },
    /// The market-data subscribers' runtime could not start.
    #[error("market-data subscribers: runtime: {0}")]
    Runtime(#[source] io::Error),
    /// A connection task panicked or was cancelled.
    #[error("a connection task failed")]
    Task(#[source] tokio::task::JoinError),
}

/// How a server broke the protocol, as seen by the load generator.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ProtocolViolation {
    /// A line that is not a response the protocol defines.
    #[error("unreadable response line: {0}")]
    Unreadable(String),
    /// A response line longer than the frame limit.
    #[error("response line too long")]
    TooLong,
    /// An `ack` or `reject` that does not answer the oldest outstanding request: answers
    /// must come in request order, one per request.
    #[error("answer for id {got}, but {}", oldest(.expected))]
    UnexpectedAnswer {
        /// The id the answer named.
        got: OrderId,
        /// The id of the oldest unanswered request, if any.
        expected: Option<OrderId>,
    },
    /// An `ack` answering a `cancel`.
    #[error("ack for cancel of id {0}")]
    AckForCancel(OrderId),
}

/// Why a market-data HTTP snapshot could not be read.
#[derive(Debug, Error)]
pub enum SnapshotFailure {
    /// The connection failed or timed out.
    #[error("i/o: {0}")]
    Io(#[from] io::Error),
    /// The answer is not `200` with a body.
    #[error("answer {0:?}")]
    Status(String),
    /// The body is not the snapshot the protocol describes.
    #[error("unreadable body")]
    Body,
}

fn oldest(expected: &Option<OrderId>) -> String {
    match expected {
        Some(id) => format!("the oldest outstanding request is id {id}"),
        None => "no request is outstanding".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_lowercase_and_names_the_connection() {
        let error = LoadgenError::Protocol {
            connection: 2,
            violation: ProtocolViolation::UnexpectedAnswer {
                got: 5,
                expected: Some(4),
            },
        };
        assert_eq!(error.to_string(), "connection 2: protocol violation");
        let source = std::error::Error::source(&error).map(ToString::to_string);
        assert_eq!(
            source.as_deref(),
            Some("answer for id 5, but the oldest outstanding request is id 4")
        );
        assert_eq!(
            LoadgenError::Config("connections must be at least 1").to_string(),
            "invalid loadgen config: connections must be at least 1"
        );
    }
}
