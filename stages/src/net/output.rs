//! A TCP connection's output, written by whichever thread produces it.
//!
//! The encode stage (on a reader's thread, which runs the stages itself, or on a pool thread)
//! files each reply in the reorder buffer and writes what is in order straight
//! to the socket with a non-blocking `try_write`: no hop to a writer task with its wake-up and
//! thread switch. Output waits until the oldest read's answers are all in, so a read's answers
//! leave in one `send`, as an inline server's do. The `send`s come after encode's lane is
//! released ([`sedaflow::Context::after_release`]), so another thread can encode the next
//! batch meanwhile. Only while the socket is full does the connection's writer task take
//! over, waiting until it is writable again.

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::io;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Mutex, MutexGuard};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::Notify;

use super::conn::{Conn, Outgoing};

/// Output held back for a coalesced write goes out anyway past this many bytes.
const COALESCE_LIMIT: usize = 64 * 1024;

pub(crate) struct SocketOut {
    wr: OwnedWriteHalf,
    state: Mutex<State>,
    /// Tells the writer task that the socket is full (it waits for room and flushes) or that
    /// every reply is written (it finishes).
    pub(crate) kick: Notify,
}

#[derive(Default)]
struct State {
    /// Sequence number of the next reply to write.
    next: u64,
    /// Replies that arrived before their turn (other symbols' threads were faster).
    waiting: BTreeMap<u64, (Vec<u8>, Instant)>,
    /// In order, not yet written.
    out: Vec<u8>,
    /// `out`'s previous buffer, reused while a thread writes the current one.
    spare: Vec<u8>,
    /// A thread is writing (outside the lock); others only append.
    writing: bool,
    /// The reader stopped after this many requests.
    end: Option<u64>,
    /// Where each read not yet fully answered ended (request counts, oldest first).
    reads: VecDeque<u64>,
    /// The socket was full: the writer task flushes once it is writable.
    blocked: bool,
    /// The oldest read time among the replies in `out`, for the latency of the next write.
    out_oldest: Option<Instant>,
}

/// What a `put` or `flush` did, for the connection's accounting (done outside the lock).
#[derive(Debug, Default)]
pub(crate) struct Progress {
    /// Bytes written to the socket.
    pub(crate) bytes: usize,
    /// Replies that came into turn.
    pub(crate) replies: u64,
    /// The read time of the oldest reply a write took (its latency is measured once per
    /// write, not per reply).
    pub(crate) written_oldest: Option<Instant>,
    /// The socket failed: the connection is gone.
    pub(crate) failed: bool,
    /// The writer task must act (socket full, or everything answered).
    pub(crate) kick: bool,
    /// Filed bytes that no later answer is certain to carry: they need a write.
    pub(crate) due: bool,
    /// Of those, some answer a read (or end the connection): the client is waiting for them.
    /// Bytes due without it are reports nobody asked for just now (a resting order's fill),
    /// which a network thread may hold for a later write ([`deferring`]).
    pub(crate) awaited: bool,
}

impl SocketOut {
    pub(crate) fn new(wr: OwnedWriteHalf) -> Self {
        SocketOut {
            wr,
            state: Mutex::new(State::default()),
            kick: Notify::new(),
        }
    }

    /// The reader has read `seqs` requests, the last of them in one read. Each will be
    /// answered, and the write of the last answer to the read carries whatever else is
    /// pending.
    pub(crate) fn note_read(&self, seqs: u64) {
        self.state.lock().reads.push_back(seqs);
    }

    /// Files `msg` and says whether its bytes need a write of their own (`Progress::due`);
    /// with `write`, does that write unless the writer task owns the flush.
    ///
    /// Output waits while answers to the oldest unanswered read are still due: the write
    /// of the last of them carries it all (every request is answered, so that write comes).
    /// The answers to one read then leave in one `send`, however many threads and batches
    /// produced them, with any reports for this client, as in an inline server. A full
    /// buffer goes out regardless.
    pub(crate) fn put(&self, msg: Outgoing, write: bool) -> Progress {
        let mut st = self.state.lock();
        let mut p = Progress::default();
        st.file(msg, &mut p);
        self.settle(st, p, write)
    }

