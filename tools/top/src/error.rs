//! Why a scrape could not be read.

use thiserror::Error;

/// A line of the exposition text that is not a sample, comment or blank line.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("line {line}: {reason}")]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// Why `/metrics` could not be fetched.
#[derive(Debug, Error)]
pub enum FetchError {
    /// The URL is not `http://host:port/path`.
    #[error("invalid url `{0}`: expected http://host:port/path")]
    Url(String),
    /// Connecting, writing or reading failed (refused, timed out, reset).
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The server answered something other than 200.
    #[error("http status {0}")]
    Status(u16),
    /// The answer is not an HTTP response.
    #[error("malformed http response")]
    Malformed,
    /// The body is not Prometheus text.
    #[error("invalid exposition: {0}")]
    Parse(#[from] ParseError),
}
