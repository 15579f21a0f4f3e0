//! WebSocket `GET /ws` (RFC 6455, through hyper's upgrade and `tokio-tungstenite`): one
//! market-data subscriber per socket.
//!
//! A socket's reader parses each text (or binary) frame with
//! [`parse_client_message`]: errors are answered into its outbox at once, subscriptions go to
//! the market-data stage that owns the symbol. The protocol layer reads the socket and
//! answers pings; the socket's writer owns its write half. It frames the outbox's messages
//! itself, each a text frame copied straight out of the update every subscriber shares (the
//! frames are the same for all, a server's being unmasked), and writes the protocol layer's
//! pongs between whole messages.
//!
//! # Backpressure
//! The outbox counts what is queued and not yet popped; beyond it the writer holds about
//! [`WRITE_CHUNK`] bytes taken from it while it waits for the socket. An outbox that passed
//! its cap holds only the `slow consumer` error: the writer writes it and closes.
//!
//! # Shutdown
//! A socket closes when the client closes it, when it sent nothing (not even a ping) for
//! `limits.idle_timeout`, when it is slow, or when the server stops; the writer writes what
//! is queued (for at most [`CLOSE_GRACE`]) and sends a close frame, and the stage forgets the
//! socket's subscriptions.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::StreamExt;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderMap, HeaderValue, CONNECTION, SEC_WEBSOCKET_ACCEPT, UPGRADE};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use rustc_hash::FxHashSet;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Control, Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::FrameHeader;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_tungstenite::WebSocketStream;

use super::http::reply;
use super::loops::Pinned;
use super::market::Market;
use crate::config::Limits;
use crate::internal_events::MarketMetrics;
use crate::market::{
    parse_client_message, ClientMessage, ErrorReason, Message, Subscription, MAX_SUBSCRIPTIONS,
};
use crate::pipeline::{MarketIn, Next, Subscriber, WRITE_CHUNK};

/// How long a closing socket's writer may take to write what is queued.
pub(crate) const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// The socket as the protocol layer reads it.
type Socket = WebSocketStream<Protocol>;

/// Answers the upgrade request: `101` and the socket served from then on, or `400` when the
/// request is not a WebSocket handshake. The session runs on `control`, off the event loops:
/// a subscriber's fan-out must not take a loop's time from the order connections on it (they
/// would be shed at the read for it). Its socket moves to `control`'s reactor too: a
/// long-lived subscriber then keeps no loop from retiring, and its readiness wakes the
/// session directly rather than through the loop. Until the move it keeps the loop it was
/// registered with pinned (`pinned`).
pub(crate) fn upgrade(
    req: Request<Incoming>,
    market: &Arc<Market>,
    limits: &Limits,
    stop: watch::Receiver<bool>,
    (pinned, control): (Pinned, &tokio::runtime::Handle),
) -> Response<Full<Bytes>> {
    let Some(accept) = accept_key(req.headers()) else {
        return reply(
            StatusCode::BAD_REQUEST,
            "expected a WebSocket handshake\n".into(),
        );
    };
    let (market, idle) = (market.clone(), limits.idle_timeout);
    let max_frame = limits.max_frame.get();
    control.spawn(async move {
        let socket = hyper::upgrade::on(req)
            .await
            .map_err(Moved::Upgrade)
            .and_then(moved);
        drop(pinned);
        match socket {
            Ok((stream, early)) => {
                let config = WebSocketConfig::default()
                    .max_message_size(Some(max_frame))
                    .max_frame_size(Some(max_frame));
                serve(stream, early, config, &market, idle, stop).await;
            }
            Err(e) => tracing::debug!(error = %e, "websocket upgrade failed"),
        }
    });
    let mut response = reply(StatusCode::SWITCHING_PROTOCOLS, Bytes::new());
    let headers = response.headers_mut();
    headers.remove(hyper::header::CONTENT_TYPE);
    headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    headers.insert(SEC_WEBSOCKET_ACCEPT, accept);
    response
}

