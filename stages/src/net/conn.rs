//! What a connection shares with the pipeline: its output and its bookkeeping.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use tokio::sync::Notify;

use super::account::Account;
use super::output::{self, Answer, Moment, Outgoing, Pending, Progress, SocketOut, When};
use crate::codec::{encode_line, Response};
use crate::internal_events::ServerMetrics;
use crate::matching::{OrderId, Owner};
use crate::pipeline::{self, Client, ConnId, OrderState, Reply};

/// Where a connection's output goes.
pub(crate) enum Sink {
    /// Written to the socket by whichever thread produces it (TCP).
    Socket(SocketOut),
    /// Filed for the task that answers (one HTTP request).
    Answer(Answer),
}

/// One client connection (TCP, or one HTTP request), shared by its reader, its writer and the
/// stages that answer it.
pub(crate) struct Conn {
    pub(crate) id: ConnId,
    sink: Sink,
    /// Bytes handed to the sink but not yet written to the socket.
    pending: AtomicUsize,
    hard_cap: usize,
    /// Set when the connection is gone or was cut for exceeding the hard cap.
    closed: AtomicBool,
    /// Replies written, for the reader's in-flight limit.
    pub(crate) answered: AtomicU64,
    /// The writer signals here when output drained or a reply was written.
    pub(crate) drained: Notify,
    /// The account it acts for, from its login (or its HTTP request's authorization) on.
    account: OnceLock<Arc<Account>>,
    /// Its own anonymous account, made when it reaches the stages without one (an HTTP
    /// request without `Authorization`): part of the connection, not an allocation of its own.
    anonymous: OnceLock<Account>,
    /// Signalled when an account is bound.
    bound_now: Notify,
    /// Signalled when the connection is cut, to abandon a blocked write.
    pub(crate) cut: Notify,
    /// In the output idle network threads handed over (`output::Consolidation`).
    handed: AtomicBool,
    /// The event loop its session is asked to move to ([`NOT_MOVING`]: none).
    moving: AtomicUsize,
    metrics: ServerMetrics,
}

/// [`Conn::moving`] when no move is asked for.
const NOT_MOVING: usize = usize::MAX;

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn").field("id", &self.id).finish()
    }
}

impl Conn {
    pub(crate) fn new(id: ConnId, sink: Sink, hard_cap: usize, metrics: ServerMetrics) -> Self {
        Conn {
            id,
            sink,
            pending: AtomicUsize::new(0),
            hard_cap,
            closed: AtomicBool::new(false),
            answered: AtomicU64::new(0),
            drained: Notify::new(),
            account: OnceLock::new(),
            anonymous: OnceLock::new(),
            bound_now: Notify::new(),
            cut: Notify::new(),
            handed: AtomicBool::new(false),
            moving: AtomicUsize::new(NOT_MOVING),
            metrics,
        }
    }

    /// `this` made a new connection with `id` (its sink, cap and metrics kept) in place, if
    /// nothing else holds it: an HTTP connection's next request renews its last one's `Conn`
    /// rather than allocate one. `None` while another holder remains (a resting order of the
    /// request, an answer still on its way), and for a TCP connection.
    pub(crate) fn renew(mut this: Arc<Conn>, id: ConnId) -> Option<Arc<Conn>> {
        let conn = Arc::get_mut(&mut this)?;
        let sink = match &conn.sink {
            Sink::Answer(_) => Sink::Answer(Answer::default()),
            Sink::Socket(_) => return None,
        };
        *conn = Conn::new(id, sink, conn.hard_cap, conn.metrics.clone());
        Some(this)
    }

    /// Asks the session to move to event loop `to` at its next safe point: its reader and
    /// writer are woken (through `cut` and `drained`, which re-check why they woke).
    pub(crate) fn request_move(&self, to: usize) {
        self.moving.store(to, Ordering::Release);
        self.cut.notify_waiters();
        self.drained.notify_waiters();
    }

    pub(crate) fn move_requested(&self) -> bool {
        self.moving.load(Ordering::Acquire) != NOT_MOVING
    }

    /// The loop asked for, clearing the request.
    pub(crate) fn take_move(&self) -> Option<usize> {
        let to = self.moving.swap(NOT_MOVING, Ordering::AcqRel);
        (to != NOT_MOVING).then_some(to)
    }

    /// Makes the connection act for `account`; false if it already acts for one (its login's
    /// or its HTTP request's, bound before its first request reaches the stages, or its own
    /// anonymous one, once a request without an account reached them).
    pub(crate) fn bind(&self, account: Arc<Account>) -> bool {
        let bound = self.anonymous.get().is_none() && self.account.set(account).is_ok();
        self.bound_now.notify_waiters();
        bound
    }

    /// Resolves when the connection's account ended a stall (waiting first for an account,
    /// if it has none yet).
    pub(crate) async fn settled(&self) {
        let account = loop {
            let bound_now = self.bound_now.notified();
            tokio::pin!(bound_now);
            bound_now.as_mut().enable();
            if let Some(account) = self.bound() {
                break account;
            }
            bound_now.await;
        };
        account.orders.settled().await;
    }

