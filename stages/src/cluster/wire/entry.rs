//! One entry of the order log: an order ([`LogRecord`]) or a session event. With
//! `cancel_on_disconnect`, ingresses log when a named account's session opens and closes,
//! and matchers log when an ingress's lease expired, so every partition counts each account's
//! sessions over all ingresses in log order, and a replay counts them again the same way.
//!
//! An event starts with [`EVENT`] where an order starts with its layout version, so orders
//! keep the layout they had.

use super::{append_framed, framed, ConnRef, LogRecord, Reader, WireError};
use crate::codec::binary::Writer;
use crate::matching::Owner;

/// The first byte of a session event.
const EVENT: u8 = 0x80;

/// Event tags, never renumbered.
mod tag {
    pub(super) const OPENED: u8 = 1;
    pub(super) const CLOSED: u8 = 2;
    pub(super) const INGRESS_GONE: u8 = 3;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LogEntry {
    Order(LogRecord),
    /// A named account's session logged in at its ingress.
    Opened {
        session: ConnRef,
        owner: Owner,
    },
    /// The session closed; logged behind every request it sent.
    Closed {
        session: ConnRef,
        owner: Owner,
    },
    /// The ingress's lease expired: its sessions count as closed, and its later entries are
    /// ignored (it stops once it finds its lease gone).
    IngressGone {
        ingress: u64,
    },
}

impl LogEntry {
    pub(crate) fn encode(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        let (tag, session, owner) = match *self {
            LogEntry::Order(ref rec) => return rec.encode(out),
            LogEntry::Opened { session, owner } => (tag::OPENED, session, owner),
            LogEntry::Closed { session, owner } => (tag::CLOSED, session, owner),
            LogEntry::IngressGone { ingress } => {
                let mut w = Writer(out);
                w.u8(EVENT);
                w.u8(tag::INGRESS_GONE);
                w.u64(ingress);
                return Ok(());
            }
        };
        let mut w = Writer(out);
        w.u8(EVENT);
        w.u8(tag);
        for v in [session.ingress, session.conn, owner] {
            w.u64(v);
        }
        Ok(())
    }

    /// Appends this entry to a log message (one per partition per round of an ingress).
    pub(crate) fn append_to(&self, message: &mut Vec<u8>) -> Result<(), WireError> {
        append_framed(message, |m| self.encode(m))
    }

    /// Every entry of a log message, in order.
    pub(crate) fn read_all(message: &[u8]) -> Result<Vec<LogEntry>, WireError> {
        framed(message)
            .map(|f| f.and_then(LogEntry::decode))
            .collect()
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<LogEntry, WireError> {
        if bytes.first() != Some(&EVENT) {
            return LogRecord::decode(bytes).map(LogEntry::Order);
        }
        let mut r = Reader::new(bytes, &[EVENT])?;
        let entry = match r.u8()? {
            tag::INGRESS_GONE => LogEntry::IngressGone { ingress: r.u64()? },
            t @ (tag::OPENED | tag::CLOSED) => {
                let (session, owner) = (r.conn()?, r.u64()?);
                match t {
                    tag::OPENED => LogEntry::Opened { session, owner },
                    _ => LogEntry::Closed { session, owner },
                }
            }
            t => {
                return Err(WireError::Tag {
                    what: "log event",
                    tag: t,
                })
            }
        };
        r.end()?;
        Ok(entry)
    }
}
