//! WebSocket fan-out, the library choice for `GET /ws` (issue 19): the same minimal
//! broadcast server on `tokio-tungstenite` and on `fastwebsockets` (both through hyper's
//! upgrade), in one run. 100 subscribers each receive every one of `MESSAGES` 20-byte text
//! frames. `batched`: each server writes what is queued for a socket, then flushes once it
//! has nothing more (as the market-data writer does); `per message`: it writes and flushes
//! each message on its own (one syscall each: the libraries' own per-frame cost). Prints
//! messages delivered per second (summed over the subscribers) per library and mode, best of
//! `ROUNDS` alternating rounds, and their ratio.
//!
//! `cargo bench -p sedaflow-stages --bench ws_fanout`

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http_body_util::Empty;
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{broadcast, Barrier};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

const SUBSCRIBERS: usize = 100;
const MESSAGES: usize = 20_000;
const ROUNDS: usize = 3;
const PAYLOAD: &[u8; 20] = b"{\"type\":\"x\",\"n\":123}";

#[derive(Clone, Copy, Debug)]
enum Library {
    Tungstenite,
    FastWebSockets,
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    for batched in [true, false] {
        let mut best = [0.0f64; 2];
        for round in 0..ROUNDS {
            for (i, library) in [Library::Tungstenite, Library::FastWebSockets]
                .into_iter()
                .enumerate()
            {
                let rate = runtime.block_on(run(library, batched));
                println!("round {round} {library:?} batched={batched}: {rate:.0} msg/s");
                best[i] = best[i].max(rate);
            }
        }
        let mode = if batched { "batched" } else { "per message" };
        println!(
            "ws_fanout {mode}, {SUBSCRIBERS} subscribers x {MESSAGES} x 20 B: tokio-tungstenite \
             {:.0} msg/s, fastwebsockets {:.0} msg/s, ratio tungstenite/fastwebsockets {:.2}",
            best[0],
            best[1],
            best[0] / best[1]
        );
    }
}

/// One round: a server, its subscribers, every message to every one; messages per second.
async fn run(library: Library, batched: bool) -> f64 {
    let (tx, _) = broadcast::channel::<Bytes>(MESSAGES + 1);
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(serve(listener, tx.clone(), library, batched));
    let ready = Arc::new(Barrier::new(SUBSCRIBERS + 1));
    let clients: Vec<_> = (0..SUBSCRIBERS)
        .map(|_| tokio::spawn(subscribe(addr, ready.clone())))
        .collect();
    ready.wait().await;
    while tx.receiver_count() < SUBSCRIBERS {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let start = Instant::now();
    for _ in 0..MESSAGES {
        let _ = tx.send(Bytes::from_static(PAYLOAD));
    }
    for client in clients {
        client.await.expect("client");
    }
    let took = start.elapsed();
    server.abort();
    (SUBSCRIBERS * MESSAGES) as f64 / took.as_secs_f64()
}

async fn subscribe(addr: SocketAddr, ready: Arc<Barrier>) {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
        .await
        .expect("connect");
    ready.wait().await;
    let mut received = 0;
    while received < MESSAGES {
        match ws.next().await {
            Some(Ok(Message::Text(_))) => received += 1,
            Some(Ok(_)) => {}
            other => panic!("subscriber ended early: {other:?}"),
        }
    }
    let _ = ws.close(None).await;
}

async fn serve(
    listener: TcpListener,
    tx: broadcast::Sender<Bytes>,
    library: Library,
    batched: bool,
) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let tx = tx.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let rx = tx.subscribe();
                async move { Ok::<_, Infallible>(upgrade(req, rx, library, batched)) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades()
                .await;
        });
    }
}

fn upgrade(
    mut req: Request<Incoming>,
    rx: broadcast::Receiver<Bytes>,
    library: Library,
    batched: bool,
) -> Response<Empty<Bytes>> {
    match library {
        Library::FastWebSockets => {
            let (response, upgrading) =
                fastwebsockets::upgrade::upgrade(&mut req).expect("upgrade");
            tokio::spawn(async move {
                let ws = upgrading.await.expect("upgraded");
                // Buffered, it writes once per flush, as tungstenite does.
                let io = tokio::io::BufWriter::new(ws.into_inner());
                let ws =
                    fastwebsockets::WebSocket::after_handshake(io, fastwebsockets::Role::Server);
                write_fast(ws, rx, batched).await;
            });
            response
        }
        Library::Tungstenite => {
            let key = req.headers()["sec-websocket-key"].as_bytes().to_vec();
            tokio::spawn(async move {
                let upgraded = hyper::upgrade::on(req).await.expect("upgraded");
                let ws =
                    WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None)
                        .await;
                write_tungstenite(ws, rx, batched).await;
            });
            Response::builder()
                .status(101)
                .header("connection", "upgrade")
                .header("upgrade", "websocket")
                .header("sec-websocket-accept", derive_accept_key(&key))
                .body(Empty::new())
                .expect("response")
        }
    }
}

async fn write_tungstenite(
    mut ws: WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>,
    mut rx: broadcast::Receiver<Bytes>,
    batched: bool,
) {
    while let Ok(bytes) = rx.recv().await {
        let text = Message::Text(bytes.try_into().expect("utf-8"));
        if ws.feed(text).await.is_err() {
            return;
        }
        while let Some(bytes) = batched.then(|| rx.try_recv().ok()).flatten() {
            if ws
                .feed(Message::Text(bytes.try_into().expect("utf-8")))
                .await
                .is_err()
            {
                return;
            }
        }
        if ws.flush().await.is_err() {
            return;
        }
    }
}

async fn write_fast<S>(
    mut ws: fastwebsockets::WebSocket<S>,
    mut rx: broadcast::Receiver<Bytes>,
    batched: bool,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use fastwebsockets::{Frame, Payload};
    while let Ok(bytes) = rx.recv().await {
        if ws
            .write_frame(Frame::text(Payload::Borrowed(&bytes)))
            .await
            .is_err()
        {
            return;
        }
        while let Some(bytes) = batched.then(|| rx.try_recv().ok()).flatten() {
            if ws
                .write_frame(Frame::text(Payload::Borrowed(&bytes)))
                .await
                .is_err()
            {
                return;
            }
        }
        if ws.flush().await.is_err() {
            return;
        }
    }
}