    /// Files the reply to request `seq`, encoding it with `encode` straight into the output
    /// when it is in turn (no buffer of its own), then as [`SocketOut::put`]. `admit` is told
    /// its size first; when it refuses (the hard cap), nothing is filed and `None` returned.
    pub(crate) fn put_reply(
        &self,
        seq: u64,
        read_at: Instant,
        encode: impl FnOnce(&mut Vec<u8>),
        admit: impl FnOnce(usize) -> bool,
        write: bool,
    ) -> Option<Progress> {
        let mut st = self.state.lock();
        let mut p = Progress::default();
        if seq == st.next {
            if !st.append(encode, admit) {
                return None;
            }
            st.in_turn(read_at, &mut p);
        } else {
            let mut lines = Vec::with_capacity(128);
            encode(&mut lines);
            if !admit(lines.len()) {
                return None;
            }
            st.waiting.insert(seq, (lines, read_at));
        }
        Some(self.settle(st, p, write))
    }

    /// Files a report for this client (unsequenced: it goes out with the next write), encoding
    /// it with `encode` straight into the output; `admit` as in [`SocketOut::put_reply`].
    pub(crate) fn put_notice(
        &self,
        encode: impl FnOnce(&mut Vec<u8>),
        admit: impl FnOnce(usize) -> bool,
        write: bool,
    ) -> Option<Progress> {
        let mut st = self.state.lock();
        if !st.append(encode, admit) {
            return None;
        }
        Some(self.settle(st, Progress::default(), write))
    }

    /// After filing: takes what came into turn, decides whether a write is due, does it.
    fn settle<'s>(
        &'s self,
        mut st: MutexGuard<'s, State>,
        mut p: Progress,
        write: bool,
    ) -> Progress {
        st.take_in_order(&mut p);
        let mut read_answered = false;
        while st.reads.front().is_some_and(|&end| end <= st.next) {
            st.reads.pop_front();
            read_answered = true;
        }
        p.awaited = !st.out.is_empty()
            && (read_answered || st.end.is_some() || st.out.len() >= COALESCE_LIMIT);
        p.due = p.awaited || (!st.out.is_empty() && st.reads.is_empty());
        if p.due && write {
            st = self.write(st, &mut p);
        }
        p.kick = st.needs_writer();
        p
    }

    /// Writes what is in order, unless the writer task owns the flush (deferred puts).
    pub(crate) fn write_pending(&self) -> Progress {
        let mut p = Progress::default();
        let st = self.write(self.state.lock(), &mut p);
        p.kick = st.needs_writer();
        p
    }

    /// Writes what is pending (the writer task, once the socket is writable).
    pub(crate) fn flush(&self) -> Progress {
        let mut st = self.state.lock();
        let mut p = Progress::default();
        st.blocked = false;
        drop(self.write(st, &mut p));
        p
    }

    /// Whether the reader's last request is answered and written.
    pub(crate) fn finished(&self) -> bool {
        self.state.lock().finished()
    }

    pub(crate) fn is_blocked(&self) -> bool {
        self.state.lock().blocked
    }

    /// Waits until the socket takes writes again.
    pub(crate) async fn writable(&self) -> io::Result<()> {
        self.wr.writable().await
    }

    /// Sends FIN: the client reads EOF after the last reply.
    pub(crate) fn shutdown(&self) {
        let _ = socket2::SockRef::from(self.wr.as_ref()).shutdown(std::net::Shutdown::Write);
    }

    /// Writes what is in order, outside the lock: one thread writes at a time, and others
    /// only append; the writer loops until nothing is left (or the socket is full), so what
    /// they appended goes out with its next `send`.
    fn write<'s>(
        &'s self,
        mut st: MutexGuard<'s, State>,
        p: &mut Progress,
    ) -> MutexGuard<'s, State> {
        if st.blocked || st.writing {
            return st;
        }
        st.writing = true;
        while !st.out.is_empty() {
            let spare = std::mem::take(&mut st.spare);
            let mut buf = std::mem::replace(&mut st.out, spare);
            if let Some(t) = st.out_oldest.take() {
                p.written_oldest = Some(p.written_oldest.map_or(t, |o| o.min(t)));
            }
            drop(st);
            let mut sent = 0;
            let mut full = false;
            while sent < buf.len() {
                match self.wr.try_write(&buf[sent..]) {
                    Ok(n) => sent += n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        full = true;
                        break;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => {
                        p.failed = true;
                        break;
                    }
                }
            }
            p.bytes += sent;
            st = self.state.lock();
            if sent < buf.len() {
                // Unsent bytes go back in front of what others appended meanwhile.
                buf.drain(..sent);
                buf.extend_from_slice(&st.out);
                st.out.clear();
                st.spare = std::mem::replace(&mut st.out, buf);
                st.blocked = full;
                break;
            }
            buf.clear();
            st.spare = buf;
        }
        st.writing = false;
        st
    }
}

