//! Decode: frames → validated requests, keyed by account, so all of an account's sessions
//! share one lane and its requests take effect in the order decode saw them.
//!
//! Besides parsing, decode applies the per-account id rule
//! ([`OrderState`](super::order_state::OrderState)): a frame of a stalled account is held
//! until its earlier orders settle. A request on every book (`orders`, `cancel_all` without
//! a symbol) goes to every matching lane as one part each ([`Gather`]); so does the
//! `cancel_all` of an account whose last session closed, with `cancel_on_disconnect`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use sedaflow::{key_digest, Batch, Bounced, Context, Handler};

use super::client::ClientRef;
use super::events::{DecodeIn, EncodeIn, Frames, Order};
use super::order_state::Admit;
use crate::admission::Admission;
use crate::codec::{decode_request, ErrorReason, Response};
use crate::gather::Gather;
use crate::internal_events::ServerMetrics;
use crate::matching::{RejectReason, Request};

pub(crate) struct Decode {
    metrics: ServerMetrics,
    /// Where validated orders go: matching directly, or a stage added before it.
    topic: Option<&'static str>,
    /// Matching's lanes, known once the pipeline is built: the parts of a request on every
    /// book.
    lanes: Arc<AtomicUsize>,
    /// Counts the requests in decode's queue in front of matching, for the admission limit.
    admission: Arc<Admission>,
    /// Requests this batch took from the queue: admission counts them until their orders
    /// are in matching's queue ([`Handler::handed_on`]).
    taken: usize,
    /// Requests passed on in this batch: counted once per batch, as the counter is shared.
    passed: u64,
}

impl Handler for Decode {
    type In = DecodeIn;

    fn handle(&mut self, batch: &mut Batch<'_, DecodeIn>, ctx: &mut Context<'_>) {
        for event in batch {
            // Counted before handling: a panic fails the event, which left the queue too.
            self.taken += event.requests();
            match event {
                DecodeIn::Resume(conn) => self.resume(&conn, ctx),
                _ if event.conn().orders().is_stalled() => {
                    event.conn().clone().orders().hold(event);
                }
                event => self.take(event, ctx),
            }
        }
        self.metrics.requests(std::mem::take(&mut self.passed));
    }

    fn handed_on(&mut self) {
        self.admission.left_decode(std::mem::take(&mut self.taken));
    }

    /// Matching refused orders (its queue is full and set to `Reject`): answer `overloaded`.
    fn bounced(&mut self, bounced: Bounced, ctx: &mut Context<'_>) {
        match bounced.take::<Order>() {
            Ok(orders) => {
                for o in orders {
                    self.metrics.refused(RejectReason::Overloaded.as_str());
                    if let Some(answer) = o.refused(RejectReason::Overloaded) {
                        ctx.emit(answer);
                    }
                }
            }
            Err(other) => ctx.dead_letter_bounced(other),
        }
    }
}

impl Decode {
    pub(crate) fn new(
        metrics: ServerMetrics,
        topic: Option<&'static str>,
        lanes: Arc<AtomicUsize>,
        admission: Arc<Admission>,
    ) -> Decode {
        Decode {
            metrics,
            topic,
            lanes,
            admission,
            taken: 0,
            passed: 0,
        }
    }

    /// A read's frames or a disconnect, in its turn.
    fn take(&mut self, event: DecodeIn, ctx: &mut Context<'_>) {
        match event {
            DecodeIn::Read(frames) => self.read(frames, ctx),
            DecodeIn::Disconnected(conn) => {
                let req = Request::CancelAll { symbol: None };
                let _ = conn.orders().admit(&req);
                // Nobody waits for the answer: the account's sessions are gone.
                self.send(Order::disconnect(conn, req), ctx);
            }
            DecodeIn::Resume(conn) => self.resume(&conn, ctx),
        }
    }

    /// Decodes a read's frames in order; a frame that stalls its account is held with the
    /// frames after it.
    fn read(&mut self, mut frames: Frames, ctx: &mut Context<'_>) {
        for at in 0..frames.spans.len() {
            let (seq, span) = frames.spans[at].clone();
            let frame = &frames.bytes[span];
            if let Decoded::Stalled = self.frame(&frames.conn, seq, frame, frames.read_at, ctx) {
                frames.spans.drain(..at);
                let conn = frames.conn.clone();
                conn.orders().hold(DecodeIn::Read(frames));
                return;
            }
        }
    }

    fn frame(
        &mut self,
        conn: &ClientRef,
        seq: u64,
        frame: &[u8],
        read_at: Instant,
        ctx: &mut Context<'_>,
    ) -> Decoded {
        let req = match decode_request(frame) {
            Ok(req) => req,
            Err(e) => {
                self.metrics.frame_rejected(&e);
                reply(ctx, conn, seq, read_at, e.into());
                return Decoded::Done;
            }
        };
        match req {
            Request::Ping => reply(ctx, conn, seq, read_at, Response::Pong),
            // The network answers a login before the session's first request reaches here.
            Request::Login => {
                let late = Response::Error(ErrorReason::LoginNotFirst);
                reply(ctx, conn, seq, read_at, late);
            }
            _ => match conn.orders().admit(&req) {
                Admit::Pass { floor } => {
                    self.passed += 1;
                    let order = Order::new(conn.clone(), seq, req, floor, read_at);
                    self.send(order, ctx);
                }
                Admit::Stall => return Decoded::Stalled,
            },
        }
        Decoded::Done
    }

    /// Hands an admitted request on: to its symbol's matching lane, or one part to each lane.
    fn send(&self, mut order: Order, ctx: &mut Context<'_>) {
        match order.req.symbol() {
            Some(symbol) => {
                order.route = key_digest(&symbol);
                self.emit(order, ctx);
            }
            None => {
                let lanes = self.lanes.load(Ordering::Acquire).max(1);
                let cancels = matches!(order.req, Request::CancelAll { .. });
                let gather = Arc::new(Gather::new(lanes, cancels));
                for lane in 0..lanes {
                    self.emit(order.part(lane as u64, &gather), ctx);
                }
            }
        }
    }

    fn emit(&self, order: Order, ctx: &mut Context<'_>) {
        match self.topic {
            Some(topic) => ctx.emit_to(topic, order),
            None => ctx.emit(order),
        }
    }

    fn resume(&mut self, conn: &ClientRef, ctx: &mut Context<'_>) {
        let mut rest = conn.orders().resume().into_iter();
        while let Some(event) = rest.next() {
            if conn.orders().is_stalled() {
                // Stalled again: only the frame that stalled is held (it came before this
                // one), and nothing newer can arrive meanwhile (this lane is busy here).
                conn.orders().hold_all(std::iter::once(event).chain(rest));
                return;
            }
            self.take(event, ctx);
        }
    }
}

/// What became of a frame.
enum Decoded {
    /// Answered, or passed on.
    Done,
    /// Its account stalled (the id rule): it waits, with the frames after it.
    Stalled,
}

/// Answers request `seq` of `conn` with one response.
fn reply(ctx: &mut Context<'_>, conn: &ClientRef, seq: u64, read_at: Instant, response: Response) {
    ctx.emit(EncodeIn::Reply {
        conn: conn.clone(),
        seq,
        responses: vec![response],
        read_at,
    });
}
