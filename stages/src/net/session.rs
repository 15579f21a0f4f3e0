//! One TCP connection: a reader task (framing, backpressure, timeouts) and a writer task
//! (reply reordering, watermarks), both on the connection's event loop until asked to move
//! ([`loops`](super::loops)).

use std::io::ErrorKind::WouldBlock;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use bytes::BytesMut;
use sedaflow::{OfferError, Publisher};
use tokio::io::Interest;
use tokio::net::TcpStream;
use tokio::sync::watch;

use super::conn::Conn;
use super::login::{self, Screened};
use super::loops::{thread_cpu, EventLoop, EventLoops};
use super::output::{self, Outgoing};
use super::registry::Registry;
use super::shaping::{ConnShaper, Shaping};
use super::turn;
use crate::accounts::Auth;
use crate::admission::{Admission, ReadShed};
use crate::codec::{encode_line, ErrorReason, FrameError, LineFramer, Response};
use crate::config::{Limits, ReadScope};
use crate::internal_events::{PauseReason, ReadPauseMetrics, ServerMetrics};
use crate::matching::OrderId;
use crate::pipeline::{self, DecodeIn, Frames, Span};

/// What a session needs from the server.
#[derive(Clone)]
pub(crate) struct SessionEnv {
    pub(crate) input: Publisher<DecodeIn>,
    pub(crate) admission: Arc<Admission>,
    pub(crate) limits: Limits,
    pub(crate) shaping: Arc<Shaping>,
    pub(crate) metrics: ServerMetrics,
    pub(crate) stop: watch::Receiver<bool>,
    pub(crate) auth: Arc<Auth>,
    pub(crate) registry: Arc<Registry>,
    /// Cancel an account's resting orders when its last session closes.
    pub(crate) cancel_on_disconnect: bool,
    /// The event loops TCP sessions run on.
    pub(crate) loops: Arc<EventLoops>,
    /// The runtime for tasks that must outlive a session's loop (HTTP, timers, hand-offs).
    pub(crate) control: tokio::runtime::Handle,
}

/// Why the reader stopped.
enum Stop {
    Eof,
    Server,
    Cut,
    Timeout(ErrorReason),
    /// Asked to move to another event loop: not an end.
    Move,
}

/// How a reader's run on one loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ended {
    /// The connection is done reading (EOF, error, timeout, cut, server stop). `linger`: the
    /// client may still be sending (the server stops, a login failed), so once
    /// its answers are written its input is discarded until its end of stream
    /// ([`linger`](super::linger::linger)).
    Closed { linger: bool },
    /// It is to move to another loop, at a point between two reads.
    Moved,
}