/// Connections with output put in a [`deferring`] scope; the flag says whether a client
/// awaits some of it.
pub(crate) type Deferred = Vec<(Arc<Conn>, bool)>;

thread_local! {
    /// The innermost [`deferring`] scope running on this thread.
    static DEFERRED: RefCell<Option<Deferred>> = const { RefCell::new(None) };
    /// On a network thread ([`Consolidation::resumed`]): connections whose output nobody
    /// awaits yet, written after a few more reads or handed over when the thread goes idle.
    static HELD: RefCell<Option<Held>> = const { RefCell::new(None) };
}

/// Reads a network thread may serve before it writes the reports it holds: a bound on how
/// long a fill for a resting order waits for a write that would carry it anyway.
const HOLD_READS: u32 = 8;

/// How long output an idle network thread handed over waits for a write that would carry it
/// anyway before [`Consolidation::flusher`] writes it: a network thread "goes idle" many
/// times a millisecond under load (its next read is a moment away), and writing there would
/// cost a `send` per maker each time.
const HANDED_WAIT: Duration = Duration::from_millis(1);

/// A network thread that slept this long when it last went idle serves a quiet server: when
/// it goes idle again it writes what it holds at once instead of handing it over.
const QUIET: Duration = Duration::from_millis(10);

struct Held {
    conns: Vec<Arc<Conn>>,
    /// Reads served since the oldest held connection was held.
    reads: u32,
    /// What the network threads hold together.
    shared: Arc<Consolidation>,
    /// When this thread last went idle, and whether it then slept past [`QUIET`].
    idle_since: Option<Instant>,
    slept: bool,
}

/// Output the network threads hold together. A thread that goes idle hands what it holds
/// over instead of writing it: a running thread writes it after [`HOLD_READS`] reads, and
/// the flusher after [`HANDED_WAIT`] if none does. In a busy server most of it never needs
/// a write of its own: the next answer to that client carries it.
#[derive(Default)]
pub(crate) struct Consolidation {
    handed: Mutex<Vec<Arc<Conn>>>,
    /// `handed` is not empty, readable without the lock.
    any: AtomicBool,
    /// Wakes the flusher.
    armed: Notify,
}

impl Consolidation {
    /// The runtime's `on_thread_unpark`: this thread holds unawaited output across reads.
    pub(crate) fn resumed(self: &Arc<Self>) {
        HELD.with(|h| {
            let mut h = h.borrow_mut();
            let held = h.get_or_insert_with(|| Held {
                conns: Vec::new(),
                reads: 0,
                shared: self.clone(),
                idle_since: None,
                slept: false,
            });
            if let Some(t) = held.idle_since.take() {
                held.slept = t.elapsed() >= QUIET;
            }
        });
    }

