//! A tiny HTTP/1.1 client: one request per connection (`Connection: close`), body read to the
//! end of the stream; `Content-Length` and chunked bodies both understood. [`KeepAlive`] sends
//! its requests one after another on one connection.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use serde_json::Value;

use super::client::{READ_GUARD, WRITE_GUARD};

/// Status, content type and body of one answer.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    /// The `Content-Type` header's value, if any.
    pub content_type: Option<String>,
    pub body: String,
}

impl HttpResponse {
    /// The body as JSON.
    ///
    /// # Panics
    /// If the body is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("HTTP body is not JSON ({e}): {:?}", self.body))
    }
}

/// `GET path`.
pub fn get(addr: SocketAddr, path: &str) -> HttpResponse {
    request(addr, "GET", path, None, &[])
}

/// `POST path` with a JSON body.
pub fn post(addr: SocketAddr, path: &str, body: &str) -> HttpResponse {
    request(addr, "POST", path, Some(body), &[])
}

/// `POST path` with a JSON body and extra header lines (`"Authorization: Basic …"`).
pub fn post_with(addr: SocketAddr, path: &str, body: &str, headers: &[&str]) -> HttpResponse {
    request(addr, "POST", path, Some(body), headers)
}

/// # Panics
/// On any I/O failure or a malformed answer (with what was received).
fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&str>,
    headers: &[&str],
) -> HttpResponse {
    let mut stream = connect(addr);
    stream
        .write_all(&encode(addr, method, path, body, headers, true))
        .unwrap_or_else(|e| panic!("{method} {path}: writing failed: {e}"));
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .unwrap_or_else(|e| panic!("{method} {path}: reading the answer failed: {e}"));
    parse(&raw).unwrap_or_else(|e| {
        panic!(
            "{method} {path}: malformed answer ({e}): {:?}",
            String::from_utf8_lossy(&raw)
        )
    })
}

/// One keep-alive connection: each request is sent once the previous one is answered.
pub struct KeepAlive {
    addr: SocketAddr,
    stream: TcpStream,
}

impl KeepAlive {
    /// # Panics
    /// When the connection cannot be opened.
    pub fn open(addr: SocketAddr) -> KeepAlive {
        KeepAlive {
            addr,
            stream: connect(addr),
        }
    }

    /// `POST path` with a JSON body, and its answer (which must have a `Content-Length`).
    ///
    /// # Panics
    /// On any I/O failure or a malformed answer.
    pub fn post(&mut self, path: &str, body: &str) -> HttpResponse {
        self.stream
            .write_all(&encode(self.addr, "POST", path, Some(body), &[], false))
            .unwrap_or_else(|e| panic!("POST {path}: writing failed: {e}"));
        let mut raw = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(end) = answer_end(&raw) {
                assert_eq!(end, raw.len(), "POST {path}: more than one answer came");
                return parse(&raw).unwrap_or_else(|e| panic!("POST {path}: {e}"));
            }
            let n = self
                .stream
                .read(&mut chunk)
                .unwrap_or_else(|e| panic!("POST {path}: reading the answer failed: {e}"));
            assert!(n > 0, "POST {path}: the server closed the connection");
            raw.extend_from_slice(&chunk[..n]);
        }
    }
}

/// Where the first answer in `raw` ends, once its head and `Content-Length` body are in.
fn answer_end(raw: &[u8]) -> Option<usize> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("a keep-alive answer has a Content-Length");
    let end = split + 4 + length;
    (raw.len() >= end).then_some(end)
}

fn connect(addr: SocketAddr) -> TcpStream {
    let stream =
        TcpStream::connect(addr).unwrap_or_else(|e| panic!("cannot connect to {addr}: {e}"));
    stream
        .set_read_timeout(Some(READ_GUARD))
        .expect("set read timeout");
    stream
        .set_write_timeout(Some(WRITE_GUARD))
        .expect("set write timeout");
    stream
}

/// A request's bytes; with `close`, it asks the server to close the connection after it.
fn encode(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&str>,
    headers: &[&str],
    close: bool,
) -> Vec<u8> {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\n");
    if close {
        head.push_str("Connection: close\r\n");
    }
    for h in headers {
        head.push_str(h);
        head.push_str("\r\n");
    }
    if let Some(body) = body {
        head.push_str("Content-Type: application/json\r\n");
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body.unwrap_or_default().as_bytes());
    bytes
}

fn parse(raw: &[u8]) -> Result<HttpResponse, String> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no end of headers")?;
    let head = std::str::from_utf8(&raw[..split]).map_err(|e| e.to_string())?;
    let rest = &raw[split + 4..];
    let mut lines = head.split("\r\n");
    let status_line = lines.next().ok_or("no status line")?;
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("bad status line")?;
    let mut length = None;
    let mut chunked = false;
    let mut content_type = None;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            return Err(format!("bad header {line:?}"));
        };
        let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
        if name == "content-length" {
            length = Some(value.parse::<usize>().map_err(|e| e.to_string())?);
        } else if name == "transfer-encoding" && value.eq_ignore_ascii_case("chunked") {
            chunked = true;
        } else if name == "content-type" {
            content_type = Some(value.to_owned());
        }
    }
    let body = if chunked {
        dechunk(rest)?
    } else if let Some(length) = length {
        rest.get(..length)
            .ok_or("body shorter than Content-Length")?
            .to_vec()
    } else {
        rest.to_vec()
    };
    let body = String::from_utf8(body).map_err(|e| e.to_string())?;
    Ok(HttpResponse {
        status,
        content_type,
        body,
    })
}

fn dechunk(mut rest: &[u8]) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        let end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("unterminated chunk size")?;
        let size = std::str::from_utf8(&rest[..end]).map_err(|e| e.to_string())?;
        let size = size.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size, 16).map_err(|e| e.to_string())?;
        rest = &rest[end + 2..];
        if size == 0 {
            return Ok(body);
        }
        body.extend_from_slice(rest.get(..size).ok_or("short chunk")?);
        rest = rest.get(size + 2..).ok_or("chunk without CRLF")?;
    }
}
