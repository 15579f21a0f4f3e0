use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{Notify, Semaphore};
use tokio::time::{sleep_until, timeout_at};

use super::answer::parse_answer;
use super::error::{LoadgenError, ProtocolViolation};
use super::mix::{OrderMix, Planned};
use super::pacer::Schedule;
use super::summary::Tally;
use super::tracker::{Event, Tracker};
use sedaflow_stages::codec::{encode_request, LineFramer};

/// Most requests generated in one go, between looks at the clock and the socket.
const BATCH: usize = 256;
/// Buffered request bytes that are written even while more could be generated.
const FLUSH_AT: usize = 64 * 1024;
/// Bytes read from the socket at a time.
const READ_CHUNK: usize = 64 * 1024;
/// Longest response line quoted in a protocol violation.
const QUOTE_LEN: usize = 200;

/// The run's clock, shared by every connection.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Clock {
    pub(crate) start: Instant,
    /// End of the warm-up: requests intended from here on are measured.
    pub(crate) measure_from_ns: u64,
    /// Nothing is sent from here on.
    pub(crate) send_end_ns: u64,
    /// Readers and writers give up here, the drain wait after `send_end_ns`.
    pub(crate) give_up_ns: u64,
}

impl Clock {
    pub(crate) fn now_ns(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }

    pub(crate) fn at(&self, ns: u64) -> tokio::time::Instant {
        tokio::time::Instant::from_std(self.start + std::time::Duration::from_nanos(ns))
    }
}

/// Requests sent and answered over all connections, warm-up included, for progress lines.
#[derive(Debug, Default)]
pub(crate) struct Progress {
    pub(crate) sent: AtomicU64,
    pub(crate) answered: AtomicU64,
}

/// What a connection's writer and reader share.
#[derive(Debug)]
pub(crate) struct Connection {
    pub(crate) index: usize,
    state: Mutex<State>,
    /// Closed loop: one per request that may be outstanding, returned by answers. Open
    /// loop: one per request due, released by the pacer.
    pub(crate) permits: Arc<Semaphore>,
    /// Wakes the reader when the writer is done.
    writer_done: Notify,
    pub(crate) clock: Clock,
    pub(crate) progress: Arc<Progress>,
}

#[derive(Debug)]
struct State {
    tracker: Tracker,
    writer_done: bool,
}