    /// The runtime's `on_thread_park`: hands what this thread holds over, or writes it if the
    /// thread slept [`QUIET`] last time (it will likely sleep again, and the reports would
    /// wait for the flusher for nothing).
    pub(crate) fn idle(&self) {
        let mine = HELD.with(|h| {
            h.borrow_mut().as_mut().map(|held| {
                held.reads = 0;
                held.idle_since = Some(Instant::now());
                (std::mem::take(&mut held.conns), held.slept)
            })
        });
        let Some((mine, quiet)) = mine.filter(|(m, _)| !m.is_empty()) else {
            return;
        };
        if quiet {
            for conn in mine {
                write_out(&conn);
            }
            return;
        }
        {
            let mut handed = self.handed.lock();
            for conn in mine {
                if !conn.handed.swap(true, Relaxed) {
                    handed.push(conn);
                }
            }
            self.any.store(true, Relaxed);
        }
        self.armed.notify_one();
    }

    /// Writes what idle threads handed over [`HANDED_WAIT`] after they did, until the
    /// runtime stops.
    pub(crate) async fn flusher(self: Arc<Self>) {
        loop {
            self.armed.notified().await;
            tokio::time::sleep(HANDED_WAIT).await;
            for conn in self.take_handed() {
                write_out(&conn);
            }
        }
    }

    fn take_handed(&self) -> Vec<Arc<Conn>> {
        if !self.any.swap(false, Relaxed) {
            return Vec::new();
        }
        // Flags are cleared under the lock `idle` sets them under: none stays set for a
        // connection that is not in the list.
        let mut handed = self.handed.lock();
        for conn in handed.iter() {
            conn.handed.store(false, Relaxed);
        }
        std::mem::take(&mut *handed)
    }
}

/// Runs `f` (a reader publishing a read's requests with `caller_runs`, so the stages run
/// here, or a stage's batch) holding back the writes of the output it produces, then writes
/// each connection's output once: one `send` per connection per batch, however many
/// replies the batch filed for it.
///
/// Scopes nest (a reader's read, and inside it each encode batch): the innermost writes
/// what a client awaits as soon as its batch is done, so an answer never waits for other
/// clients' work, and hands the rest outwards. Output that answers no read yet (a maker's
/// fill, caused by another client's order) is not sent on its own on a network thread:
/// like Netty's flush consolidation, it waits for the next write to that client (its
/// answers carry it), for [`HOLD_READS`] more reads on a network thread, or at most
/// [`HANDED_WAIT`] once the network threads go idle ([`Consolidation`]). Reports to one
/// client then ride on a few sends instead of one per other client's read.
pub(crate) fn deferring<R>(f: impl FnOnce() -> R) -> R {
    let (result, conns) = collecting(f);
    write_collected(conns);
    result
}

/// Runs `f` as a [`deferring`] scope that writes nothing: what it would write at its end is
/// returned, for [`write_collected`] to write later (after a stage's lane is released).
pub(crate) fn collecting<R>(f: impl FnOnce() -> R) -> (R, Deferred) {
    /// Restores the outer scope; if `f` panics, writes what it filed (a client may be
    /// waiting for it, and no later write is certain to carry it).
    struct Scope {
        outer: Option<Option<Deferred>>,
    }
    impl Drop for Scope {
        fn drop(&mut self) {
            if let Some(outer) = self.outer.take() {
                let conns = DEFERRED.with(|d| std::mem::replace(&mut *d.borrow_mut(), outer));
                write_collected(conns.unwrap_or_default());
            }
        }
    }
    let mut scope = Scope {
        outer: Some(DEFERRED.with(|d| d.borrow_mut().replace(Vec::new()))),
    };
    let result = f();
    let outer = scope.outer.take().unwrap_or_default();
    let conns = DEFERRED
        .with(|d| std::mem::replace(&mut *d.borrow_mut(), outer))
        .unwrap_or_default();
    (result, conns)
}

