use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::{Bytes, Message};
use tokio_tungstenite::WebSocketStream;

use sedaflow_stages::matching::Symbol;

use super::check::{Checker, Final, Seen};
use super::summary::MarketTally;
use crate::LoadgenError;

/// How long a connection and its handshake may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// A subscriber pings this often, so a server's idle timeout never closes it.
const PING_EVERY: Duration = Duration::from_secs(20);
/// How long a subscriber may take to reach the final state once it is known (reading
/// what the server still holds for it).
pub(crate) const FINAL_WAIT: Duration = Duration::from_secs(30);
/// How long closing the socket may take.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

pub(crate) type Socket = WebSocketStream<TcpStream>;

/// The final state of every symbol, once the order load has stopped and the feed is quiet.
pub(crate) type Finals = watch::Receiver<Option<Arc<[Final]>>>;

/// Opens subscriber `index`'s socket to `ws://http/ws` (`TCP_NODELAY`).
pub(crate) async fn connect(http: SocketAddr, index: usize) -> Result<Socket, LoadgenError> {
    let connect_error = |source| LoadgenError::Connect { addr: http, source };
    let timed_out = || connect_error(std::io::ErrorKind::TimedOut.into());
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(http))
        .await
        .map_err(|_| timed_out())?
        .map_err(connect_error)?;
    stream.set_nodelay(true).map_err(connect_error)?;
    let handshake = tokio_tungstenite::client_async(format!("ws://{http}/ws"), stream);
    let (socket, _) = tokio::time::timeout(CONNECT_TIMEOUT, handshake)
        .await
        .map_err(|_| timed_out())?
        .map_err(|source| LoadgenError::WebSocket {
            subscriber: index,
            source,
        })?;
    Ok(socket)
}

/// Subscribes `socket` to `depth` and `trades` of every symbol, then reads and checks what
/// comes: says `ready` once every snapshot is in, and ends once `finals` is known and
/// reached (or [`FINAL_WAIT`] later), when the server closes the socket, or when the run
/// drops `finals`' sender.
///
/// # Errors
///
/// [`LoadgenError::WebSocket`] when the subscriptions cannot be sent.
pub(crate) async fn run(
    index: usize,
    mut socket: Socket,
    symbols: Vec<Symbol>,
    ready: mpsc::Sender<()>,
    mut finals: Finals,
) -> Result<MarketTally, LoadgenError> {
    let failed = |source| LoadgenError::WebSocket {
        subscriber: index,
        source,
    };
    for symbol in &symbols {
        for channel in ["depth", "trades"] {
            let text = format!(
                r#"{{"op":"subscribe","channel":"{channel}","symbol":"{}"}}"#,
                symbol.as_str()
            );
            socket.feed(Message::text(text)).await.map_err(failed)?;
        }
    }
    socket.flush().await.map_err(failed)?;

    let mut checker = Checker::new(&symbols);
    let mut ready = Some(ready);
    let mut ping = tokio::time::interval_at(Instant::now() + PING_EVERY, PING_EVERY);
    let mut end: Option<Arc<[Final]>> = None;
    let mut deadline = Instant::now();
    let open = 'read: loop {
        if end.as_deref().is_some_and(|f| checker.reached(f)) {
            break true;
        }
        tokio::select! {
            frame = socket.next() => {
                // The frames already read take no new round of this select: a subscriber
                // that falls behind reads its socket's backlog in long runs, stamped with
                // one clock reading per run.
                let now = unix_now_ns();
                let mut frame = frame;
                loop {
                    if let Some(open) = take(&mut checker, frame, now) {
                        break 'read open;
                    }
                    if ready.is_some() && checker.ready() {
                        // The run may have stopped waiting; it then ends this task anyway.
                        let _ = ready.take().map(|r| r.try_send(()));
                    }
                    match socket.next().now_or_never() {
                        Some(next) => frame = next,
                        None => break,
                    }
                }
            }
            _ = ping.tick() => {
                if socket.send(Message::Ping(Bytes::new())).await.is_err() {
                    checker.cut();
                    break false;
                }
            }
            changed = finals.changed(), if end.is_none() => {
                if changed.is_err() {
                    break false;
                }
                end = finals.borrow().clone();
                deadline = Instant::now() + FINAL_WAIT;
            }
            () = tokio::time::sleep_until(deadline), if end.is_some() => break true,
        }
    };
    if open {
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, socket.close(None)).await;
    }
    Ok(checker.finish(if open { end.as_deref() } else { None }))
}

/// Checks one frame from the socket; `Some(open)` when the subscriber ends with it (`slow
/// consumer`, or the socket failed or closed).
fn take(
    checker: &mut Checker,
    frame: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
    now_ns: u64,
) -> Option<bool> {
    match frame {
        Some(Ok(Message::Text(text))) => {
            (checker.frame(text.as_str(), now_ns) == Seen::SlowConsumer).then_some(false)
        }
        Some(Ok(Message::Binary(_))) => {
            checker.not_text();
            None
        }
        Some(Ok(_)) => None,
        Some(Err(_)) | None => {
            checker.cut();
            Some(false)
        }
    }
}

/// The wall clock in nanoseconds since the Unix epoch, the base of each trade's `time`.
fn unix_now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos() as u64)
}
