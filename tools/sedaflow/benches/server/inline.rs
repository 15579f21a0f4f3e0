//! The server benchmark's baseline order server: what a competent engineer writes with plain
//! tokio and no engine. One task per connection reads a chunk, decodes every request in it
//! (the codec's decoder, whose one-pass flat scanner takes nearly every line), matches each
//! on its symbol's book, encodes the answers, and writes all pending output with one
//! `try_write`; no stages, queues or pools in between.
//!
//! It speaks the same protocol as the staged server (v1: `limit`, `market`, `cancel`,
//! `ping`), so the load generator can be pointed at either and the difference is what the
//! staging costs or buys; `inline_http.rs` is its HTTP order entry on the same books. It is
//! a module of the benchmark, not a library:
//! `tests/protocol_inline_server.rs` and `tests/loadgen_inline.rs` compile it in by path to
//! prove it speaks PROTOCOL.md and answers the load generator.
//!
//! # Ordering
//!
//! Each symbol's book sits behind its own lock ([`market`]), so requests on different
//! symbols run in parallel. A connection's own requests run in order on its own task, so
//! its id floor (the highest id it had accepted) is plain task state. While a request
//! holds its book's lock, the reports it causes for its own connection are encoded onto
//! that connection's output, and those for other connections (the resting side's fills, a
//! cancelled order's `done`) are appended, encoded, to the owner's [`outbox`]. Before each
//! request the connection moves its outbox to its output under the same lock, so every
//! connection sees each book's reports in book order, and all of a request's answers come
//! before the next request's.
//!
//! # Backpressure
//!
//! A connection stops reading once its unwritten output reaches [`HIGH_WATER`] and reads
//! again below it, so a client that stops reading stops being served; its outbox is then
//! no longer emptied either, and when reports from other connections push it past
//! [`HARD_CAP`](outbox::HARD_CAP) the connection is closed and what it was owed is discarded. Reports for
//! closed connections are discarded; their resting orders stay on the book.
//!
//! # Shutdown
//!
//! When `shutdown` completes the listener closes; each connection finishes the chunk it
//! is working on, writes what it owes and closes, within
//! [`SHUTDOWN_GRACE`](accept::SHUTDOWN_GRACE). A client's half-close is answered the same
//! way.

use std::collections::hash_map::{Entry, HashMap};
use std::future::Future;
use std::io;
use std::sync::{Arc, Mutex};