/// Ends a scope's output as [`deferring`] does: what a client awaits is written now, the
/// rest goes to the enclosing scope, or is held on a network thread.
pub(crate) fn write_collected(conns: Deferred) {
    let nested = is_deferring();
    for (conn, awaited) in conns {
        if awaited {
            write_out(&conn);
        } else if nested {
            defer(&conn, false);
        } else if !hold(&conn) {
            write_out(&conn);
        }
    }
    if !nested {
        let due = HELD.with(|h| {
            h.borrow_mut().as_mut().is_some_and(|held| {
                let holding = !held.conns.is_empty() || held.shared.any.load(Relaxed);
                held.reads += u32::from(holding);
                held.reads >= HOLD_READS
            })
        });
        if due {
            flush_held();
        }
    }
}

/// Keeps `conn` for a later write, on a thread that consolidates; false elsewhere.
fn hold(conn: &Arc<Conn>) -> bool {
    HELD.with(|h| {
        let mut h = h.borrow_mut();
        let Some(held) = h.as_mut() else {
            return false;
        };
        if !held.conns.iter().any(|c| c.id == conn.id) {
            held.conns.push(conn.clone());
        }
        true
    })
}

fn write_out(conn: &Arc<Conn>) {
    if let Some(out) = conn.socket() {
        conn.progress(out.write_pending());
    }
}

/// Writes every connection's output this thread and the idle ones hold.
fn flush_held() {
    let conns = HELD.with(|h| {
        h.borrow_mut().as_mut().map(|held| {
            held.reads = 0;
            let mut conns = std::mem::take(&mut held.conns);
            conns.append(&mut held.shared.take_handed());
            conns
        })
    });
    for conn in conns.unwrap_or_default() {
        write_out(&conn);
    }
}

/// Whether this thread holds writes back (inside [`deferring`]).
pub(crate) fn is_deferring() -> bool {
    DEFERRED.with(|d| d.borrow().is_some())
}

/// Has `conn` written when [`deferring`] ends (`awaited`: a client waits for some of it).
pub(crate) fn defer(conn: &Arc<Conn>, awaited: bool) {
    DEFERRED.with(|d| {
        if let Some(conns) = d.borrow_mut().as_mut() {
            match conns.iter_mut().find(|(c, _)| c.id == conn.id) {
                Some((_, a)) => *a |= awaited,
                None => conns.push((conn.clone(), awaited)),
            }
        }
    });
}

impl State {
    /// Replies wait for their turn (one in turn goes straight out); reports for this client
    /// go out at once.
    fn file(&mut self, m: Outgoing, p: &mut Progress) {
        match m {
            Outgoing::Reply {
                seq,
                lines,
                read_at,
            } if seq == self.next => self.append_reply(&lines, read_at, p),
            Outgoing::Reply {
                seq,
                lines,
                read_at,
            } => {
                self.waiting.insert(seq, (lines, read_at));
            }
            Outgoing::Notify { lines } => self.out.extend_from_slice(&lines),
            Outgoing::End { seqs } => self.end = Some(seqs),
        }
    }

    /// Encodes onto the output unless `admit` refuses the encoded size (then nothing stays).
    fn append(
        &mut self,
        encode: impl FnOnce(&mut Vec<u8>),
        admit: impl FnOnce(usize) -> bool,
    ) -> bool {
        let mark = self.out.len();
        encode(&mut self.out);
        if admit(self.out.len() - mark) {
            return true;
        }
        self.out.truncate(mark);
        false
    }

    fn append_reply(&mut self, lines: &[u8], read_at: Instant, p: &mut Progress) {
        self.out.extend_from_slice(lines);
        self.in_turn(read_at, p);
    }

    /// The reply in turn is in `out`: the next one is due.
    fn in_turn(&mut self, read_at: Instant, p: &mut Progress) {
        self.next += 1;
        p.replies += 1;
        self.out_oldest = Some(self.out_oldest.map_or(read_at, |o| o.min(read_at)));
    }

    fn take_in_order(&mut self, p: &mut Progress) {
        while let Some((lines, read_at)) = self.waiting.remove(&self.next) {
            self.append_reply(&lines, read_at, p);
        }
    }

    /// The writer task must act: wait for room, or finish.
    fn needs_writer(&self) -> bool {
        self.blocked || self.finished()
    }