impl Connection {
    pub(crate) fn new(
        index: usize,
        tracker: Tracker,
        permits: Arc<Semaphore>,
        clock: Clock,
        progress: Arc<Progress>,
    ) -> Connection {
        Connection {
            index,
            state: Mutex::new(State {
                tracker,
                writer_done: false,
            }),
            permits,
            writer_done: Notify::new(),
            clock,
            progress,
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The state stays consistent even if a holder panicked: every update is one call.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn io_error(&self, source: std::io::Error) -> LoadgenError {
        LoadgenError::Io {
            connection: self.index,
            source,
        }
    }

    fn violation(&self, violation: ProtocolViolation) -> LoadgenError {
        LoadgenError::Protocol {
            connection: self.index,
            violation,
        }
    }
}

/// Sends requests until the end of the run, then half-closes; returns a tally of the
/// measured requests it sent (and, open loop, how late). Open loop when `schedule` is
/// given.
pub(crate) async fn write_requests(
    conn: Arc<Connection>,
    socket: OwnedWriteHalf,
    mut mix: OrderMix,
    schedule: Option<Schedule>,
) -> Result<Tally, LoadgenError> {
    let clock = conn.clock;
    let mut out = Outbox {
        socket,
        buf: Vec::with_capacity(FLUSH_AT + BATCH * 160),
        give_up: clock.at(clock.give_up_ns),
    };
    let mut plan = Plan::new(&conn, schedule);
    while !plan.finished {
        let Some(ready) = take_permits(&conn, &mut out, plan.end_ns).await? else {
            break;
        };
        let now_ns = clock.now_ns();
        if schedule.is_none() && now_ns >= clock.send_end_ns {
            break;
        }
        plan.generate(&conn, &mut mix, ready, now_ns, &mut out.buf);
        if out.buf.len() >= FLUSH_AT && !out.flush(&conn).await? {
            break;
        }
    }
    if out.flush(&conn).await? {
        // Half-close: the protocol still answers everything sent before it.
        let _ = timeout_at(out.give_up, out.socket.shutdown()).await;
    }
    conn.state().writer_done = true;
    conn.writer_done.notify_one();
    Ok(plan.sent)
}

/// Takes up to [`BATCH`] permits, first writing out what is buffered and waiting for one
/// when none is free; `None` when the run ends before one comes (the permits close, the
/// clock reaches `end_ns`, or the server stops taking requests).
async fn take_permits(
    conn: &Connection,
    out: &mut Outbox,
    end_ns: u64,
) -> Result<Option<usize>, LoadgenError> {
    let ready = conn.permits.available_permits().min(BATCH);
    if ready > 0 {
        if let Ok(permits) = conn.permits.try_acquire_many(ready as u32) {
            permits.forget();
        }
        return Ok(Some(ready));
    }
    // Idle: what is buffered goes out before waiting.
    if !out.flush(conn).await? {
        return Ok(None);
    }
    tokio::select! {
        permit = conn.permits.acquire() => match permit {
            Ok(permit) => permit.forget(),
            Err(_) => return Ok(None),
        },
        () = sleep_until(conn.clock.at(end_ns)) => return Ok(None),
    }
    let ready = 1 + conn.permits.available_permits().min(BATCH - 1);
    if let Ok(permits) = conn.permits.try_acquire_many(ready as u32 - 1) {
        permits.forget();
    }
    Ok(Some(ready))
}

/// A writer's requests: how many it may still generate, and the tally of those it sent.
struct Plan {
    schedule: Option<Schedule>,
    /// Requests this connection has generated: its k for the open-loop schedule.
    k: u64,
    /// How many requests this connection generates at most.
    share: u64,
    /// Waiting for a permit ends here.
    end_ns: u64,
    finished: bool,
    planned: Vec<(Planned, u64)>,
    sent: Tally,
}

impl Plan {
    fn new(conn: &Connection, schedule: Option<Schedule>) -> Plan {
        let clock = conn.clock;
        // Open loop: this connection's share of the schedule before the end, sent however
        // late the pacer releases it (a busy machine must not shorten the run). Closed loop:
        // the clock ends it.
        let (share, end_ns) = match schedule {
            Some(s) => (
                s.share(s.due_by(clock.send_end_ns.saturating_sub(1)), conn.index),
                clock.give_up_ns,
            ),
            None => (u64::MAX, clock.send_end_ns),
        };
        Plan {
            schedule,
            k: 0,
            share,
            end_ns,
            finished: share == 0,
            planned: Vec::with_capacity(BATCH),
            sent: Tally::new(),
        }
    }

    /// Generates up to `ready` requests, tracked and (when measured) tallied, and encodes
    /// them into `buf`; finished at the share's or the sending's end.
    fn generate(
        &mut self,
        conn: &Connection,
        mix: &mut OrderMix,
        ready: usize,
        now_ns: u64,
        buf: &mut Vec<u8>,
    ) {
        let clock = conn.clock;
        {
            let mut state = conn.state();
            for _ in 0..ready {
                let intended_ns = match self.schedule {
                    Some(s) => s.due_ns(s.global(conn.index, self.k)),
                    None => now_ns,
                };
                if intended_ns >= clock.send_end_ns {
                    self.finished = true;
                    break;
                }
                let next = mix.next(state.tracker.resting());
                let measured = intended_ns >= clock.measure_from_ns;
                state.tracker.sent(&next, intended_ns, measured);
                self.planned.push((next, intended_ns));
                if measured {
                    self.sent.sent += 1;
                    if self.schedule.is_some() {
                        self.sent
                            .record_send_lag(now_ns.saturating_sub(intended_ns));
                    }
                }
                self.k += 1;
                if self.k >= self.share {
                    self.finished = true;
                    break;
                }
            }
        }
        conn.progress
            .sent
            .fetch_add(self.planned.len() as u64, Ordering::Relaxed);
        for (next, _) in self.planned.drain(..) {
            encode_request(&next.request, buf);
        }
    }
}

/// A writer's socket and the encoded requests not yet written to it.
struct Outbox {
    socket: OwnedWriteHalf,
    buf: Vec<u8>,
    give_up: tokio::time::Instant,
}

impl Outbox {
    /// Writes the buffer out; false when the server did not take it before the give-up time
    /// (the requests in it then count as lost).
    async fn flush(&mut self, conn: &Connection) -> Result<bool, LoadgenError> {
        if self.buf.is_empty() {
            return Ok(true);
        }
        match timeout_at(self.give_up, self.socket.write_all(&self.buf)).await {
            Ok(Ok(())) => {
                self.buf.clear();
                Ok(true)
            }
            Ok(Err(error)) => Err(conn.io_error(error)),
            Err(_) => Ok(false),
        }
    }
}

/// Reads responses, matching answers to requests, until the writer is done and nothing is
/// outstanding, the server closes, or the give-up time; returns the connection's tally
/// (without `sent`, which the writer knows).
pub(crate) async fn read_responses(
    conn: Arc<Connection>,
    mut socket: OwnedReadHalf,
    closed_loop: bool,
) -> Result<Tally, LoadgenError> {
    let clock = conn.clock;
    let give_up = clock.at(clock.give_up_ns);
    let mut framer = LineFramer::new();
    let mut buf = vec![0; READ_CHUNK];
    let mut tally = Tally::new();
    loop {
        {
            let state = conn.state();
            if state.writer_done && state.tracker.outstanding() == 0 {
                break;
            }
        }
        let read = tokio::select! {
            read = socket.read(&mut buf) => read,
            () = conn.writer_done.notified() => continue,
            () = sleep_until(give_up) => break,
        };
        let len = match read {
            Ok(0) => break,
            Ok(len) => len,
            Err(error) => return Err(conn.io_error(error)),
        };
        framer.push(&buf[..len]);
        let now_ns = clock.now_ns();
        let mut answered = 0u64;
        // One lock per read, not per line (the writer's is per batch).
        let mut state = conn.state();
        while let Some(frame) = framer.next_frame() {
            let frame = frame.map_err(|_| conn.violation(ProtocolViolation::TooLong))?;
            let answer = parse_answer(frame).ok_or_else(|| {
                let quote = String::from_utf8_lossy(&frame[..frame.len().min(QUOTE_LEN)]);
                conn.violation(ProtocolViolation::Unreadable(quote.into_owned()))
            })?;
            let event = state
                .tracker
                .on_answer(answer)
                .map_err(|violation| conn.violation(violation))?;
            if let Event::Answered { .. } = event {
                answered += 1;
            }
            tally.record(&event, now_ns, clock.measure_from_ns);
        }
        drop(state);
        if answered > 0 {
            conn.progress
                .answered
                .fetch_add(answered, Ordering::Relaxed);
            if closed_loop {
                conn.permits.add_permits(answered as usize);
            }
        }
    }
    Ok(tally)
}