use sedaflow_stages::codec::{decode_request, encode_line, LineFramer, Response};
use sedaflow_stages::matching::{OrderId, Owner, RejectReason, ReportKind, Request, Symbol};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{ReadHalf, WriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

#[path = "accept.rs"]
pub mod accept;
#[path = "market.rs"]
pub mod market;
#[path = "outbox.rs"]
mod outbox;

use accept::accept_until;
use market::{Market, Markets};
use outbox::{Outbox, Taken};

/// Unwritten output at which a connection stops reading (the staged server's default
/// write high watermark).
pub const HIGH_WATER: usize = 256 * 1024;
/// Bytes read from a socket at a time.
const READ_CHUNK: usize = 64 * 1024;

/// Serves the order protocol on `listener` until `shutdown` completes, decoding,
/// matching and encoding inline in one task per connection on the books of `markets`.
///
/// # Errors
///
/// An accept error other than a transient one (see [`accept_until`]).
pub async fn run_inline(
    listener: TcpListener,
    markets: Arc<Markets>,
    shutdown: impl Future,
) -> io::Result<()> {
    accept_until(listener, shutdown, |stream, stopped| {
        Connection::new(markets.owner(), Arc::clone(&markets)).serve(stream, stopped)
    })
    .await
}

/// A book this connection has used.
struct Joined {
    market: Arc<Mutex<Market>>,
    /// Whether the connection's outbox is reachable from the book: from its first order
    /// there, since only then can it own a resting order there.
    member: bool,
}

/// How a connection's serving ended.
enum End {
    /// End of input, a read error or shutdown: write what is owed, then close.
    Drain,
    /// A write failed or the outbox overflowed: close at once.
    Drop,
}

/// One client connection's state, owned by its task.
struct Connection {
    owner: Owner,
    markets: Arc<Markets>,
    outbox: Arc<Outbox>,
    /// The books used so far, so the shared map is consulted once per symbol.
    books: HashMap<Symbol, Joined>,
    /// The highest order id this connection has had accepted.
    floor: OrderId,
    /// Encoded responses not yet written.
    out: Vec<u8>,
    /// The outbox overflowed: the connection is closed.
    overflowed: bool,
}

impl Connection {
    fn new(owner: Owner, markets: Arc<Markets>) -> Connection {
        Connection {
            owner,
            markets,
            outbox: Arc::new(Outbox::default()),
            books: HashMap::new(),
            floor: 0,
            out: Vec::new(),
            overflowed: false,
        }
    }

    async fn serve(mut self, mut stream: TcpStream, stopped: watch::Receiver<bool>) {
        // Small responses go out at once, as the staged server's do.
        let _ = stream.set_nodelay(true);
        let (mut reader, writer) = stream.split();
        let end = self.run(&mut reader, &writer, stopped).await;
        // Nothing more reaches the outbox once it left every book; what is in it is owed.
        self.leave();
        if let End::Drain = end {
            self.take_outbox();
            if !self.overflowed && stream.write_all(&self.out).await.is_ok() {
                let _ = stream.shutdown().await;
            }
        }
    }

    /// Reads, answers and writes until the connection ends.
    async fn run(
        &mut self,
        reader: &mut ReadHalf<'_>,
        writer: &WriteHalf<'_>,
        mut stopped: watch::Receiver<bool>,
    ) -> End {
        let outbox = Arc::clone(&self.outbox);
        let mut framer = LineFramer::new();
        let mut buf = vec![0; READ_CHUNK];
        loop {
            if self.out.len() < HIGH_WATER {
                self.take_outbox();
            }
            if self.overflowed || self.try_flush(writer).is_err() {
                return End::Drop;
            }
            let room = self.out.len() < HIGH_WATER;
            tokio::select! {
                // Requests first: reports that arrived meanwhile go out with their answers.
                biased;
                // `read`, not `try_read`: a short read tells tokio the socket is drained,
                // which saves a `recv` that would only say so.
                read = reader.read(&mut buf), if room => match read {
                    Ok(0) | Err(_) => return End::Drain,
                    Ok(len) => {
                        framer.push(&buf[..len]);
                        while let Some(frame) = framer.next_frame() {
                            self.handle(frame.map_err(Response::from));
                        }
                    }
                },
                // The next turn writes.
                ready = writer.writable(), if !self.out.is_empty() => {
                    if ready.is_err() {
                        return End::Drop;
                    }
                }
                // Let the other connections' tasks that are ready run first, so the reports
                // they add go out in the same write; the next turn takes them.
                () = outbox.arrived(), if room => tokio::task::yield_now().await,
                _ = stopped.changed() => return End::Drain,
            }
        }
    }

    /// Writes what the socket takes now, without waiting.
    fn try_flush(&mut self, writer: &WriteHalf<'_>) -> io::Result<()> {
        if self.out.is_empty() {
            return Ok(());
        }
        match writer.try_write(&self.out) {
            Ok(0) => Err(io::ErrorKind::WriteZero.into()),
            Ok(len) => {
                self.out.drain(..len);
                Ok(())
            }
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// Answers one frame (or the frame error in its place).
    fn handle(&mut self, frame: Result<&[u8], Response>) {
        let request = match frame.and_then(|bytes| decode_request(bytes).map_err(Response::from)) {
            Ok(Request::Ping) => return self.respond(Response::Pong),
            Ok(request) => request,
            Err(response) => return self.respond(response),
        };
        let (Some(symbol), Some(id)) = (request.symbol(), request.id()) else {
            return;
        };
        let is_order = !matches!(request, Request::Cancel { .. });
        let Some(joined) = book(&mut self.books, &self.markets, symbol, is_order) else {
            // A cancel on a symbol that never had an order.
            let reason = RejectReason::UnknownOrder;
            return self.respond(Response::Report(ReportKind::Reject { id, reason }));
        };
        let mut market = Market::lock(&joined.market);
        if is_order && !joined.member {
            market.join(self.owner, &self.outbox);
            joined.member = true;
        }
        // Reports this book gave other requests for this connection come first.
        if self.outbox.take_into(&mut self.out) == Taken::Overflowed {
            self.overflowed = true;
        }
        let outcome = market.submit(self.owner, &request, self.floor, &mut self.out);
        drop(market);
        if outcome.is_accepted() {
            self.floor = id;
        }
    }

    /// Queues a response that no book made, after the reports owed before it.
    fn respond(&mut self, response: Response) {
        self.take_outbox();
        encode_line(&response, &mut self.out);
    }

    fn take_outbox(&mut self) {
        if self.outbox.take_into(&mut self.out) == Taken::Overflowed {
            self.overflowed = true;
        }
    }

    /// Makes the outbox unreachable from every book.
    fn leave(&mut self) {
        for joined in self.books.values().filter(|joined| joined.member) {
            Market::lock(&joined.market).leave(self.owner);
        }
    }
}

/// The book of `symbol` from a connection's own map `books`, else from `markets` (`create`:
/// making it); `None` when there is none and `create` is false.
fn book<'a>(
    books: &'a mut HashMap<Symbol, Joined>,
    markets: &Markets,
    symbol: Symbol,
    create: bool,
) -> Option<&'a mut Joined> {
    Some(match books.entry(symbol) {
        Entry::Occupied(entry) => entry.into_mut(),
        Entry::Vacant(entry) => entry.insert(Joined {
            market: markets.get(symbol, create)?,
            member: false,
        }),
    })
}
