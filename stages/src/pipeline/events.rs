//! The events that travel between the order pipeline's stages.

use std::ops::Range;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use sedaflow::Context;

use super::client::{ClientRef, ConnId, Notice};
use crate::codec::Response;
use crate::gather::Gather;
use crate::matching::{Owner, RejectReason, ReportKind, Request};

/// Into decode: a read's frames, the word that its account's stall is over, or that the
/// account's last session closed (cancel on disconnect).
#[derive(Debug)]
pub(crate) enum DecodeIn {
    Read(Frames),
    /// The account's in-flight orders settled: held frames can be decoded.
    Resume(ClientRef),
    /// The account's last session closed: cancel all its resting orders.
    Disconnected(ClientRef),
}

impl DecodeIn {
    pub(crate) fn conn(&self) -> &ClientRef {
        match self {
            DecodeIn::Read(Frames { conn, .. })
            | DecodeIn::Resume(conn)
            | DecodeIn::Disconnected(conn) => conn,
        }
    }

    /// The requests it carries: what admission counts.
    pub(crate) fn requests(&self) -> usize {
        match self {
            DecodeIn::Read(frames) => frames.spans.len(),
            DecodeIn::Resume(_) | DecodeIn::Disconnected(_) => 0,
        }
    }
}

/// A frame's sequence number and its bytes' span in its read's buffer.
pub(crate) type Span = (u64, Range<usize>);

/// The frames of one read (a TCP read, an HTTP request), oldest first, as one event: every
/// event costs each stage a hand-off, a key and a move, and a read carries up to a buffer's
/// worth of requests. Decode's queue therefore counts reads; admission counts the requests
/// in them ([`DecodeIn::requests`]).
#[derive(Debug)]
pub(crate) struct Frames {
    pub(crate) conn: ClientRef,
    /// The frames' bytes: one buffer per read.
    pub(crate) bytes: Bytes,
    pub(crate) spans: Vec<Span>,
    pub(crate) read_at: Instant,
}

impl Frames {
    /// A read of one frame, request `seq`.
    pub(crate) fn one(conn: ClientRef, seq: u64, frame: Bytes, read_at: Instant) -> Frames {
        let spans = vec![(seq, 0..frame.len())];
        Frames {
            conn,
            bytes: frame,
            spans,
            read_at,
        }
    }

    /// Each frame with its sequence number, oldest first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u64, &[u8])> {
        self.spans
            .iter()
            .map(|(seq, span)| (*seq, &self.bytes[span.clone()]))
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
    /// Matching's lane digest: the symbol's, or the lane itself for one part of a request on
    /// every book.
    pub(crate) route: u64,
    /// For a request on every book: the answer the lanes' parts are merged into.
    pub(crate) part: Option<Arc<Gather>>,
}

/// The sequence number of the `cancel_all` of an account whose last session closed: no
/// request has it, and nobody waits for its answer. (A sentinel rather than a flag keeps an
/// `Order` within 128 bytes, which a move copies inline instead of calling `memcpy`.)
const DISCONNECT: u64 = u64::MAX;

const _: () = assert!(std::mem::size_of::<Order>() <= 128);

impl Order {
    /// A request of `conn`, read at `read_at`, as decode admitted it; `send` routes it.
    pub(crate) fn new(
        conn: ClientRef,
        seq: u64,
        req: Request,
        floor: u64,
        read_at: Instant,
    ) -> Order {
        Order {
            conn,
            seq,
            req,
            floor,
            read_at,
            route: 0,
            part: None,
        }
    }

    /// The `cancel_all` of `conn`'s account, whose last session closed (each cancel is a step
    /// of its book's market-data sequence).
    pub(crate) fn disconnect(conn: ClientRef, req: Request) -> Order {
        Order::new(conn, DISCONNECT, req, 0, Instant::now())
    }

    /// Whether this is an account's closing `cancel_all` ([`Order::disconnect`]).
    pub(crate) fn is_disconnect(&self) -> bool {
        self.seq == DISCONNECT
    }

    /// The part of this request on every book for matching lane `lane`.
    pub(crate) fn part(&self, lane: u64, gather: &Arc<Gather>) -> Order {
        Order {
            conn: self.conn.clone(),
            route: lane,
            part: Some(gather.clone()),
            ..*self
        }
    }

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
        if let Some(answer) = self.refused(RejectReason::Custom(reason)) {
            ctx.emit(answer);
        }
    }

    /// The one way an order leaves the pipeline unmatched: it is settled (no longer in flight
    /// for the id rule) and answered with `reject` and `reason` in its sequence slot. A part
    /// of a request on every book answers only when it is the last; a request without an id
    /// is answered with `error`.
    pub(crate) fn refused(self, reason: RejectReason) -> Option<EncodeIn> {
        let mut responses = Vec::new();
        if let Some(part) = &self.part {
            let merged = part.refused(reason)?;
            responses.extend(merged.kinds.into_iter().map(Response::Report));
        }
        self.conn.orders().settle();
        responses.push(refusal(&self.req, reason));
        Some(EncodeIn::Reply {
            conn: self.conn,
            seq: self.seq,
            responses,
            read_at: self.read_at,
        })
    }
}

/// The answer to a refused request: `reject` for its id, or `error` when it has none.
pub(crate) fn refusal(req: &Request, reason: RejectReason) -> Response {
    match req.id() {
        Some(id) => ReportKind::Reject { id, reason }.into(),
        None => Response::Refused(reason),
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
    Notify(Notice),
}

impl EncodeIn {
    /// The account the output is for: encode is keyed by it, so an account's reports (a
    /// fill, then its `done`) reach each of its sessions in the order matching made them.
    pub(crate) fn owner(&self) -> Owner {
        match self {
            EncodeIn::Reply { conn, .. } => conn.owner(),
            EncodeIn::Notify(n) => n.to,
        }
    }
}