    fn finished(&self) -> bool {
        self.end.is_some_and(|e| self.next >= e) && self.out.is_empty() && !self.writing
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncReadExt;

    use super::super::conn::Sink;
    use crate::codec::Response;
    use crate::internal_events::ServerMetrics;
    use crate::net::ConnId;
    use tokio::net::tcp::OwnedReadHalf;
    use tokio::net::{TcpListener, TcpStream};

    use super::*;

    fn reply(seq: u64, text: &str) -> Outgoing {
        Outgoing::Reply {
            seq,
            lines: text.as_bytes().to_vec(),
            read_at: Instant::now(),
        }
    }

    /// A client socket, and the server side's output (its read half kept open).
    async fn connected() -> (TcpStream, OwnedReadHalf, SocketOut) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (client, accepted) = tokio::join!(TcpStream::connect(addr), listener.accept());
        let (rd, wr) = accepted.unwrap().0.into_split();
        wr.writable().await.unwrap();
        (client.unwrap(), rd, SocketOut::new(wr))
    }

    #[tokio::test]
    async fn output_waits_for_the_last_awaited_answer_then_goes_in_one_write() {
        let (mut client, _rd, out) = connected().await;

        out.note_read(3);
        // Out of turn, then a report for this client: both wait.
        let p = out.put(reply(1, "r1\n"), true);
        assert!(!p.due && p.replies == 0 && p.bytes == 0);
        let p = out.put(
            Outgoing::Notify {
                lines: b"n\n".to_vec(),
            },
            true,
        );
        assert!(!p.due && p.bytes == 0);
        // In turn: 0 and 1 are answered, but 2 is still awaited.
        let p = out.put(reply(0, "r0\n"), true);
        assert_eq!((p.due, p.replies, p.bytes), (false, 2, 0));
        // The last awaited answer writes everything, in order.
        let p = out.put(reply(2, "r2\n"), true);
        assert_eq!((p.due, p.replies, p.bytes), (true, 1, 11));
        assert!(!p.kick);
        let p = out.put(Outgoing::End { seqs: 3 }, true);
        assert!(p.kick && out.finished());

        let mut got = vec![0u8; 11];
        client.read_exact(&mut got).await.unwrap();
        assert_eq!(got, b"n\nr0\nr1\nr2\n");
    }

    #[tokio::test]
    async fn a_read_answered_in_full_goes_out_while_a_later_read_is_pending() {
        let (mut client, _rd, out) = connected().await;

        // Two reads: requests 0..2, then 2..3. The first read's answers do not wait for the
        // second's, however long a client keeps sending.
        out.note_read(2);
        out.note_read(3);
        assert!(!out.put(reply(0, "r0\n"), true).due);
        let p = out.put(reply(1, "r1\n"), true);
        assert_eq!((p.due, p.bytes), (true, 6));
        assert!(
            !out.put(
                Outgoing::Notify {
                    lines: b"n\n".to_vec()
                },
                true
            )
            .due
        );
        let p = out.put(reply(2, "r2\n"), true);
        assert_eq!((p.due, p.bytes), (true, 5));
        let mut got = vec![0u8; 11];
        client.read_exact(&mut got).await.unwrap();
        assert_eq!(got, b"r0\nr1\nn\nr2\n");
    }

    #[tokio::test]
    async fn a_put_without_write_leaves_the_bytes_for_write_pending() {
        let (mut client, _rd, out) = connected().await;

        out.note_read(1);
        let p = out.put(reply(0, "r0\n"), false);
        assert!(p.due && p.bytes == 0);
        assert_eq!(out.write_pending().bytes, 3);
        let mut got = vec![0u8; 3];
        client.read_exact(&mut got).await.unwrap();
        assert_eq!(got, b"r0\n");
    }

    /// A connection on a connected socket, with its client.
    async fn conn(id: ConnId) -> (TcpStream, OwnedReadHalf, Arc<Conn>) {
        let (client, rd, out) = connected().await;
        let metrics = ServerMetrics::register();
        let conn = Conn::new(id, Sink::Socket(out), usize::MAX, metrics);
        (client, rd, Arc::new(conn))
    }

