//! The server benchmark's baseline order server: plain tokio, one task per connection that
//! decodes, matches and encodes inline, with no stages, queues or pools in between.
//!
//! It speaks the same protocol as the staged server, so the load generator can be pointed
//! at either and the difference is what the staging costs or buys. It is a module of the
//! benchmark, not a library: `tests/protocol_inline_server.rs` and `tests/loadgen_inline.rs`
//! compile it in by path to prove it speaks PROTOCOL.md and answers the load generator.
//!
//! # Ordering
//!
//! One [`Engine`] is shared by every connection behind one mutex, held for exactly one
//! request. Reports for other connections (the resting side's fills, a cancelled order's
//! `done`) are sent to their connection's unbounded channel while the lock is still held,
//! and a connection takes what its channel holds under the lock before its own next
//! request, so every connection sees its reports in engine order.
//!
//! # Backpressure
//!
//! A connection's responses are written before its next chunk of requests is read, so a
//! client that stops reading stops being served. Reports from other connections queue
//! without bound for it: the baseline has no hard output cap. Reports for closed
//! connections are discarded; their resting orders stay on the book.
//!
//! # Shutdown
//!
//! When `shutdown` completes the listener closes; each connection finishes the chunk it
//! is working on, writes what it owes and closes, within [`SHUTDOWN_GRACE`].

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use sedaflow_stages::codec::{decode_request, encode_line, LineFramer, Response};
use sedaflow_stages::matching::{Engine, OrderId, Owner, Report, ReportKind, Request};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// How long connections get to finish after `shutdown` before they are dropped.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// Bytes read from a socket at a time.
const READ_CHUNK: usize = 64 * 1024;
/// Pause after an accept failure for lack of file descriptors, so it does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(10);

/// The book and who can be reached, behind one lock.
#[derive(Default)]
struct Exchange {
    engine: Engine,
    peers: HashMap<Owner, UnboundedSender<ReportKind>>,
    /// Scratch for one request's reports, kept for its capacity.
    reports: Vec<Report>,
}

struct Shared {
    exchange: Mutex<Exchange>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Exchange> {
        // Every update under the lock is one engine call: the state is usable after a
        // panic elsewhere.
        self.exchange.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Serves the order protocol on `listener` until `shutdown` completes, decoding,
/// matching and encoding inline in one task per connection.
///
/// # Errors
///
/// An accept error other than a transient one (aborted connection, interrupted call,
/// out of file descriptors, which are waited out).
pub async fn run_inline(listener: TcpListener, shutdown: impl Future) -> io::Result<()> {
    let shared = Arc::new(Shared {
        exchange: Mutex::new(Exchange::default()),
    });
    let (stop, stopped) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut next_owner: Owner = 1;
    let shutdown = std::pin::pin!(shutdown);
    let mut shutdown = shutdown;
    let result = loop {
        tokio::select! {
            _ = shutdown.as_mut() => break Ok(()),
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let owner = next_owner;
                    next_owner += 1;
                    let (sender, receiver) = mpsc::unbounded_channel();
                    shared.lock().peers.insert(owner, sender);
                    let connection = Connection {
                        owner,
                        shared: Arc::clone(&shared),
                        inbox: receiver,
                        floor: 0,
                        own: Vec::new(),
                        out: Vec::new(),
                    };
                    connections.spawn(connection.serve(stream, stopped.clone()));
                }
                Err(error) if is_transient(&error) => {
                    tracing::warn!(%error, "inline server: accept failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
                Err(error) => break Err(error),
            },
            // Reap finished connections so the set does not grow with every one served.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    };
    drop(listener);
    let _ = stop.send(true);
    let drain = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(SHUTDOWN_GRACE, drain).await.is_err() {
        connections.abort_all();
    }
    result
}

fn is_transient(error: &io::Error) -> bool {
    const EMFILE: i32 = 24;
    const ENFILE: i32 = 23;
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
    ) || matches!(error.raw_os_error(), Some(EMFILE | ENFILE))
}

/// One client connection's state.
struct Connection {
    owner: Owner,
    shared: Arc<Shared>,
    /// Reports for this connection caused by other connections' requests.
    inbox: UnboundedReceiver<ReportKind>,
    /// The highest order id this connection has had accepted.
    floor: OrderId,
    /// Reports owed to this connection, in engine order, not yet encoded.
    own: Vec<ReportKind>,
    /// Encoded responses not yet written.
    out: Vec<u8>,
}

impl Connection {
    async fn serve(mut self, mut stream: TcpStream, mut stopped: watch::Receiver<bool>) {
        // Small responses go out at once, as the staged server's do.
        let _ = stream.set_nodelay(true);
        let mut framer = LineFramer::new();
        let mut buf = vec![0; READ_CHUNK];
        loop {
            tokio::select! {
                read = stream.read(&mut buf) => match read {
                    Ok(0) | Err(_) => break,
                    Ok(len) => {
                        framer.push(&buf[..len]);
                        while let Some(frame) = framer.next_frame() {
                            self.handle(frame.map_err(Response::from));
                        }
                    }
                },
                Some(kind) = self.inbox.recv() => {
                    self.own.push(kind);
                    while let Ok(kind) = self.inbox.try_recv() {
                        self.own.push(kind);
                    }
                }
                _ = stopped.changed() => break,
            }
            self.encode_own();
            if stream.write_all(&self.out).await.is_err() {
                self.leave();
                return;
            }
            self.out.clear();
        }
        // Nothing more reaches the inbox once unregistered; what is in it is still owed.
        self.leave();
        while let Ok(kind) = self.inbox.try_recv() {
            self.own.push(kind);
        }
        self.encode_own();
        if stream.write_all(&self.out).await.is_ok() {
            let _ = stream.shutdown().await;
        }
    }

    /// Answers one frame (or the frame error in its place).
    fn handle(&mut self, frame: Result<&[u8], Response>) {
        let request = match frame.and_then(|bytes| decode_request(bytes).map_err(Response::from)) {
            Ok(Request::Ping) => {
                self.respond(Response::Pong);
                return;
            }
            Ok(request) => request,
            Err(response) => {
                self.respond(response);
                return;
            }
        };
        let mut exchange = self.shared.lock();
        let exchange = &mut *exchange;
        // Reports other connections caused before this request come first.
        while let Ok(kind) = self.inbox.try_recv() {
            self.own.push(kind);
        }
        let outcome =
            exchange
                .engine
                .submit(self.owner, &request, self.floor, &mut exchange.reports);
        for report in exchange.reports.drain(..) {
            if report.to == self.owner {
                self.own.push(report.kind);
            } else if let Some(peer) = exchange.peers.get(&report.to) {
                // A peer that just closed drops it: reports to closed connections are
                // discarded.
                let _ = peer.send(report.kind);
            }
        }
        if outcome.is_accepted() {
            if let Some(id) = request.id() {
                self.floor = id;
            }
        }
    }

    /// Queues a response that is not an engine report, after the reports owed before it.
    fn respond(&mut self, response: Response) {
        self.encode_own();
        encode_line(&response, &mut self.out);
    }

    fn encode_own(&mut self) {
        for kind in self.own.drain(..) {
            encode_line(&Response::Report(kind), &mut self.out);
        }
    }

    fn leave(&self) {
        self.shared.lock().peers.remove(&self.owner);
    }
}