/// Reads frames until EOF, error, timeout, server stop or a move; counts what it read and
/// what became of it on `home`'s counters (the `net_read` stage).
pub(crate) async fn read_loop(
    reader: &mut Reader,
    rd: &TcpStream,
    env: &mut SessionEnv,
    home: &Arc<EventLoop>,
) -> Ended {
    let stop = loop {
        let pauses = env.metrics.read_pauses();
        let n = match reader.read(rd, &mut env.stop, pauses, home).await {
            Ok(n) => n,
            Err(stop) => break stop,
        };
        let full = n == reader.buf.len();
        reader.backlogged(full, home);
        let requests = reader.frame(n, env);
        let counts = &home.reads;
        counts.read.fetch_add(requests, Ordering::Relaxed);
        let mut refused = std::mem::take(&mut reader.refused);
        let offered = reader.spans.len();
        // Frames answered at the read in their slot (a session's login) count as handed on.
        let mut handed = requests.saturating_sub(refused + offered as u64);
        if offered > 0 {
            let room = match env.admission.shedding() {
                Some(config) => reader.shed.read(config, full, offered),
                None => usize::MAX,
            };
            if full || home.reads.backlogged() > 0 {
                // A read that filled the buffer is a large batch already, and more input waits
                // behind it: it goes on at once, shed as the connection's share says. While
                // any connection of the loop is behind so, the others' reads go on at once too:
                // a turn would keep the loop from reading the waiting input for longer.
                let mut batch = std::mem::take(&mut reader.batch);
                let (input, admission) = (&env.input, &env.admission);
                let fill = |batch: &mut Vec<DecodeIn>| reader.shed_into(room, batch, admission);
                let r = publish(&mut batch, fill, input, admission, &env.metrics).await;
                reader.batch = batch;
                refused += r;
                handed += offered as u64 - r;
            } else {
                // It emptied the socket (and was admitted whole): it joins the loop's turn,
                // which counts it.
                let mut batch = std::mem::take(&mut reader.batch);
                reader.events(&mut batch);
                turn::join(batch.drain(..), env, home).wait().await;
                reader.batch = batch;
            }
        }
        counts.refused.fetch_add(refused, Ordering::Relaxed);
        counts.handed.fetch_add(handed, Ordering::Relaxed);
        if reader.login_failed {
            // Its answer is on its way; the writer closes after writing it.
            break Stop::Eof;
        }
        if env.shaping.is_on() {
            if let Err(stop) = reader.shape(n, requests, env).await {
                break stop;
            }
        }
        if full {
            // More input waits: the loop's other connections read first (a reader that
            // drained its socket in one go would hold them all up), and the CPU time they
            // took tells whether this one is behind because of them (wall time would also
            // count the machine not running the loop at all).
            let yielded = thread_cpu();
            tokio::task::yield_now().await;
            reader.shed.waited(thread_cpu().saturating_sub(yielded));
        }
    };
    reader.backlogged(false, home);
    let linger = match stop {
        Stop::Move => return Ended::Moved,
        // A timed-out client is quiet, or trickles: nothing waits unread worth lingering for.
        Stop::Timeout(reason) => {
            timed_out(&reader.conn, reason, &env.metrics);
            false
        }
        Stop::Server => true,
        // A failed login ends the reads as an end of stream would; the client may not know.
        Stop::Eof => reader.login_failed,
        // A client that does not read its output is not waited for.
        Stop::Cut => false,
    };
    Ended::Closed { linger }
}

/// A reader's state between reads (it moves with the session).
pub(crate) struct Reader {
    conn: Arc<Conn>,
    limits: Limits,
    framer: LineFramer,
    buf: Vec<u8>,
    /// Requests read so far: the next one's sequence number.
    pub(crate) seq: u64,
    /// The read's frames, for the pipeline.
    batch: Vec<DecodeIn>,
    /// The read's frame bytes, and each frame's sequence number and span in them.
    frames: BytesMut,
    spans: Vec<Span>,
    /// When the last read returned.
    read_at: Instant,
    /// New orders shed at the read: sequence number and order id.
    refusals: Vec<(u64, OrderId)>,
    last_activity: Instant,
    /// When the frame now partly read started.
    partial_since: Option<Instant>,
    /// The connection's traffic shaping buckets.
    shaper: ConnShaper,
    /// A login was refused: read no more.
    login_failed: bool,
    /// Requests the last read refused itself (too long, login failed).
    refused: u64,
    /// Its last read filled the buffer: counted in its loop's backlog.
    backlogged: bool,
    /// Shedding new orders at the read while the connection's input waits in the socket.
    shed: ReadShed,
}

impl Reader {
    pub(crate) fn new(conn: Arc<Conn>, limits: Limits) -> Self {
        Reader {
            conn,
            framer: LineFramer::with_max_len(limits.max_frame),
            limits,
            buf: vec![0u8; 16 * 1024],
            seq: 0,
            batch: Vec::new(),
            frames: BytesMut::new(),
            spans: Vec::new(),
            read_at: Instant::now(),
            refusals: Vec::new(),
            last_activity: Instant::now(),
            partial_since: None,
            shaper: ConnShaper::default(),
            login_failed: false,
            refused: 0,
            backlogged: false,
            shed: ReadShed::default(),
        }
    }

    pub(crate) fn conn(&self) -> &Arc<Conn> {
        &self.conn
    }

    /// Keeps `home`'s count of connections with input waiting: a read that filled the buffer
    /// likely left more in the socket.
    fn backlogged(&mut self, full: bool, home: &EventLoop) {
        set_backlogged(&mut self.backlogged, full, home);
    }

