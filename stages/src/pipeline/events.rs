//! The events that travel between the order pipeline's stages.

use std::sync::Arc;
use std::time::Instant;

use crate::codec::Response;
use crate::matching::{ReportKind, Request};
use crate::net::{Conn, ConnId};

/// Into decode: a frame read from a connection, or the word that its stall is over.
#[derive(Debug)]
pub(crate) enum DecodeIn {
    Frame {
        conn: Arc<Conn>,
        seq: u64,
        frame: Vec<u8>,
        read_at: Instant,
    },
    /// The connection's in-flight orders settled: held frames can be decoded.
    Resume(Arc<Conn>),
}

impl DecodeIn {
    pub(crate) fn conn(&self) -> &Arc<Conn> {
        match self {
            DecodeIn::Frame { conn, .. } | DecodeIn::Resume(conn) => conn,
        }
    }
}

/// Into matching: a validated order or cancel with its connection's id floor.
#[derive(Debug)]
pub(crate) struct OrderIn {
    pub(crate) conn: Arc<Conn>,
    pub(crate) seq: u64,
    pub(crate) req: Request,
    /// Orders with an id at or below this are `id not increasing` (0: no constraint left).
    pub(crate) floor: u64,
    pub(crate) read_at: Instant,
}

/// Into encode: everything a request caused for its sender, or a report for another owner.
#[derive(Debug)]
pub(crate) enum EncodeIn {
    Reply {
        conn: Arc<Conn>,
        seq: u64,
        responses: Vec<Response>,
        read_at: Instant,
    },
    Notify {
        to: ConnId,
        kind: ReportKind,
    },
}
