//! Decode: frames → validated requests, keyed by connection.
//!
//! Besides parsing, decode applies the cheap half of the per-connection id rule. An order whose
//! id is above every id its connection sent before needs no floor. Otherwise the answer
//! depends on whether earlier orders (possibly still in flight on other symbols' threads)
//! were accepted, so the connection is held here until they settle; matching then wakes it.

use std::sync::atomic::Ordering::SeqCst;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use sedaflow::{Batch, Bounced, Context, Handler};

use super::events::{DecodeIn, EncodeIn, Order};
use crate::codec::{decode_request, Response};
use crate::internal_events::ServerMetrics;
use crate::matching::{RejectReason, ReportKind, Request};
use crate::net::Conn;

pub(crate) struct Decode {
    pub(crate) metrics: ServerMetrics,
    /// Where validated orders go: matching directly, or a stage added before it.
    pub(crate) topic: Option<&'static str>,
}

impl Handler for Decode {
    type In = DecodeIn;

    fn handle(&mut self, batch: &mut Batch<'_, DecodeIn>, ctx: &mut Context<'_>) {
        for event in batch {
            match event {
                DecodeIn::Frame { .. } if event.conn().stalled.load(SeqCst) => {
                    event.conn().clone().held.lock().push(event);
                }
                DecodeIn::Frame {
                    conn,
                    seq,
                    frame,
                    read_at,
                } => {
                    self.frame(conn, seq, frame, read_at, ctx);
                }
                DecodeIn::Resume(conn) => self.resume(&conn, ctx),
            }
        }
    }

    /// Matching refused orders (its queue is full and set to `Reject`): answer `overloaded`.
    fn bounced(&mut self, bounced: Bounced, ctx: &mut Context<'_>) {
        match bounced.take::<Order>() {
            Ok(orders) => {
                for o in orders {
                    let id = o.req.id().unwrap_or_default();
                    self.metrics.refused(RejectReason::Overloaded.as_str());
                    reply(
                        ctx,
                        &o.conn,
                        o.seq,
                        o.read_at,
                        ReportKind::Reject {
                            id,
                            reason: RejectReason::Overloaded,
                        }
                        .into(),
                    );
                    settle(&o.conn);
                }
            }
            Err(other) => ctx.dead_letter_bounced(other),
        }
    }
}

impl Decode {
    fn frame(
        &self,
        conn: Arc<Conn>,
        seq: u64,
        frame: Bytes,
        read_at: Instant,
        ctx: &mut Context<'_>,
    ) {
        let req = match decode_request(&frame) {
            Ok(req) => req,
            Err(e) => {
                self.metrics.frame_rejected(&e);
                reply(ctx, &conn, seq, read_at, e.into());
                return;
            }
        };
        let floor = match req {
            Request::Ping => {
                reply(ctx, &conn, seq, read_at, Response::Pong);
                return;
            }
            Request::Cancel { .. } => 0,
            Request::Limit { id, .. } | Request::Market { id, .. } => {
                if id > conn.max_sent.load(SeqCst) {
                    0
                } else {
                    // Stall, then look again: matching either sees the flag and wakes us, or
                    // settled before we set it and we see zero in flight.
                    conn.stalled.store(true, SeqCst);
                    if conn.in_flight.load(SeqCst) > 0 {
                        conn.held.lock().push(DecodeIn::Frame {
                            conn: conn.clone(),
                            seq,
                            frame,
                            read_at,
                        });
                        return;
                    }
                    conn.stalled.store(false, SeqCst);
                    conn.max_accepted.load(SeqCst)
                }
            }
        };
        if let Some(id) = req.id().filter(|_| !matches!(req, Request::Cancel { .. })) {
            conn.max_sent.fetch_max(id, SeqCst);
        }
        conn.in_flight.fetch_add(1, SeqCst);
        self.metrics.request();
        let order = Order {
            conn,
            seq,
            req,
            floor,
            read_at,
        };
        match self.topic {
            Some(topic) => ctx.emit_to(topic, order),
            None => ctx.emit(order),
        }
    }

    fn resume(&self, conn: &Arc<Conn>, ctx: &mut Context<'_>) {
        conn.stalled.store(false, SeqCst);
        let held = std::mem::take(&mut *conn.held.lock());
        let mut rest = held.into_iter();
        while let Some(event) = rest.next() {
            if conn.stalled.load(SeqCst) {
                // Stalled again: `held` now holds just the frame that stalled (it came before
                // this one), and nothing newer can arrive meanwhile (this lane is busy here).
                let mut held = conn.held.lock();
                held.push(event);
                held.extend(rest);
                return;
            }
            if let DecodeIn::Frame {
                conn,
                seq,
                frame,
                read_at,
            } = event
            {
                self.frame(conn, seq, frame, read_at, ctx);
            }
        }
    }
}

/// Answers request `seq` of `conn` with one response.
fn reply(ctx: &mut Context<'_>, conn: &Arc<Conn>, seq: u64, read_at: Instant, response: Response) {
    ctx.emit(EncodeIn::Reply {
        conn: conn.clone(),
        seq,
        responses: vec![response],
        read_at,
    });
}

/// One of the connection's orders left matching; wakes a stalled connection when it was the
/// last (through the connection's task, never by blocking on decode's queue).
pub(crate) fn settle(conn: &Conn) {
    if conn.in_flight.fetch_sub(1, SeqCst) == 1 && conn.stalled.load(SeqCst) {
        conn.resume.notify_one();
    }
}