    /// Waits for room (backpressure), then reads; returns the bytes read, or why to stop.
    async fn read(
        &mut self,
        rd: &TcpStream,
        stop: &mut watch::Receiver<bool>,
        pauses: &ReadPauseMetrics,
        home: &EventLoop,
    ) -> Result<usize, Stop> {
        // Registered before the checks below, so a cut or a move after them still wakes the
        // read.
        let cut = self.conn.cut.notified();
        tokio::pin!(cut);
        cut.as_mut().enable();
        match wait_for_room(&self.conn, self.seq, &self.limits, pauses).await {
            Room::Ready { .. } if self.conn.move_requested() => return Err(Stop::Move),
            Room::Ready { paused: true } => self.shed.paused(),
            Room::Ready { paused: false } => {}
            Room::Cut => return Err(Stop::Cut),
            Room::Move => return Err(Stop::Move),
        }
        let (deadline, timeout) = match self.partial_since {
            Some(t) => (t + self.limits.frame_timeout, ErrorReason::FrameTimeout),
            None => (
                self.last_activity + self.limits.idle_timeout,
                ErrorReason::IdleTimeout,
            ),
        };
        let read = tokio::select! {
            _ = stop.changed() => return Err(Stop::Server),
            _ = &mut cut => return Err(interrupted(&self.conn)),
            r = tokio::time::timeout_at(deadline.into(), read_some(rd, &mut self.buf, || {
                // Nothing waits in the socket after all: a full read at the end of a burst
                // must not count as a backlog while the client is quiet.
                set_backlogged(&mut self.backlogged, false, home)
            })) => r,
        };
        match read {
            Err(_) => Err(Stop::Timeout(timeout)),
            Ok(Ok(0)) | Ok(Err(_)) => Err(Stop::Eof),
            Ok(Ok(n)) => Ok(n),
        }
    }

    /// Frames the `n` bytes just read (an over-long frame is answered in its slot, and so are
    /// the frames of a session that acts for no account yet, see [`super::login`]),
    /// and restarts the timeouts. Returns how many frames ended in them; those for the
    /// pipeline wait in `spans` ([`Reader::shed_into`], [`Reader::events`]).
    fn frame(&mut self, n: usize, env: &SessionEnv) -> u64 {
        let now = Instant::now();
        let before = self.seq;
        self.framer.push(&self.buf[..n]);
        // The read's frames share one buffer: one allocation per read, not per frame.
        while let Some(frame) = self.framer.next_frame() {
            let this = self.seq;
            self.seq += 1;
            let f = match frame {
                Ok(f) => f,
                Err(FrameError::TooLong) => {
                    env.metrics.frame_too_long();
                    self.refused += 1;
                    pipeline::answer(&self.conn, this, now, FrameError::TooLong.into());
                    continue;
                }
            };
            let screened = match self.conn.bound() {
                Some(_) => Screened::Pass,
                None => login::screen(&self.conn, f, &env.auth, &env.registry),
            };
            match screened {
                Screened::Pass => {
                    let at = self.frames.len();
                    self.frames.extend_from_slice(f);
                    self.spans.push((this, at..self.frames.len()));
                }
                Screened::Answer(response) => pipeline::answer(&self.conn, this, now, response),
                Screened::Failed => {
                    self.refused += 1;
                    let failed = Response::Error(ErrorReason::LoginFailed);
                    pipeline::answer(&self.conn, this, now, failed);
                    self.login_failed = true;
                    break;
                }
            }
        }
        self.read_at = now;
        if self.seq > before {
            self.last_activity = now;
            self.conn.note_read(self.seq);
        }
        // The frame timeout runs from the start of the frame now pending: once a frame
        // ended in this read, what is pending started here.
        self.partial_since = match (self.framer.has_partial(), self.partial_since) {
            (true, Some(t)) if self.seq == before => Some(t),
            (true, _) => Some(now),
            (false, _) => None,
        };
        self.seq - before
    }

    /// Sheds at the read ([`pipeline::shed_oldest`]: new orders among the read's oldest
    /// frames beyond `room`, what the connection's shedding admits), answering them as one
    /// run before any event is made of them, then puts the rest in `batch` as events;
    /// returns how many it refused.
    fn shed_into(&mut self, room: usize, batch: &mut Vec<DecodeIn>, admission: &Admission) -> u64 {
        pipeline::shed_oldest(&mut self.spans, &self.frames, room, &mut self.refusals);
        let refused = self.refusals.len();
        if refused > 0 {
            self.conn.overloaded(&self.refusals, self.read_at);
            self.refusals.clear();
        }
        admission.shed_at_read(refused);
        self.events(batch);
        refused as u64
    }

