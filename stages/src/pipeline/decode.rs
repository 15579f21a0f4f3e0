//! Decode: frames → validated requests, keyed by connection.
//!
//! Besides parsing, decode applies the per-connection id rule ([`OrderState`](super::order_state::OrderState)): a frame of a
//! stalled connection is held until its earlier orders settle.

use std::time::Instant;

use bytes::Bytes;
use sedaflow::{Batch, Bounced, Context, Handler};

use super::client::ClientRef;
use super::events::{DecodeIn, EncodeIn, Order};
use super::order_state::Admit;
use crate::codec::{decode_request, Response};
use crate::internal_events::ServerMetrics;
use crate::matching::{RejectReason, Request};

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
                DecodeIn::Frame { .. } if event.conn().orders().is_stalled() => {
                    event.conn().clone().orders().hold(event);
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
                    self.metrics.refused(RejectReason::Overloaded.as_str());
                    ctx.emit(o.refused(RejectReason::Overloaded));
                }
            }
            Err(other) => ctx.dead_letter_bounced(other),
        }
    }
}

impl Decode {
    fn frame(
        &self,
        conn: ClientRef,
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
        if matches!(req, Request::Ping) {
            reply(ctx, &conn, seq, read_at, Response::Pong);
            return;
        }
        let floor = match conn.orders().admit(&req) {
            Admit::Pass { floor } => floor,
            Admit::Stall => {
                conn.clone().orders().hold(DecodeIn::Frame {
                    conn,
                    seq,
                    frame,
                    read_at,
                });
                return;
            }
        };
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

    fn resume(&self, conn: &ClientRef, ctx: &mut Context<'_>) {
        let mut rest = conn.orders().resume().into_iter();
        while let Some(event) = rest.next() {
            if conn.orders().is_stalled() {
                // Stalled again: only the frame that stalled is held (it came before this
                // one), and nothing newer can arrive meanwhile (this lane is busy here).
                conn.orders().hold_all(std::iter::once(event).chain(rest));
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
fn reply(ctx: &mut Context<'_>, conn: &ClientRef, seq: u64, read_at: Instant, response: Response) {
    ctx.emit(EncodeIn::Reply {
        conn: conn.clone(),
        seq,
        responses: vec![response],
        read_at,
    });
}
