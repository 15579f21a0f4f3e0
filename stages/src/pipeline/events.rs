//! The events that travel between the order pipeline's stages.

use std::time::Instant;

use bytes::Bytes;
use sedaflow::Context;

use super::client::{ClientRef, ConnId};
use crate::codec::Response;
use crate::matching::{RejectReason, ReportKind, Request};

/// Into decode: a frame read from a connection, or the word that its stall is over.
#[derive(Debug)]
pub(crate) enum DecodeIn {
    Frame {
        conn: ClientRef,
        seq: u64,
        /// A slice of the buffer its read's frames share.
        frame: Bytes,
        read_at: Instant,
    },
    /// The connection's in-flight orders settled: held frames can be decoded.
    Resume(ClientRef),
}

impl DecodeIn {
    pub(crate) fn conn(&self) -> &ClientRef {
        match self {
            DecodeIn::Frame { conn, .. } | DecodeIn::Resume(conn) => conn,
        }
    }
}

/// A validated order or cancel on its way to matching. A stage added before matching (see
/// [`ServerBuilder::before_matching`](crate::ServerBuilder::before_matching)) receives these:
/// it passes an order on with `ctx.emit(order)` or refuses it with [`Order::reject`].
#[derive(Debug)]
pub struct Order {
    pub(crate) conn: ClientRef,
    pub(crate) seq: u64,
    pub(crate) req: Request,
    /// Orders with an id at or below this are `id not increasing` (0: no constraint left).
    pub(crate) floor: u64,
    pub(crate) read_at: Instant,
}

impl Order {
    /// The request (`limit`, `market` or `cancel`).
    pub fn request(&self) -> &Request {
        &self.req
    }

    /// The connection that sent it.
    pub fn conn_id(&self) -> ConnId {
        self.conn.id()
    }

    /// Answers the order with `reject` and `reason` instead of matching it. The answer keeps
    /// the connection's response order like any other.
    pub fn reject(self, reason: &'static str, ctx: &mut Context<'_>) {
        ctx.emit(self.refused(RejectReason::Custom(reason)));
    }

    /// The one way an order leaves the pipeline unmatched: it is settled (no longer in flight
    /// for the id rule) and answered with `reject` and `reason` in its sequence slot.
    pub(crate) fn refused(self, reason: RejectReason) -> EncodeIn {
        self.conn.orders().settle();
        let id = self.req.id().unwrap_or_default();
        EncodeIn::Reply {
            conn: self.conn,
            seq: self.seq,
            responses: vec![ReportKind::Reject { id, reason }.into()],
            read_at: self.read_at,
        }
    }
}

/// Into encode: everything a request caused for its sender, or a report for another owner.
#[derive(Debug)]
pub(crate) enum EncodeIn {
    Reply {
        conn: ClientRef,
        seq: u64,
        responses: Vec<Response>,
        read_at: Instant,
    },
    Notify {
        to: ConnId,
        kind: ReportKind,
    },
}

impl EncodeIn {
    /// The connection the output is for: encode is keyed by it, so one connection's reports
    /// (a fill, then its `done`) are encoded and written in the order matching made them.
    pub(crate) fn conn_id(&self) -> ConnId {
        match self {
            EncodeIn::Reply { conn, .. } => conn.id(),
            EncodeIn::Notify { to, .. } => *to,
        }
    }
}