    fn fill(maker: &Arc<Conn>) {
        maker.send(Outgoing::Notify {
            lines: b"fill\n".to_vec(),
        });
    }

    /// This thread as a network thread, and the flusher on this runtime.
    fn network_thread() -> Arc<Consolidation> {
        let threads = Arc::new(Consolidation::default());
        threads.resumed();
        tokio::spawn(threads.clone().flusher());
        threads
    }

    /// Waits (up to 5 s) until `conn` has no output left to write.
    async fn written(conn: &Conn) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while conn.pending() > 0 {
            assert!(Instant::now() < deadline, "output never written");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    #[tokio::test]
    async fn a_network_thread_writes_answers_per_batch_and_holds_reports_for_the_flusher() {
        let (mut maker_client, _m, maker) = conn(1).await;
        let (mut taker_client, _t, taker) = conn(2).await;
        taker.note_read(1);
        let threads = network_thread();
        deferring(|| {
            // An encode batch inside the read: the taker awaits its answer, nobody the fill.
            deferring(|| {
                fill(&maker);
                taker.reply(0, Instant::now(), &[Response::Pong]);
            });
            assert_eq!(taker.pending(), 0, "the answer waited for the read's end");
            assert_eq!(maker.pending(), 5);
        });
        assert_eq!(maker.pending(), 5, "the fill was written on its own");
        // The thread goes idle: it hands the fill over, and the flusher writes it.
        threads.idle();
        assert_eq!(
            maker.pending(),
            5,
            "the fill was written as the thread went idle"
        );
        written(&maker).await;
        let mut got = vec![0u8; 5];
        maker_client.read_exact(&mut got).await.unwrap();
        assert_eq!(got, b"fill\n");
        let mut got = vec![0u8; 16];
        taker_client.read_exact(&mut got).await.unwrap();
        assert_eq!(got, b"{\"type\":\"pong\"}\n");
    }

    #[tokio::test]
    async fn a_thread_that_slept_through_its_last_idle_spell_writes_held_reports_at_once() {
        let (_client, _rd, maker) = conn(1).await;
        let threads = Arc::new(Consolidation::default());
        threads.resumed();
        threads.idle();
        std::thread::sleep(QUIET);
        threads.resumed();
        deferring(|| fill(&maker));
        threads.idle();
        assert_eq!(
            maker.pending(),
            0,
            "a quiet server's reports waited for the flusher"
        );
    }

    #[tokio::test]
    async fn held_reports_go_out_within_a_bounded_number_of_reads() {
        let (_client, _rd, maker) = conn(1).await;
        let _threads = network_thread();
        deferring(|| fill(&maker));
        for _ in 2..HOLD_READS {
            deferring(|| ());
            assert_eq!(maker.pending(), 5);
        }
        deferring(|| ());
        assert_eq!(maker.pending(), 0);
    }

    #[tokio::test]
    async fn reports_an_idle_thread_handed_over_go_out_with_a_running_threads_reads() {
        let (_client, _rd, maker) = conn(1).await;
        let threads = Arc::new(Consolidation::default());
        threads.resumed();
        deferring(|| fill(&maker));
        threads.idle();
        assert_eq!(maker.pending(), 5);
        // Another network thread (no flusher here) writes it within a bounded number of reads.
        let running = threads.clone();
        std::thread::spawn(move || {
            running.resumed();
            for _ in 0..HOLD_READS {
                deferring(|| ());
            }
        })
        .join()
        .unwrap();
        assert_eq!(maker.pending(), 0);
    }

    #[tokio::test]
    async fn without_consolidation_reports_go_out_when_the_scope_ends() {
        let (_client, _rd, maker) = conn(1).await;
        deferring(|| {
            fill(&maker);
            assert_eq!(maker.pending(), 5);
        });
        assert_eq!(maker.pending(), 0);
    }
}
