//! `GET /metrics` over a plain TCP connection (HTTP/1.0, so no chunked bodies), with a
//! timeout on every step.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::error::FetchError;

/// Where the metrics are: `http://host:port/path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsUrl {
    /// `host:port`.
    pub authority: String,
    /// Path, `/metrics` by default.
    pub path: String,
}

impl MetricsUrl {
    /// Parses `http://host[:port][/path]` (port 80 and path `/metrics` when absent).
    ///
    /// # Errors
    /// [`FetchError::Url`] for anything but plain `http`.
    ///
    /// # Examples
    /// ```
    /// use sedaflow_top::fetch::MetricsUrl;
    /// let u = MetricsUrl::parse("http://127.0.0.1:9000").unwrap();
    /// assert_eq!((u.authority.as_str(), u.path.as_str()), ("127.0.0.1:9000", "/metrics"));
    /// assert!(MetricsUrl::parse("https://x/metrics").is_err());
    /// ```
    pub fn parse(url: &str) -> Result<MetricsUrl, FetchError> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| FetchError::Url(url.to_owned()))?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/metrics"),
        };
        if authority.is_empty() {
            return Err(FetchError::Url(url.to_owned()));
        }
        let authority = if authority.contains(':') {
            authority.to_owned()
        } else {
            format!("{authority}:80")
        };
        Ok(MetricsUrl {
            authority,
            path: path.to_owned(),
        })
    }
}

/// Fetches the body of `url`; every connect, write and read is bounded by `timeout`.
///
/// # Errors
/// Connection failures and timeouts, a status other than 200, a malformed response.
pub fn fetch(url: &MetricsUrl, timeout: Duration) -> Result<String, FetchError> {
    let addr = url
        .authority
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| FetchError::Url(url.authority.clone()))?;
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    write!(
        stream,
        "GET {} HTTP/1.0\r\nHost: {}\r\nAccept: text/plain\r\nConnection: close\r\n\r\n",
        url.path, url.authority
    )?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    body(&raw)
}

/// The body of a raw HTTP response with status 200.
fn body(raw: &[u8]) -> Result<String, FetchError> {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n").ok_or(FetchError::Malformed)?;
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or(FetchError::Malformed)?;
    if status != 200 {
        return Err(FetchError::Status(status));
    }
    Ok(body.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_default_port_and_path() {
        let u = MetricsUrl::parse("http://localhost/m").unwrap();
        assert_eq!(u.authority, "localhost:80");
        assert_eq!(u.path, "/m");
        assert!(MetricsUrl::parse("http:///x").is_err());
    }

    #[test]
    fn bodies_need_status_200() {
        assert_eq!(
            body(b"HTTP/1.0 200 OK\r\nA: b\r\n\r\nx 1\n").unwrap(),
            "x 1\n"
        );
        assert!(matches!(
            body(b"HTTP/1.1 404 Not Found\r\n\r\n"),
            Err(FetchError::Status(404))
        ));
        assert!(matches!(body(b"garbage"), Err(FetchError::Malformed)));
    }
}
