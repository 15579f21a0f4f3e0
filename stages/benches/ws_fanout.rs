//! WebSocket fan-out, in one run:
//!
//! 1. The library choice for `GET /ws` (issue 19): the same minimal broadcast server on
//!    `tokio-tungstenite` and on `fastwebsockets` (both through hyper's upgrade). 100
//!    subscribers each receive every one of `MESSAGES` 20-byte text frames. `batched`: each
//!    server writes what is queued for a socket, then flushes once it has nothing more (as the
//!    market-data writer does); `per message`: it writes and flushes each message on its own
//!    (one syscall each: the libraries' own per-frame cost).
//! 2. sedaflow's own WebSocket path against that minimal `tokio-tungstenite` broadcast server
//!    (batched), both sending the same trade messages: in the server (in-process), one
//!    market order sweeps `MESSAGES` resting orders, and the `market` stage encodes each trade
//!    once and fans it out to the 100 subscribers' outboxes, whose writer tasks send them;
//!    timed from that order to the last subscriber's last trade.
//!
//! Prints messages delivered per second (summed over the subscribers), best of `ROUNDS`
//! alternating rounds, and the ratios.
//!
//! `cargo bench -p sedaflow-stages --bench ws_fanout [-- trades]` (`trades`: the second
//! comparison only)

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
use sedaflow_stages::{Server, ServerConfig};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{broadcast, Barrier};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

const SUBSCRIBERS: usize = 100;
const MESSAGES: usize = 20_000;
const ROUNDS: usize = 3;
/// A subscriber that receives nothing for this long has stalled: the run fails at once rather
/// than when the server's idle timeout closes the socket.
const STALL: Duration = Duration::from_secs(30);
/// The resting sells sent before their answers are read: a burst of all 20,000 trips admission
/// control on a busy machine again and again.
const BURST: usize = 1_000;
const PAYLOAD: &[u8; 20] = b"{\"type\":\"x\",\"n\":123}";
/// A trade message as the server sends it (the same length, give or take a digit).
const TRADE: &[u8] = br#"{"type":"trade","symbol":"WS0","match":10000,"price":"10","qty":1,"taker":"buy","time":1765000000000}"#;

