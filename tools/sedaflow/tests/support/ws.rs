//! A blocking WebSocket client for the market-data tests: text frames in and out, each read
//! bounded by [`READ_GUARD`].

use std::collections::BTreeMap;
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
        WsClient::handshake(addr, stream)
    }

    /// [`WsClient::connect`] with a receive buffer of about `bytes`: a subscriber that does
    /// not read then leaves the server's output unsent after little of it.
    pub fn connect_with_receive_buffer(addr: SocketAddr, bytes: usize) -> WsClient {
        let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
            .expect("a socket");
        // Before connecting: the window offered in the handshake depends on it.
        socket.set_recv_buffer_size(bytes).expect("SO_RCVBUF");
        socket
            .connect(&addr.into())
            .unwrap_or_else(|e| panic!("cannot connect to {addr}: {e}"));
        WsClient::handshake(addr, socket.into())
    }

    fn handshake(addr: SocketAddr, stream: TcpStream) -> WsClient {
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

    /// Subscribes to `channel` of `symbol` and reads the `subscribed` answer.
    ///
    /// # Panics
    /// When the answer is anything else.
    pub fn subscribe(&mut self, channel: &str, symbol: &str) {
        self.send(&format!(
            r#"{{"op":"subscribe","channel":"{channel}","symbol":"{symbol}"}}"#
        ));
        assert_eq!(
            self.text(),
            format!(r#"{{"type":"subscribed","channel":"{channel}","symbol":"{symbol}"}}"#)
        );
    }

    /// Starts the closing handshake (a close frame).
    pub fn close(&mut self) {
        self.socket
            .close(None)
            .unwrap_or_else(|e| panic!("sending a close frame failed: {e}"));
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

/// A book rebuilt from a `depth` snapshot and the `depth_update`s after it: side → price
/// text → quantity.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DepthBook {
    levels: BTreeMap<(String, String), u64>,
    /// The `seq` of the last message applied.
    pub seq: u64,
}

impl DepthBook {
    /// The book of a snapshot (a `depth` message or `GET /depth`'s body).
    pub fn of(snapshot: &Value) -> DepthBook {
        let mut book = DepthBook::default();
        book.apply(snapshot);
        book.seq = snapshot["seq"].as_u64().expect("a snapshot's seq");
        book
    }

    /// Applies an update's levels (quantity 0 removes a level).
    ///
    /// # Panics
    /// When the update does not chain: its `first_seq` must follow the last `seq` applied.
    pub fn update(&mut self, update: &Value) {
        assert_eq!(update["type"], "depth_update", "{update}");
        assert_eq!(update["first_seq"], self.seq + 1, "a gap before {update}");
        self.apply(update);
        self.seq = update["seq"].as_u64().expect("an update's seq");
    }

    fn apply(&mut self, message: &Value) {
        for (side, key) in [("bid", "bids"), ("ask", "asks")] {
            for level in message[key].as_array().into_iter().flatten() {
                let price = level[0].as_str().expect("price text").to_owned();
                let qty = level[1].as_u64().expect("qty");
                match qty {
                    0 => self.levels.remove(&(side.to_owned(), price)),
                    q => self.levels.insert((side.to_owned(), price), q),
                };
            }
        }
    }
}