    /// The account it acts for, if it has had one bound yet.
    pub(crate) fn bound(&self) -> Option<&Arc<Account>> {
        self.account.get()
    }

    /// The account it acts for: a connection that reaches the stages without one (an HTTP
    /// request, say) acts for an anonymous account of its own.
    pub(crate) fn account(&self) -> &Account {
        match self.account.get() {
            Some(account) => account,
            None => self.anonymous.get_or_init(|| Account::anonymous(self.id)),
        }
    }

    /// Where an HTTP request's reply is filed (`None` for a TCP connection).
    pub(crate) fn answer(&self) -> Option<&Answer> {
        match &self.sink {
            Sink::Answer(answer) => Some(answer),
            Sink::Socket(_) => None,
        }
    }

    pub(crate) fn pending(&self) -> usize {
        self.pending.load(Ordering::Acquire)
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.drained.notify_waiters();
        self.cut.notify_waiters();
    }

    /// Hands output to the sink without ever blocking the caller (a pool thread). Output for
    /// a closed connection, or past the hard cap, is discarded and counted: a slow reader never
    /// stalls the stages.
    pub(crate) fn send(self: &Arc<Self>, msg: Outgoing) {
        if self.is_closed() {
            self.discard(&msg);
            return;
        }
        if !self.admit(msg.bytes()) {
            // Its bytes count in `pending`, discarded with the rest when the session ends.
            self.metrics.discarded(msg.responses());
            return;
        }
        match &self.sink {
            Sink::Socket(out) => {
                let when = output::when(Moment::Filed);
                let p = out.put(msg, when == When::Now);
                self.put_done(p, when);
            }
            // Its reply went straight to the answer (`reply`); a later report of the
            // request's orders has nowhere to go.
            Sink::Answer(_) => self.metrics.discarded(msg.responses()),
        }
    }

    /// Sends reports this client did not ask for just now (a resting order's fill, then its
    /// `done`), encoded straight into a TCP connection's output in one filing.
    pub(crate) fn notify(self: &Arc<Self>, reports: &[Response]) {
        self.put_encoded(
            reports,
            |out, encode, admit, write| out.put_notice(encode, admit, write),
            |lines| Outgoing::Notify { lines },
        );
    }

    /// Files `responses` with `put` on an open TCP connection (no buffer of their own), or
    /// else as the `message` made of their encoded lines.
    fn put_encoded(
        self: &Arc<Self>,
        responses: &[Response],
        put: impl FnOnce(
            &SocketOut,
            &dyn Fn(&mut Vec<u8>),
            &dyn Fn(usize) -> bool,
            bool,
        ) -> Option<Progress>,
        message: impl FnOnce(Vec<u8>) -> Outgoing,
    ) {
        let encode = |buf: &mut Vec<u8>| {
            for r in responses {
                encode_line(r, buf);
            }
        };
        match self.socket() {
            Some(out) if !self.is_closed() => {
                let when = output::when(Moment::Filed);
                match put(out, &encode, &|n| self.admit(n), when == When::Now) {
                    Some(p) => self.put_done(p, when),
                    None => self.metrics.discarded(responses.len() as u64),
                }
            }
            _ => {
                let mut lines = Vec::with_capacity(64 * responses.len());
                encode(&mut lines);
                self.send(message(lines));
            }
        }
    }

    /// Counts `bytes` more output; past the hard cap the client stopped reading: the
    /// connection is closed and the output is to be discarded (false).
    fn admit(&self, bytes: usize) -> bool {
        let pending = self.pending.fetch_add(bytes, Ordering::AcqRel) + bytes;
        if pending <= self.hard_cap {
            return true;
        }
        tracing::warn!(
            conn = self.id,
            pending,
            "client stopped reading: output over the hard cap, closing"
        );
        self.metrics.slow_client_closed();
        self.close();
        false
    }

    /// Counts `msg`, never taken in, as discarded (in bytes too, for a TCP connection).
    fn discard(&self, msg: &Outgoing) {
        self.metrics.discarded(msg.responses());
        if self.socket().is_some() {
            let bytes = msg.bytes() as u64;
            self.metrics
                .output()
                .discarded
                .fetch_add(bytes, Ordering::Relaxed);
        }
    }

    /// At the session's end: output never written is discarded.
    pub(crate) fn discard_pending(&self) {
        let left = self.pending.load(Ordering::Acquire) as u64;
        if left > 0 {
            self.metrics
                .output()
                .discarded
                .fetch_add(left, Ordering::Relaxed);
        }
    }

    /// After a put: due output a scope holds back is collected for the scope's end.
    fn put_done(self: &Arc<Self>, p: Progress, when: When) {
        if when == When::AtScopeEnd && p.due {
            output::collect(self, p.awaited);
        }
        self.progress(p);
    }

    /// The reader has read `seqs` requests in one read (TCP: its output waits until that
    /// read's answers are all in, then leaves in one write).
    pub(crate) fn note_read(&self, seqs: u64) {
        if let Some(out) = self.socket() {
            out.note_read(seqs);
        }
    }