#[derive(Clone, Copy, Debug)]
enum Library {
    Tungstenite,
    FastWebSockets,
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let libraries = !std::env::args().skip(1).any(|a| a == "trades");
    for batched in [true, false].into_iter().filter(|_| libraries) {
        let mut best = [0.0f64; 2];
        for round in 0..ROUNDS {
            for (i, library) in [Library::Tungstenite, Library::FastWebSockets]
                .into_iter()
                .enumerate()
            {
                let rate = runtime.block_on(run(library, batched, PAYLOAD));
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
    let server = start_server();
    let mut best = [0.0f64; 2];
    for round in 0..ROUNDS {
        let ours = runtime.block_on(run_sedaflow(&server, round));
        println!("round {round} sedaflow /ws: {ours:.0} msg/s");
        let minimal = runtime.block_on(run(Library::Tungstenite, true, TRADE));
        println!("round {round} minimal tokio-tungstenite: {minimal:.0} msg/s");
        best = [best[0].max(ours), best[1].max(minimal)];
    }
    println!(
        "ws_fanout trades, {SUBSCRIBERS} subscribers x {MESSAGES} x {} B: sedaflow /ws {:.0} msg/s, \
         minimal tokio-tungstenite broadcast {:.0} msg/s, ratio sedaflow/minimal {:.2}",
        TRADE.len(),
        best[0],
        best[1],
        best[0] / best[1]
    );
    server.shutdown(Duration::from_secs(5));
}

/// The order server in-process on free loopback ports (one per run: metrics are
/// process-wide).
fn start_server() -> Server {
    let mut config = ServerConfig::default();
    for addr in [&mut config.tcp, &mut config.http, &mut config.metrics] {
        *addr = SocketAddr::from(([127, 0, 0, 1], 0));
    }
    Server::start(config).expect("the server starts")
}

/// One round of sedaflow's WebSocket path on a symbol of its own: messages per second.
async fn run_sedaflow(server: &Server, round: usize) -> f64 {
    let symbol = format!("WS{round}");
    // Held open to the end of the round: its orders are the ones swept.
    let _maker = rest_sells(server.tcp_addr(), &symbol).await;
    let ready = Arc::new(Barrier::new(SUBSCRIBERS + 1));
    let subscribe = format!(r#"{{"op":"subscribe","channel":"trades","symbol":"{symbol}"}}"#);
    let clients: Vec<_> = (0..SUBSCRIBERS)
        .map(|_| {
            let first = Some(subscribe.clone());
            tokio::spawn(receive(server.http_addr(), first, ready.clone()))
        })
        .collect();
    ready.wait().await;
    let (mut taker, mut answers) = order_connection(server.tcp_addr()).await;
    let mut id = 1;
    // Timed from the sweep that matching took (a refused one traded nothing).
    let start = loop {
        let start = Instant::now();
        let sweep = format!(
            "{{\"op\":\"market\",\"id\":{id},\"symbol\":\"{symbol}\",\"side\":\"buy\",\"qty\":{MESSAGES}}}\n"
        );
        taker.write_all(sweep.as_bytes()).await.expect("write");
        let answer = answers.next_line().await.expect("read").expect("an answer");
        if admitted(&answer) {
            break start;
        }
        id += 1;
    };
    for client in clients {
        client.await.expect("client");
    }
    (SUBSCRIBERS * MESSAGES) as f64 / start.elapsed().as_secs_f64()
}

type Lines = tokio::io::Lines<BufReader<tokio::net::tcp::OwnedReadHalf>>;

/// Whether the order `answer` answers was admitted (`ack`), or refused as `overloaded`:
/// admission control, which a burst of 20,000 orders on a busy machine trips, so the order is
/// to be sent again under the next id. Orders missing from the book would leave every
/// subscriber waiting for trades that never happen.
///
/// # Panics
///
/// On any other answer.
fn admitted(answer: &str) -> bool {
    if answer.contains(r#""reason":"overloaded""#) {
        return false;
    }
    assert!(
        answer.contains(r#""type":"ack""#),
        "an order was refused: {answer}"
    );
    true
}

/// Rests `MESSAGES` sells of one lot on `symbol` from a connection of their own, which it
/// returns, `BURST` at a time; the [refused](admitted) are sent again.
async fn rest_sells(addr: SocketAddr, symbol: &str) -> (tokio::net::tcp::OwnedWriteHalf, Lines) {
    let (mut maker, mut lines) = order_connection(addr).await;
    let (mut next_id, mut rested, mut refused) = (1, 0, 0);
    while rested < MESSAGES {
        let burst = (MESSAGES - rested).min(BURST);
        let mut sells = String::new();
        for id in next_id..next_id + burst {
            sells.push_str(&format!(
                r#"{{"op":"limit","id":{id},"symbol":"{symbol}","side":"sell","price":"10","qty":1}}"#
            ));
            sells.push('\n');
        }
        maker.write_all(sells.as_bytes()).await.expect("write");
        next_id += burst;
        for _ in 0..burst {
            let answer = lines.next_line().await.expect("read").expect("an answer");
            if admitted(&answer) {
                rested += 1;
            } else {
                refused += 1;
            }
        }
    }
    if refused > 0 {
        println!("{symbol}: {refused} resting sells refused as overloaded, sent again");
    }
    (maker, lines)
}

async fn order_connection(addr: SocketAddr) -> (tokio::net::tcp::OwnedWriteHalf, Lines) {
    let (read, write) = TcpStream::connect(addr)
        .await
        .expect("connect")
        .into_split();
    (write, BufReader::new(read).lines())
}

/// One round: a server, its subscribers, every message to every one; messages per second.
/// One round: a server, its subscribers, every message to every one; messages per second.
async fn run(library: Library, batched: bool, payload: &'static [u8]) -> f64 {
    let (tx, _) = broadcast::channel::<Bytes>(MESSAGES + 1);
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(serve(listener, tx.clone(), library, batched));
    let ready = Arc::new(Barrier::new(SUBSCRIBERS + 1));
    let clients: Vec<_> = (0..SUBSCRIBERS)
        .map(|_| tokio::spawn(receive(addr, None, ready.clone())))
        .collect();
    ready.wait().await;
    while tx.receiver_count() < SUBSCRIBERS {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let start = Instant::now();
    for _ in 0..MESSAGES {
        let _ = tx.send(Bytes::from_static(payload));
    }
    for client in clients {
        client.await.expect("client");
    }
    let took = start.elapsed();
    server.abort();
    (SUBSCRIBERS * MESSAGES) as f64 / took.as_secs_f64()
}

/// A subscriber: connects, sends `first` (and reads its answer) if any, then counts
/// `MESSAGES` text frames.
async fn receive(addr: SocketAddr, first: Option<String>, ready: Arc<Barrier>) {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
        .await
        .expect("connect");
    if let Some(first) = first {
        ws.send(Message::text(first)).await.expect("subscribe");
        match ws.next().await {
            Some(Ok(Message::Text(answer))) if answer.contains("subscribed") => {}
            other => panic!("not subscribed: {other:?}"),
        }
    }
    ready.wait().await;
    let mut received = 0;
    while received < MESSAGES {
        let Ok(next) = tokio::time::timeout(STALL, ws.next()).await else {
            panic!("subscriber stalled: {received} of {MESSAGES} received, nothing for {STALL:?}");
        };
        match next {
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
