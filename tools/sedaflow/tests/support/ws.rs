//! A blocking WebSocket client for the market-data tests: text frames in and out, each read
//! bounded by [`READ_GUARD`].

use std::net::{SocketAddr, TcpStream};

use serde_json::Value;
use tungstenite::{Message, WebSocket};

use super::client::READ_GUARD;

/// One WebSocket connection to `GET /ws`.
pub struct WsClient {
    socket: WebSocket<TcpStream>,
}

/// How a socket ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    /// The server sent a close frame (or closed after one).
    Closed,
    /// The connection ended without a close frame.
    Cut,
}

impl WsClient {
    /// Connects to `ws://addr/ws`.
    ///
    /// # Panics
    /// When the connection or the handshake fails.
    pub fn connect(addr: SocketAddr) -> WsClient {
        let stream =
            TcpStream::connect(addr).unwrap_or_else(|e| panic!("cannot connect to {addr}: {e}"));
        stream
            .set_read_timeout(Some(READ_GUARD))
            .expect("set read timeout");
        let (socket, response) = tungstenite::client(format!("ws://{addr}/ws"), stream)
            .unwrap_or_else(|e| panic!("websocket handshake with {addr} failed: {e}"));
        assert_eq!(response.status(), 101);
        WsClient { socket }
    }

    /// Sends one text frame.
    pub fn send(&mut self, text: &str) {
        self.socket
            .send(Message::text(text))
            .unwrap_or_else(|e| panic!("sending {text:?} failed: {e}"));
    }

    /// Sends a ping with `payload`.
    pub fn ping(&mut self, payload: &'static [u8]) {
        self.socket
            .send(Message::Ping(payload.into()))
            .unwrap_or_else(|e| panic!("sending a ping failed: {e}"));
    }

    /// The next frame that is not a ping (which the client library answers).
    ///
    /// # Panics
    /// When the socket ends or nothing comes within [`READ_GUARD`].
    pub fn frame(&mut self) -> Message {
        loop {
            match self.socket.read() {
                Ok(Message::Ping(_)) => continue,
                Ok(frame) => return frame,
                Err(e) => panic!("reading a frame failed: {e}"),
            }
        }
    }

    /// The next text frame, as text.
    ///
    /// # Panics
    /// As [`WsClient::frame`], or when the frame is not text.
    pub fn text(&mut self) -> String {
        match self.frame() {
            Message::Text(text) => text.to_string(),
            other => panic!("expected a text frame, got {other:?}"),
        }
    }

    /// The next text frame, as JSON.
    pub fn json(&mut self) -> Value {
        let text = self.text();
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text:?}"))
    }

    /// Reads until the socket ends: how it ended, and the last text frame before that.
    ///
    /// # Panics
    /// When it does not end within [`READ_GUARD`] of the last frame.
    pub fn until_end(&mut self) -> (Ended, Option<String>) {
        let mut last = None;
        let ended = loop {
            match self.socket.read() {
                Ok(Message::Close(_)) => break Ended::Closed,
                Ok(Message::Text(text)) => last = Some(text.to_string()),
                Ok(_) => continue,
                Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => {
                    break Ended::Closed
                }
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    panic!("the socket did not end within {READ_GUARD:?}")
                }
                Err(_) => break Ended::Cut,
            }
        };
        (ended, last)
    }
}