/// The `Sec-WebSocket-Accept` answering a version-13 upgrade request, if it is one.
fn accept_key(headers: &HeaderMap) -> Option<HeaderValue> {
    let has = |name, token: &str| {
        headers.get_all(name).iter().any(|value: &HeaderValue| {
            value
                .to_str()
                .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
        })
    };
    let version = headers.get(hyper::header::SEC_WEBSOCKET_VERSION)?;
    if !has(CONNECTION, "upgrade") || !has(UPGRADE, "websocket") || version != "13" {
        return None;
    }
    let key = headers.get(hyper::header::SEC_WEBSOCKET_KEY)?;
    HeaderValue::from_str(&derive_accept_key(key.as_bytes())).ok()
}

/// Why an upgraded connection could not be served.
#[derive(Debug, thiserror::Error)]
enum Moved {
    #[error(transparent)]
    Upgrade(hyper::Error),
    #[error("not a TCP connection of this server")]
    Transport,
    #[error("could not move the socket: {0}")]
    Register(std::io::Error),
}

/// The upgraded connection's socket, registered with the current runtime's reactor instead
/// of the loop's, and what the HTTP layer read past the handshake.
fn moved(upgraded: hyper::upgrade::Upgraded) -> Result<(TcpStream, Vec<u8>), Moved> {
    let parts = upgraded
        .downcast::<TokioIo<TcpStream>>()
        .map_err(|_| Moved::Transport)?;
    let stream = parts
        .io
        .into_inner()
        .into_std()
        .and_then(TcpStream::from_std)
        .map_err(Moved::Register)?;
    Ok((stream, parts.read_buf.to_vec()))
}

/// Serves one socket until it closes; then the stage forgets its subscriptions. `early`: what
/// was read of it past the handshake.
async fn serve(
    stream: TcpStream,
    early: Vec<u8>,
    config: WebSocketConfig,
    market: &Arc<Market>,
    idle: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let metrics = market.metrics().clone();
    metrics.subscriber(true);
    let subscriber = market.subscriber();
    let (read_half, write_half) = stream.into_split();
    let protocol = Protocol {
        read: read_half,
        subscriber: subscriber.clone(),
    };
    let stream =
        WebSocketStream::from_partially_read(protocol, early, Role::Server, Some(config)).await;
    let mut writer = tokio::spawn(write(write_half, subscriber.clone(), metrics.clone()));
    let mut held = FxHashSet::default();
    {
        let reading = read(stream, market, &subscriber, &mut held, idle);
        tokio::pin!(reading);
        let (read_ended, writer_ended) = tokio::select! {
            () = &mut reading => (true, false),
            _ = &mut writer => (false, true),
            _ = stop.changed() => (false, false),
        };
        subscriber.close();
        if !writer_ended {
            let _ = tokio::time::timeout(CLOSE_GRACE, writer).await;
        }
        // The writer sent its close frame: read on (ignoring requests) until the client
        // answers it, so the TCP close is orderly and the client reads what was written.
        if !read_ended {
            let _ = tokio::time::timeout(CLOSE_GRACE, reading).await;
        }
    }
    for subscription in held {
        let gone = MarketIn::Gone(subscriber.clone(), subscription);
        if market.send(gone).await.is_err() {
            break;
        }
    }
    metrics.subscriber(false);
}