    /// Makes the read's frames waiting in `spans` one event for the pipeline, in `batch`.
    fn events(&mut self, batch: &mut Vec<DecodeIn>) {
        // The read's frames share one buffer: one allocation per read, not per frame.
        let bytes = self.frames.split().freeze();
        if self.spans.is_empty() {
            return;
        }
        let room = self.spans.capacity();
        batch.push(DecodeIn::Read(Frames {
            conn: self.conn.clone(),
            bytes,
            spans: std::mem::replace(&mut self.spans, Vec::with_capacity(room)),
            read_at: self.read_at,
        }));
    }

    /// Charges a read of `bytes` carrying `requests` to the traffic shaping limits and sleeps
    /// the pause it owes before the next read; a stop or a cut ends the pause early.
    async fn shape(
        &mut self,
        bytes: usize,
        requests: u64,
        env: &mut SessionEnv,
    ) -> Result<(), Stop> {
        let now = Instant::now();
        let owed = env
            .shaping
            .charge(&mut self.shaper, bytes as u64, requests, now);
        if owed.delay.is_zero() {
            return Ok(());
        }
        self.shed.paused();
        let cut = self.conn.cut.notified();
        tokio::pin!(cut);
        cut.as_mut().enable();
        if self.conn.is_closed() {
            return Err(Stop::Cut);
        }
        let global = owed.scope == ReadScope::Global;
        let pause = env
            .metrics
            .read_pauses()
            .pause(PauseReason::Shaping { global });
        let sleep = tokio::time::sleep(owed.delay);
        tokio::pin!(sleep);
        // A move request wakes `cut` too; it waits for the pause to end.
        let woke = loop {
            tokio::select! {
                _ = env.stop.changed() => break Err(Stop::Server),
                _ = &mut cut, if !self.conn.is_closed() => {}
                _ = &mut sleep => break Ok(()),
            }
            if self.conn.is_closed() {
                break Err(Stop::Cut);
            }
        };
        drop(pause);
        let paused = now.elapsed();
        // The client was not idle while the server would not read: its timeouts restart.
        self.last_activity += paused;
        if let Some(since) = &mut self.partial_since {
            *since += paused;
        }
        woke
    }
}

/// Hands a read's frames, or a loop turn's ([`turn`]), to the pipeline, admission first:
/// `fill` puts the frames in `batch` and returns how many it refused itself (shedding at the
/// read), then the admission limit refuses what it has no room for. The stages run on this
/// thread (`caller_runs`) and their answers go out, with the refusals, in one write per
/// connection when they are done; only what does not fit waits. Returns how many it refused
/// (shedding, admission, a closed pipeline).
pub(super) async fn publish(
    batch: &mut Vec<DecodeIn>,
    fill: impl FnOnce(&mut Vec<DecodeIn>) -> u64,
    input: &Publisher<DecodeIn>,
    admission: &Admission,
    metrics: &ServerMetrics,
) -> u64 {
    let (mut refused, tried) = output::deferring(|| {
        let refused = fill(batch) + pipeline::admit(admission, batch);
        (refused, input.try_publish_batch(batch))
    });
    let published = match tried {
        Err(OfferError::Full(mut left)) => input.publish_batch(&mut left).await,
        done => done,
    };
    if let Err(back) = published {
        let back = back.into_inner();
        refused += requests(&back) as u64;
        pipeline::refuse(back, admission, metrics);
    }
    refused
}

/// The requests in `batch`.
pub(super) fn requests(batch: &[DecodeIn]) -> usize {
    batch.iter().map(DecodeIn::requests).sum()
}

/// Reads what the socket has, waiting until it has something (one `recv` when it is ready);
/// `waits` is told when it has to wait.
async fn read_some(
    rd: &TcpStream,
    buf: &mut [u8],
    mut waits: impl FnMut(),
) -> std::io::Result<usize> {
    loop {
        match rd.try_read(buf) {
            Err(e) if e.kind() == WouldBlock => {
                waits();
                rd.readable().await?
            }
            Ok(n) if n > 0 && n < buf.len() => {
                // A short read drained the socket: its readiness is cleared here (as tokio's
                // own `poll_read` does), or the next read would be a `recv` that finds nothing.
                // Input arriving after it is a new readiness event.
                let _ = rd.try_io(Interest::READABLE, || Err::<(), _>(WouldBlock.into()));
                return Ok(n);
            }
            done => return done,
        }
    }
}

