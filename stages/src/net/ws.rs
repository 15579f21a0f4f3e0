//! WebSocket `GET /ws` (RFC 6455, through hyper's upgrade and `tokio-tungstenite`): one
//! market-data subscriber per socket.
//!
//! A socket's reader parses each text (or binary) frame with
//! [`parse_client_message`]: errors are answered into its outbox at once, subscriptions go to
//! the market-data stage that owns the symbol. Its writer pops the outbox one message at a
//! time and writes each as a text frame; pings are answered by the protocol layer.
//!
//! # Backpressure
//! The outbox counts what is queued and not yet popped; beyond it the writer holds at most
//! [`WRITE_BUFFER`] bytes in the protocol layer before it waits for the socket. An outbox
//! that passed its cap holds only the `slow consumer` error: the writer writes it and closes.
//!
//! # Shutdown
//! A socket closes when the client closes it, when it sent nothing (not even a ping) for
//! `limits.idle_timeout`, when it is slow, or when the server stops; the writer writes what
//! is queued (for at most [`CLOSE_GRACE`]) and sends a close frame, and the stage forgets the
//! socket's subscriptions.

use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderMap, HeaderValue, CONNECTION, SEC_WEBSOCKET_ACCEPT, UPGRADE};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use rustc_hash::FxHashSet;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Message as Frame, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;

use super::http::reply;
use super::loops::Pinned;
use super::market::Market;
use crate::config::Limits;
use crate::internal_events::MarketMetrics;
use crate::market::{
    parse_client_message, ClientMessage, ErrorReason, Message, Subscription, MAX_SUBSCRIPTIONS,
};
use crate::pipeline::{MarketIn, Next, Subscriber};

/// Bytes the writer may hand the protocol layer before it writes them to the socket.
pub(crate) const WRITE_BUFFER: usize = 64 * 1024;

/// How long a closing socket's writer may take to write what is queued.
pub(crate) const CLOSE_GRACE: Duration = Duration::from_secs(1);

type Socket = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// Answers the upgrade request: `101` and the socket served from then on, or `400` when the
/// request is not a WebSocket handshake. The session runs on `control`, off the event loops:
/// a subscriber's fan-out must not take a loop's time from the order connections on it (they
/// would be shed at the read for it). Its socket stays registered with the loop the HTTP
/// connection is pinned to, which it keeps pinned (`pinned`) until it ends.
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
        match hyper::upgrade::on(req).await {
            Ok(upgraded) => {
                let config = WebSocketConfig::default()
                    .max_message_size(Some(max_frame))
                    .max_frame_size(Some(max_frame))
                    .write_buffer_size(WRITE_BUFFER);
                let io = TokioIo::new(upgraded);
                let socket = WebSocketStream::from_raw_socket(io, Role::Server, Some(config)).await;
                serve(socket, &market, idle, stop).await;
            }
            Err(e) => tracing::debug!(error = %e, "websocket upgrade failed"),
        }
        drop(pinned);
    });
    let mut response = reply(StatusCode::SWITCHING_PROTOCOLS, Vec::new());
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

/// Serves one socket until it closes; then the stage forgets its subscriptions.
async fn serve(
    socket: Socket,
    market: &Arc<Market>,
    idle: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let metrics = market.metrics().clone();
    metrics.subscriber(true);
    let (sink, stream) = socket.split();
    let subscriber = market.subscriber();
    let mut writer = tokio::spawn(write(sink, subscriber.clone(), metrics.clone()));
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
    mut stream: SplitStream<Socket>,
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

/// Writes the outbox, what is queued at each turn then one flush, until it is to close.
async fn write(
    mut sink: SplitSink<Socket, Frame>,
    subscriber: Arc<Subscriber>,
    metrics: MarketMetrics,
) {
    let mut taken = Vec::new();
    loop {
        let next = subscriber.next(&mut taken);
        let written = match next {
            Next::Write => {
                let io = feed(&mut sink, &mut taken, &metrics);
                guarded(io, &subscriber).await
            }
            Next::Wait => match guarded(sink.flush(), &subscriber).await {
                Ok(()) => {
                    subscriber.woken().await;
                    Ok(())
                }
                Err(e) => Err(e),
            },
            Next::Close { slow } => {
                if slow {
                    metrics.slow_consumer();
                }
                let _ = sink.send(Frame::Close(None)).await;
                let _ = sink.close().await;
                return;
            }
        };
        if let Err(e) = written {
            if matches!(e, Blocked::Slow) {
                metrics.slow_consumer();
            }
            return;
        }
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

/// Hands `taken` (emptied) to the socket's write buffer.
async fn feed(
    sink: &mut SplitSink<Socket, Frame>,
    taken: &mut Vec<Utf8Bytes>,
    metrics: &MarketMetrics,
) -> Result<(), tokio_tungstenite::tungstenite::Error> {
    let (count, bytes) = (taken.len(), taken.iter().map(|t| t.len()).sum());
    for text in taken.drain(..) {
        sink.feed(Frame::Text(text)).await?;
    }
    metrics.sent(count, bytes);
    Ok(())
}