    /// The socket output, for the writer task (TCP connections only).
    pub(crate) fn socket(&self) -> Option<&SocketOut> {
        match &self.sink {
            Sink::Socket(out) => Some(out),
            Sink::Answer(_) => None,
        }
    }

    /// Accounts for what a write did: pending bytes, answered replies and their latency,
    /// a failed socket, and the writer task's turn.
    pub(crate) fn progress(&self, p: Progress) {
        if p.bytes > 0 {
            self.pending.fetch_sub(p.bytes, Ordering::AcqRel);
            let written = &self.metrics.output().written;
            written.fetch_add(p.bytes as u64, Ordering::Relaxed);
        }
        if p.replies > 0 {
            self.answered.fetch_add(p.replies, Ordering::AcqRel);
            self.metrics.answered(p.replies);
        }
        if let Some(oldest) = p.written_oldest {
            self.metrics.written(oldest.elapsed());
        }
        if p.failed {
            self.close();
        }
        if p.kick {
            if let Some(out) = self.socket() {
                out.kick.notify_one();
            }
        }
        if p.bytes > 0 || p.replies > 0 {
            self.drained.notify_waiters();
        }
    }

    /// Answers new orders `(seq, id)` of one read `overloaded` (shed at the read), filed as
    /// one run.
    pub(crate) fn overloaded(self: &Arc<Self>, refused: &[(u64, OrderId)], read_at: Instant) {
        self.put_run(
            refused,
            |&(seq, _)| (seq, read_at),
            |&(_, id), answer| answer(&[pipeline::overloaded(id)]),
        );
    }

    /// Files a run of answers (`reply`: one's sequence number and read time; `responses`
    /// hands its responses to the closure it is given) under one lock, with one write
    /// decision and one accounting, on an open TCP connection; otherwise each answer as
    /// [`Client::reply`].
    fn put_run<R>(
        self: &Arc<Self>,
        run: &[R],
        reply: impl Fn(&R) -> (u64, Instant),
        responses: impl Fn(&R, &mut dyn FnMut(&[Response])),
    ) {
        let one = |r: &R| {
            let (seq, read_at) = reply(r);
            responses(r, &mut |rs| self.clone().reply(seq, read_at, rs));
        };
        let Some(out) = self.socket().filter(|_| !self.is_closed()) else {
            run.iter().for_each(one);
            return;
        };
        let when = output::when(Moment::Filed);
        let (p, filed) = out.put_replies(
            run,
            &reply,
            |r, buf| {
                responses(r, &mut |rs| {
                    for response in rs {
                        encode_line(response, buf);
                    }
                })
            },
            |n| self.admit(n),
            when == When::Now,
        );
        self.put_done(p, when);
        // Past the hard cap (the connection is cut now): the refused answer and the rest are
        // discarded and counted as one answer at a time would be.
        if let Some((refused, rest)) = run[filed..].split_first() {
            responses(refused, &mut |rs| self.metrics.discarded(rs.len() as u64));
            rest.iter().for_each(one);
        }
    }
}

/// The stages answer a connection through this.
impl Client for Conn {
    fn id(&self) -> ConnId {
        self.id
    }

    fn owner(&self) -> Owner {
        self.account().owner
    }

    fn orders(&self) -> &OrderState {
        &self.account().orders
    }

    /// A TCP session shares its account with the others; an HTTP request (never a session)
    /// with every live one.
    fn shares_account(&self) -> bool {
        let others = match self.socket() {
            Some(_) => 1,
            None => 0,
        };
        self.account().sessions() > others
    }

    /// Encoded straight into a TCP connection's output when it is in turn; for an HTTP
    /// request, as the body its task sends.
    fn reply(self: Arc<Self>, seq: u64, read_at: Instant, responses: &[Response]) {
        if let Sink::Answer(answer) = &self.sink {
            let body = output::body(responses);
            // As `send` does: nothing for a request gone, or past the hard cap.
            match !self.is_closed() && self.admit(body.len()) {
                true => answer.put(body, read_at),
                false => self.metrics.discarded(responses.len() as u64),
            }
            return;
        }
        self.put_encoded(
            responses,
            |out, encode, admit, write| out.put_reply(seq, read_at, encode, admit, write),
            |lines| Outgoing::Reply {
                seq,
                lines,
                read_at,
            },
        );
    }

    /// One lock, one write decision and one accounting for the run on an open TCP
    /// connection; otherwise each answer as [`Client::reply`].
    fn reply_run(self: Arc<Self>, run: &[Reply]) {
        self.put_run(
            run,
            |r| (r.seq, r.read_at),
            |r, answer| answer(&r.responses),
        );
    }
}

/// Scopes and network threads write a connection's output later through this.
impl Pending for Conn {
    fn id(&self) -> u64 {
        self.id
    }

    fn write_pending(&self) {
        if let Some(out) = self.socket() {
            self.progress(out.write_pending());
        }
    }

    fn handed(&self) -> &AtomicBool {
        &self.handed
    }
}