/// Sets a reader's backlog flag, counting the change on `home`.
fn set_backlogged(flag: &mut bool, full: bool, home: &EventLoop) {
    if full != *flag {
        *flag = full;
        home.reads
            .backlogged
            .fetch_add(if full { 1 } else { -1 }, Ordering::Relaxed);
    }
}

/// Why `conn.cut` woke a waiter: a cut, or else a move request.
fn interrupted(conn: &Conn) -> Stop {
    match conn.is_closed() {
        true => Stop::Cut,
        false => Stop::Move,
    }
}

/// Tells a client that timed out why its connection closes.
fn timed_out(conn: &Arc<Conn>, reason: ErrorReason, metrics: &ServerMetrics) {
    match reason {
        ErrorReason::FrameTimeout => metrics.frame_timed_out(),
        _ => metrics.idle_closed(),
    }
    let mut lines = Vec::new();
    encode_line(&Response::Error(reason), &mut lines);
    conn.send(Outgoing::Notify { lines });
}

/// What a reader may do after [`wait_for_room`].
enum Room {
    /// Read on; `paused` when it had to wait first (input held back on purpose).
    Ready {
        paused: bool,
    },
    Cut,
    /// Asked to move while paused: the pause goes on on the new loop.
    Move,
}

/// Waits while the client is not reading its output (high/low watermarks) or has too many
/// requests unanswered, and counts such a pause by reason.
async fn wait_for_room(conn: &Conn, seq: u64, limits: &Limits, pauses: &ReadPauseMetrics) -> Room {
    let output_over = |bytes: usize| conn.pending() > bytes;
    let too_many = || seq - conn.answered.load(Ordering::Acquire) >= limits.max_in_flight as u64;
    if !(output_over(limits.write_high_watermark) || too_many()) {
        return match conn.is_closed() {
            true => Room::Cut,
            false => Room::Ready { paused: false },
        };
    }
    // Stop reading (TCP backpressure) until output is below the low watermark and fewer
    // than `max_in_flight` requests are unanswered. Only this slow path counts the pause.
    let mut reason = match output_over(limits.write_high_watermark) {
        true => PauseReason::Watermark,
        false => PauseReason::InFlight,
    };
    let mut pause = pauses.pause(reason);
    loop {
        let drained = conn.drained.notified();
        tokio::pin!(drained);
        drained.as_mut().enable();
        if conn.is_closed() {
            return Room::Cut;
        }
        if conn.move_requested() {
            return Room::Move;
        }
        reason = match (output_over(limits.write_low_watermark), too_many()) {
            (false, false) => return Room::Ready { paused: true },
            // While both hold, the pause keeps the reason it has.
            (true, true) => reason,
            (true, false) => PauseReason::Watermark,
            (false, true) => PauseReason::InFlight,
        };
        pause.because(reason);
        drained.await;
    }
}

/// Waits for the socket whenever it was full and flushes; ends after the reader's last request
/// is answered and written, or when the connection is cut (and sends FIN then), or stops when
/// the session is to move (its state stays in the connection's output). The stages write
/// everything else themselves (see `net::output`).
pub(crate) async fn write_loop(conn: Arc<Conn>, env: SessionEnv) {
    let Some(out) = conn.socket() else {
        return;
    };
    loop {
        // A cut while waiting must end the writer too: output for a closed connection is
        // discarded, so no kick may ever come.
        let cut = conn.cut.notified();
        tokio::pin!(cut);
        cut.as_mut().enable();
        if conn.is_closed() || out.finished() {
            break;
        }
        if conn.move_requested() {
            return;
        }
        if out.is_blocked() {
            let writable = tokio::select! {
                r = out.writable() => r.is_ok(),
                _ = &mut cut => continue,
            };
            if !writable {
                conn.close();
                break;
            }
            conn.progress(out.write_unblocked());
            continue;
        }
        tokio::select! {
            _ = out.kick.notified() => {}
            _ = &mut cut => {}
            () = conn.settled() => {
                let input = env.input.clone();
                let c = conn.clone();
                // Off this task (waiting for room in decode must not stop the writes), and
                // off the loop, which may end before decode has room.
                env.control.spawn(async move {
                    let _ = input.publish(DecodeIn::Resume(c)).await;
                });
            }
        }
    }
    out.shutdown();
}