/// Reads client messages until the client closes, errs, or stays silent for `idle`; once the
/// socket is closing, it only waits for that.
async fn read(
    mut stream: Socket,
    market: &Market,
    subscriber: &Arc<Subscriber>,
    held: &mut FxHashSet<Subscription>,
    idle: Duration,
) {
    loop {
        let frame = match tokio::time::timeout(idle, stream.next()).await {
            Ok(Some(Ok(frame))) => frame,
            // Silent too long, closed, or broken.
            Err(_) | Ok(None | Some(Err(_))) => return,
        };
        let data = match frame {
            Frame::Text(text) => Bytes::from(text),
            Frame::Binary(data) => data,
            Frame::Close(_) => return,
            // Pings are answered by the protocol layer on the next read.
            Frame::Ping(_) | Frame::Pong(_) | Frame::Frame(_) => continue,
        };
        if subscriber.is_closing() {
            continue;
        }
        let event = match parse_client_message(&data) {
            Err(reason) => {
                answer(subscriber, reason);
                continue;
            }
            Ok(ClientMessage::Subscribe(s)) => {
                if held.len() >= MAX_SUBSCRIPTIONS && !held.contains(&s) {
                    answer(subscriber, ErrorReason::TooManySubscriptions);
                    continue;
                }
                held.insert(s);
                MarketIn::Subscribe(subscriber.clone(), s)
            }
            Ok(ClientMessage::Unsubscribe(s)) => {
                held.remove(&s);
                MarketIn::Unsubscribe(subscriber.clone(), s)
            }
        };
        if market.send(event).await.is_err() {
            return;
        }
    }
}

fn answer(subscriber: &Subscriber, reason: ErrorReason) {
    subscriber.with_outbox(|o| o.answer(&Message::Error(reason)));
}

/// Writes what the subscriber has, a chunk at a time, until it is to close; then a close
/// frame.
async fn write(mut socket: OwnedWriteHalf, subscriber: Arc<Subscriber>, metrics: MarketMetrics) {
    let mut out = Vec::with_capacity(WRITE_CHUNK);
    loop {
        out.clear();
        match subscriber.next(&mut out, |text, out| {
            frame(OpCode::Data(Data::Text), text, out)
        }) {
            Next::Write { messages, bytes } => {
                if let Err(e) = guarded(socket.write_all(&out), &subscriber).await {
                    if matches!(e, Blocked::Slow) {
                        metrics.slow_consumer();
                    }
                    return;
                }
                metrics.sent(messages, bytes);
            }
            Next::Wait => subscriber.woken().await,
            Next::Close { slow } => {
                if slow {
                    metrics.slow_consumer();
                }
                out.clear();
                frame(OpCode::Control(Control::Close), &[], &mut out);
                let _ = socket.write_all(&out).await;
                return;
            }
        }
    }
}

/// Appends `payload` as one frame: the header as the protocol crate formats it (unmasked,
/// as a server's frames are), then the payload.
fn frame(opcode: OpCode, payload: &[u8], out: &mut Vec<u8>) {
    let header = FrameHeader {
        opcode,
        ..FrameHeader::default()
    };
    // Formatting into a `Vec` cannot fail.
    let _ = header.format(payload.len() as u64, out);
    out.extend_from_slice(payload);
}

/// The socket as the protocol layer sees it: it reads the socket's read half, and what it
/// writes (whole frames: pongs) goes to the subscriber's writer, which owns the write half
/// and writes them between whole messages.
struct Protocol {
    read: OwnedReadHalf,
    subscriber: Arc<Subscriber>,
}

impl AsyncRead for Protocol {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.read).poll_read(cx, buf)
    }
}

impl AsyncWrite for Protocol {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        frames: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        // All of it at once: the protocol layer hands over whole frames, and so the writer
        // never gets half of one.
        self.subscriber.control(frames);
        Poll::Ready(Ok(frames.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Why the writer stops before the outbox says so.
enum Blocked {
    /// The socket failed.
    Io,
    /// The outbox turned slow while the socket was full, and stayed full.
    Slow,
}

/// Runs the socket write `io`. If the outbox turns slow meanwhile (its socket took nothing
/// while it filled past its cap), the write gets [`CLOSE_GRACE`] more to finish (then the
/// `slow consumer` error goes out next) before the socket is given up.
async fn guarded<E>(
    io: impl std::future::Future<Output = Result<(), E>>,
    subscriber: &Subscriber,
) -> Result<(), Blocked> {
    tokio::pin!(io);
    let done = tokio::select! {
        done = &mut io => done,
        () = subscriber.slowed() => match tokio::time::timeout(CLOSE_GRACE, &mut io).await {
            Ok(done) => done,
            Err(_) => return Err(Blocked::Slow),
        },
    };
    done.map_err(|_| Blocked::Io)
}
