//! A blocking JSON-lines client for the order stream.

use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use serde_json::Value;

use super::check::{assign, Pattern};
use super::model::Req;

/// Hang guard for one read: only reached if the server never answers.
pub const READ_GUARD: Duration = Duration::from_secs(10);
/// Hang guard for one write: only reached if the server never reads.
pub const WRITE_GUARD: Duration = Duration::from_secs(30);

const PING: &str = r#"{"op":"ping"}"#;

/// One connection to the order stream.
pub struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Client {
    /// Connects to the order stream at `addr`.
    ///
    /// # Panics
    /// If the connection cannot be made.
    pub fn connect(addr: SocketAddr) -> Client {
        let stream =
            TcpStream::connect(addr).unwrap_or_else(|e| panic!("cannot connect to {addr}: {e}"));
        stream
            .set_read_timeout(Some(READ_GUARD))
            .expect("set read timeout");
        stream
            .set_write_timeout(Some(WRITE_GUARD))
            .expect("set write timeout");
        stream.set_nodelay(true).expect("set nodelay");
        let writer = stream.try_clone().expect("clone the stream");
        Client {
            reader: BufReader::with_capacity(64 * 1024, stream),
            writer,
        }
    }

    /// Connects and logs in as `account` with `key` (in `open` mode any key does).
    ///
    /// # Panics
    /// If the connection cannot be made or the login is not accepted.
    #[track_caller]
    pub fn login(addr: SocketAddr, account: &str, key: &str) -> Client {
        let mut c = Client::connect(addr);
        c.send(&format!(
            r#"{{"op":"login","account":"{account}","key":"{key}"}}"#
        ));
        c.expect(&format!(r#"{{"type":"login","account":"{account}"}}"#));
        c
    }

    /// Writes `line` and a `\n`.
    ///
    /// # Panics
    /// If the write fails.
    #[track_caller]
    pub fn send(&mut self, line: &str) {
        if let Err(e) = self.try_send(line) {
            panic!("writing to the server failed: {e}");
        }
    }

    /// Writes `line` and a `\n`.
    ///
    /// # Errors
    /// The write error.
    pub fn try_send(&mut self, line: &str) -> io::Result<()> {
        let mut bytes = Vec::with_capacity(line.len() + 1);
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        self.writer.write_all(&bytes)
    }

    /// Writes `bytes` as they are.
    ///
    /// # Panics
    /// If the write fails.
    #[track_caller]
    pub fn send_raw(&mut self, bytes: &[u8]) {
        if let Err(e) = self.writer.write_all(bytes) {
            panic!("writing to the server failed: {e}");
        }
    }

    /// Writes all requests in one go.
    #[track_caller]
    pub fn send_reqs(&mut self, reqs: &[Req]) {
        let mut bytes = Vec::new();
        for req in reqs {
            bytes.extend_from_slice(req.to_line().as_bytes());
            bytes.push(b'\n');
        }
        self.send_raw(&bytes);
    }

    /// One line without its `\n` (or `\r\n`); `Ok(None)` at end of stream.
    ///
    /// # Errors
    /// The read error, including the hang guard's timeout.
    pub fn try_recv_line(&mut self) -> io::Result<Option<String>> {
        let mut buf = Vec::new();
        if self.reader.read_until(b'\n', &mut buf)? == 0 {
            return Ok(None);
        }
        if buf.last() != Some(&b'\n') {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "stream ended inside a line: {:?}",
                    String::from_utf8_lossy(&buf)
                ),
            ));
        }
        let line = String::from_utf8_lossy(&buf);
        Ok(Some(line.trim_end_matches(['\n', '\r']).to_owned()))
    }

    /// One line, or what went wrong, in words: the end of stream, a read error, or nothing
    /// within [`READ_GUARD`].
    pub fn expected_line(&mut self) -> Result<String, String> {
        match self.try_recv_line() {
            Ok(Some(line)) => Ok(line),
            Ok(None) => {
                Err("the server closed the connection while a response was expected".into())
            }
            Err(e) if is_timeout(&e) => Err(format!(
                "no response within {READ_GUARD:?} (hang guard): {e}"
            )),
            Err(e) => Err(format!("reading a response failed: {e}")),
        }
    }

    /// One line.
    ///
    /// # Panics
    /// As [`Client::expected_line`] fails.
    #[track_caller]
    pub fn recv_line(&mut self) -> String {
        match self.expected_line() {
            Ok(line) => line,
            Err(e) => panic!("{e}"),
        }
    }

    /// One response, parsed, or what went wrong, in words (also a line that is not JSON).
    pub fn try_recv(&mut self) -> Result<Value, String> {
        let line = self.expected_line()?;
        serde_json::from_str(&line).map_err(|e| format!("response is not JSON ({e}): {line:?}"))
    }

    /// One response, parsed.
    ///
    /// # Panics
    /// As [`Client::try_recv`] fails.
    #[track_caller]
    pub fn recv(&mut self) -> Value {
        match self.try_recv() {
            Ok(value) => value,
            Err(e) => panic!("{e}"),
        }
    }

    /// `n` responses.
    #[track_caller]
    pub fn recv_n(&mut self, n: usize) -> Vec<Value> {
        let mut got = Vec::with_capacity(n);
        for _ in 0..n {
            got.push(self.recv());
        }
        got
    }

    /// The next response must equal `expected` (compared as JSON values).
    #[track_caller]
    pub fn expect(&mut self, expected: &str) {
        let want: Value = serde_json::from_str(expected)
            .unwrap_or_else(|e| panic!("bad expected JSON in the test ({e}): {expected}"));
        let got = self.recv();
        assert!(
            got == want,
            "response differs\n  expected: {want}\n       got: {got}"
        );
    }

    /// The next response must be the fill `expected` (given without `match`); returns its
    /// `match`.
    #[track_caller]
    pub fn expect_fill(&mut self, expected: &str) -> u64 {
        let got = self.recv();
        assert!(
            Pattern::parse(expected).fits(&got),
            "response differs\n  expected: {expected}  (any match)\n       got: {got}"
        );
        got["match"].as_u64().unwrap_or_default()
    }

    /// The next `expected.len()` responses must be these, in any order across orders but in
    /// the given order within each order (same `id`). A `fill` given without `match` accepts
    /// any. Returns the received responses lined up with `expected`.
    #[track_caller]
    pub fn expect_set(&mut self, expected: &[&str]) -> Vec<Value> {
        let patterns: Vec<Pattern> = expected.iter().map(|e| Pattern::parse(e)).collect();
        let got = self.recv_n(expected.len());
        let pairs = match assign(&patterns, &got) {
            Ok(pairs) => pairs,
            Err(e) => panic!("{e}"),
        };
        let mut lined_up = vec![Value::Null; got.len()];
        for (g, at) in got.into_iter().zip(pairs) {
            lined_up[at] = g;
        }
        lined_up
    }

    /// The next response must be a `reject` of `id` whose reason contains `field`.
    #[track_caller]
    pub fn expect_reject(&mut self, id: u64, field: &str) {
        let got = self.recv();
        let reason = got["reason"].as_str().unwrap_or_default();
        assert!(
            got["type"] == "reject" && got["id"].as_u64() == Some(id) && reason.contains(field),
            "expected a reject of id {id} whose reason names {field:?}, got: {got}"
        );
    }

    /// The next response must be an `error` with a string `reason`; returns the reason.
    #[track_caller]
    pub fn expect_error(&mut self) -> String {
        let got = self.recv();
        let reason = got["reason"].as_str();
        assert!(
            got["type"] == "error" && reason.is_some(),
            "expected an error, got: {got}"
        );
        reason.unwrap_or_default().to_owned()
    }

    /// Proves nothing else is pending: sends a ping and requires its pong as the very next line.
    #[track_caller]
    pub fn expect_idle(&mut self) {
        self.send(PING);
        self.expect(r#"{"type":"pong"}"#);
    }

    /// The server must close the connection now: the next read is end of stream.
    #[track_caller]
    pub fn expect_eof(&mut self) {
        match self.try_recv_line() {
            Ok(None) => {}
            Ok(Some(line)) => panic!("expected the connection closed, got a line: {line}"),
            Err(e) if is_timeout(&e) => {
                panic!("the connection was not closed within {READ_GUARD:?} (hang guard)")
            }
            Err(e) => panic!("expected a clean end of stream, got: {e}"),
        }
    }

    /// A second handle for writing, to pipeline requests from another thread while this one
    /// reads.
    pub fn writer(&self) -> Writer {
        let stream = self.writer.try_clone().expect("clone the stream");
        Writer {
            out: BufWriter::with_capacity(64 * 1024, stream),
        }
    }

    /// Half-close: no more requests from this side.
    pub fn shutdown_write(&self) {
        self.writer
            .shutdown(Shutdown::Write)
            .expect("shut down the sending side");
    }

    /// Closes both directions, waking any thread blocked writing on a [`Writer`] of this
    /// connection.
    pub fn shutdown_both(&self) {
        // Already closed by the peer is fine too.
        let _ = self.writer.shutdown(Shutdown::Both);
    }
}

/// A buffered writing handle of a [`Client`]'s connection.
pub struct Writer {
    out: BufWriter<TcpStream>,
}

impl Writer {
    /// Buffers `line` and a `\n`.
    ///
    /// # Errors
    /// The write error.
    pub fn send(&mut self, line: &str) -> io::Result<()> {
        self.out.write_all(line.as_bytes())?;
        self.out.write_all(b"\n")
    }

    /// Buffers `bytes` as they are.
    ///
    /// # Errors
    /// The write error.
    pub fn send_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)
    }

    /// # Errors
    /// The write error.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Flushes, then half-closes the connection.
    ///
    /// # Errors
    /// The write or shutdown error.
    pub fn shutdown_write(&mut self) -> io::Result<()> {
        self.out.flush()?;
        self.out.get_ref().shutdown(Shutdown::Write)
    }
}

/// Writes every request on its own thread (so the caller can read meanwhile), then flushes.
pub fn pipeline(mut writer: Writer, reqs: Vec<Req>) -> JoinHandle<io::Result<()>> {
    thread::spawn(move || {
        for req in &reqs {
            writer.send(&req.to_line())?;
        }
        writer.flush()
    })
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}
