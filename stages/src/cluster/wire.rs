//! The binary payloads of the order log and of the response stream (pure: bytes in, values
//! out). Little-endian, one version byte first, so a reader refuses a layout it does not know
//! instead of misreading it.
//!
//! Log records are version 2 (the sender's named account added); version 1 records, written
//! before accounts, still read, as anonymous ones. A log message may also carry session
//! events ([`LogEntry`]). Response batches are version 2 only: they live as long as a
//! connection. Market-data batches (`market`) are version 2 from the start.

mod entry;

pub(crate) use entry::LogEntry;

use super::WireError;
use crate::codec::binary::{self, request_tag, Writer};
use crate::matching::{DoneReason, OrderId, Owner, RejectReason, ReportKind, Request};

/// The layout written (of log records and response batches alike).
const VERSION: u8 = 2;

/// Log records before accounts: no owner field.
const LOG_V1: u8 = 1;

/// A connection, unique over the deployment: the ingress process that holds it and its id
/// there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct ConnRef {
    pub(crate) ingress: u64,
    pub(crate) conn: Owner,
}

/// One entry of the order log: everything matching depends on, so a replay decides exactly
/// as the first run did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LogRecord {
    pub(crate) from: ConnRef,
    /// The sender's named account ([`AccountName::owner`](crate::accounts::AccountName::owner),
    /// the same in every process); `None` for a connection's anonymous account, which the
    /// matcher numbers by `from`.
    pub(crate) owner: Option<Owner>,
    /// The request's sequence number on its connection (restores reply order at ingress).
    pub(crate) seq: u64,
    /// The connection's id floor, as decode computed it.
    pub(crate) floor: OrderId,
    pub(crate) req: Request,
}

/// The requester's part of a log entry's responses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ReplyPart {
    /// The requesting connection (a batch for every ingress names whose reply it carries).
    pub(crate) from: ConnRef,
    pub(crate) seq: u64,
    /// A new order was accepted: the connection's id floor rises to its id.
    pub(crate) accepted: bool,
    pub(crate) kinds: Vec<ReportKind>,
}

/// A report for an account's live sessions that no request of theirs is waiting for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct WireNotice {
    /// A named account's owner, or an anonymous account's connection id at its ingress.
    pub(crate) to: Owner,
    /// The session that has the report in its reply already.
    pub(crate) except: Option<ConnRef>,
    pub(crate) kind: ReportKind,
}

/// Everything one log entry caused for the connections of one ingress, or of every ingress
/// (named accounts' sessions may be anywhere).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ResponseBatch {
    pub(crate) partition: u32,
    pub(crate) position: u64,
    pub(crate) reply: Option<ReplyPart>,
    /// Reports for owners' live sessions (the resting side of a trade, a cancelled order's
    /// owner, the copies for the requester's other sessions).
    pub(crate) notices: Vec<WireNotice>,
}

impl LogRecord {
    pub(crate) fn encode(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        out.push(VERSION);
        // Named owners have the top bit set: 0 is free to mean "anonymous".
        let owner = self.owner.unwrap_or(0);
        for v in [
            self.from.ingress,
            self.from.conn,
            owner,
            self.seq,
            self.floor,
        ] {
            Writer(out).u64(v);
        }
        let tag = request_tag(&self.req).ok_or(WireError::Unencodable("login or ping"))?;
        let mut w = Writer(out);
        w.u8(tag);
        w.request_fields(&self.req);
        Ok(())
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<LogRecord, WireError> {
        let mut r = Reader::new(bytes, &[VERSION, LOG_V1])?;
        let from = ConnRef {
            ingress: r.u64()?,
            conn: r.u64()?,
        };
        let owner = match r.version {
            LOG_V1 => None,
            _ => Some(r.u64()?).filter(|&o| o != 0),
        };
        let seq = r.u64()?;
        let floor = r.u64()?;
        let tag = r.u8()?;
        let req = r.request_fields(tag)?;
        r.end()?;
        Ok(LogRecord {
            from,
            owner,
            seq,
            floor,
            req,
        })
    }
}

impl ResponseBatch {
    pub(crate) fn encode(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        out.push(VERSION);
        out.extend_from_slice(&self.partition.to_le_bytes());
        Writer(out).u64(self.position);
        match &self.reply {
            None => out.push(0),
            Some(reply) => {
                out.push(1);
                put_conn(out, reply.from);
                Writer(out).u64(reply.seq);
                out.push(u8::from(reply.accepted));
                put_len(out, reply.kinds.len())?;
                for kind in &reply.kinds {
                    put_kind(out, kind)?;
                }
            }
        }
        put_len(out, self.notices.len())?;
        for n in &self.notices {
            Writer(out).u64(n.to);
            match n.except {
                None => out.push(0),
                Some(conn) => {
                    out.push(1);
                    put_conn(out, conn);
                }
            }
            put_kind(out, &n.kind)?;
        }
        Ok(())
    }

    /// Appends this batch to a response message (what one pull caused for one ingress).
    pub(crate) fn append_to(&self, message: &mut Vec<u8>) -> Result<(), WireError> {
        append_framed(message, |m| self.encode(m))
    }

    /// Every batch of a response message, in order.
    pub(crate) fn read_all(message: &[u8]) -> Result<Vec<ResponseBatch>, WireError> {
        framed(message)
            .map(|f| f.and_then(ResponseBatch::decode))
            .collect()
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<ResponseBatch, WireError> {
        let mut r = Reader::new(bytes, &[VERSION])?;
        let partition = u32::from_le_bytes(r.array()?);
        let position = r.u64()?;
        let reply = match r.u8()? {
            0 => None,
            1 => {
                let from = r.conn()?;
                let seq = r.u64()?;
                let accepted = r.u8()? != 0;
                let n = r.len()?;
                let kinds = (0..n).map(|_| r.kind()).collect::<Result<_, _>>()?;
                Some(ReplyPart {
                    from,
                    seq,
                    accepted,
                    kinds,
                })
            }
            t => {
                return Err(WireError::Tag {
                    what: "reply",
                    tag: t,
                })
            }
        };
        let n = r.len()?;
        let notices = (0..n)
            .map(|_| r.notice())
            .collect::<Result<_, WireError>>()?;
        r.end()?;
        Ok(ResponseBatch {
            partition,
            position,
            reply,
            notices,
        })
    }
}

/// The position of entry `index` of the log message with stream sequence `seq`: positions
/// increase in matching order. A message holds at most [`ENTRIES_PER_MESSAGE`] entries.
pub(crate) fn position(seq: u64, index: usize) -> u64 {
    (seq << 16) | index as u64
}

/// The most entries an ingress puts in one log message.
pub(crate) const ENTRIES_PER_MESSAGE: usize = 1024;
const _: () = assert!(
    ENTRIES_PER_MESSAGE < 1 << 16,
    "positions keep 16 bits for the index"
);

/// Appends one length-prefixed frame written by `encode` to `message`.
fn append_framed(
    message: &mut Vec<u8>,
    encode: impl FnOnce(&mut Vec<u8>) -> Result<(), WireError>,
) -> Result<(), WireError> {
    let at = message.len();
    message.extend_from_slice(&[0; 4]);
    encode(message)?;
    let len = u32::try_from(message.len() - at - 4)
        .map_err(|_| WireError::Unencodable("frame over 4 GiB"))?;
    message[at..at + 4].copy_from_slice(&len.to_le_bytes());
    Ok(())
}

/// The frames of `message`, in order.
fn framed(mut message: &[u8]) -> impl Iterator<Item = Result<&[u8], WireError>> {
    std::iter::from_fn(move || {
        if message.is_empty() {
            return None;
        }
        let Some((len, rest)) = message.split_first_chunk::<4>() else {
            message = &[];
            return Some(Err(WireError::Truncated));
        };
        let len = u32::from_le_bytes(*len) as usize;
        if rest.len() < len {
            message = &[];
            return Some(Err(WireError::Truncated));
        }
        let (frame, rest) = rest.split_at(len);
        message = rest;
        Some(Ok(frame))
    })
}

fn put_conn(out: &mut Vec<u8>, conn: ConnRef) {
    Writer(out).u64(conn.ingress);
    Writer(out).u64(conn.conn);
}

fn put_len(out: &mut Vec<u8>, n: usize) -> Result<(), WireError> {
    let n = u16::try_from(n).map_err(|_| WireError::Unencodable("more than 65535 reports"))?;
    out.extend_from_slice(&n.to_le_bytes());
    Ok(())
}

/// The reject reasons that cross the wire (the matching engine's and the admission's;
/// the codec's field reasons are answered at the ingress). Codes are never renumbered.
const REJECT_CODES: [(RejectReason, u8); 8] = [
    (RejectReason::DuplicateId, 1),
    (RejectReason::IdNotIncreasing, 2),
    (RejectReason::UnknownOrder, 3),
    (RejectReason::Overloaded, 4),
    (RejectReason::SymbolUnavailable, 5),
    (RejectReason::WouldCross, 6),
    (RejectReason::NothingToAmend, 7),
    (RejectReason::LoginRequired, 8),
];

/// Report tags, never renumbered.
mod tag {
    pub(super) const ACK: u8 = 1;
    pub(super) const FILL: u8 = 2;
    pub(super) const DONE: u8 = 3;
    pub(super) const REJECT: u8 = 4;
    pub(super) const AMENDED: u8 = 5;
    pub(super) const ORDER: u8 = 6;
    pub(super) const ORDERS_END: u8 = 7;
    pub(super) const CANCEL_ALL_DONE: u8 = 8;
}

fn put_kind(out: &mut Vec<u8>, kind: &ReportKind) -> Result<(), WireError> {
    let mut w = Writer(out);
    match *kind {
        ReportKind::Ack { id } => {
            w.u8(tag::ACK);
            w.u64(id);
        }
        ReportKind::Fill {
            id,
            symbol,
            side,
            price,
            qty,
            leaves,
            match_id,
        } => {
            w.u8(tag::FILL);
            w.u64(id);
            w.symbol(symbol);
            w.side(side);
            for v in [price.ticks(), qty, leaves, match_id] {
                w.u64(v);
            }
        }
        ReportKind::Done { id, reason, leaves } => {
            w.u8(tag::DONE);
            w.u64(id);
            w.u8(match reason {
                DoneReason::Filled => 0,
                DoneReason::Cancelled => 1,
                DoneReason::Expired => 2,
                DoneReason::SelfTrade => 3,
            });
            w.u64(leaves);
        }
        ReportKind::Reject { id, reason } => {
            let code = REJECT_CODES
                .iter()
                .find(|(r, _)| *r == reason)
                .map(|(_, c)| *c)
                .ok_or(WireError::Unencodable("reject reason"))?;
            w.u8(tag::REJECT);
            w.u64(id);
            w.u8(code);
        }
        ReportKind::Amended { id, price, leaves } => {
            w.u8(tag::AMENDED);
            w.u64(id);
            w.u64(price.ticks());
            w.u64(leaves);
        }
        ReportKind::Order {
            id,
            symbol,
            side,
            price,
            leaves,
            tif,
        } => {
            w.u8(tag::ORDER);
            w.u64(id);
            w.symbol(symbol);
            w.side(side);
            w.u64(price.ticks());
            w.u64(leaves);
            w.tif(tif);
        }
        ReportKind::OrdersEnd { count } => {
            w.u8(tag::ORDERS_END);
            w.u64(count);
        }
        ReportKind::CancelAllDone { count } => {
            w.u8(tag::CANCEL_ALL_DONE);
            w.u64(count);
        }
    }
    Ok(())
}

/// The shared field reader, behind this format's version byte.
struct Reader<'a> {
    fields: binary::Reader<'a>,
    version: u8,
}

impl<'a> std::ops::Deref for Reader<'a> {
    type Target = binary::Reader<'a>;

    fn deref(&self) -> &Self::Target {
        &self.fields
    }
}

impl std::ops::DerefMut for Reader<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.fields
    }
}

impl<'a> Reader<'a> {
    /// A reader of a payload in one of the `known` versions.
    fn new(bytes: &'a [u8], known: &[u8]) -> Result<Reader<'a>, WireError> {
        let mut fields = binary::Reader::new(bytes);
        match fields.u8()? {
            version if known.contains(&version) => Ok(Reader { fields, version }),
            v => Err(WireError::Version(v)),
        }
    }

    fn conn(&mut self) -> Result<ConnRef, WireError> {
        Ok(ConnRef {
            ingress: self.u64()?,
            conn: self.u64()?,
        })
    }

    fn notice(&mut self) -> Result<WireNotice, WireError> {
        let to = self.u64()?;
        let except = match self.u8()? {
            0 => None,
            1 => Some(self.conn()?),
            t => {
                return Err(WireError::Tag {
                    what: "notice",
                    tag: t,
                })
            }
        };
        Ok(WireNotice {
            to,
            except,
            kind: self.kind()?,
        })
    }

    fn len(&mut self) -> Result<usize, WireError> {
        Ok(usize::from(u16::from_le_bytes(self.array()?)))
    }

    fn kind(&mut self) -> Result<ReportKind, WireError> {
        Ok(match self.u8()? {
            tag::ACK => ReportKind::Ack { id: self.u64()? },
            tag::FILL => ReportKind::Fill {
                id: self.u64()?,
                symbol: self.symbol()?,
                side: self.side()?,
                price: self.price()?,
                qty: self.u64()?,
                leaves: self.u64()?,
                match_id: self.u64()?,
            },
            tag::DONE => ReportKind::Done {
                id: self.u64()?,
                reason: match self.u8()? {
                    0 => DoneReason::Filled,
                    1 => DoneReason::Cancelled,
                    2 => DoneReason::Expired,
                    3 => DoneReason::SelfTrade,
                    t => {
                        return Err(WireError::Tag {
                            what: "done reason",
                            tag: t,
                        })
                    }
                },
                leaves: self.u64()?,
            },
            tag::REJECT => {
                let id = self.u64()?;
                let code = self.u8()?;
                let reason = REJECT_CODES
                    .iter()
                    .find(|(_, c)| *c == code)
                    .map(|(r, _)| *r)
                    .ok_or(WireError::Tag {
                        what: "reject reason",
                        tag: code,
                    })?;
                ReportKind::Reject { id, reason }
            }
            tag::AMENDED => ReportKind::Amended {
                id: self.u64()?,
                price: self.price()?,
                leaves: self.u64()?,
            },
            tag::ORDER => ReportKind::Order {
                id: self.u64()?,
                symbol: self.symbol()?,
                side: self.side()?,
                price: self.price()?,
                leaves: self.u64()?,
                tif: self.tif()?,
            },
            tag::ORDERS_END => ReportKind::OrdersEnd { count: self.u64()? },
            tag::CANCEL_ALL_DONE => ReportKind::CancelAllDone { count: self.u64()? },
            t => {
                return Err(WireError::Tag {
                    what: "report",
                    tag: t,
                })
            }
        })
    }

    fn end(&self) -> Result<(), WireError> {
        match self.left() {
            0 => Ok(()),
            n => Err(WireError::Trailing(n)),
        }
    }
}

mod market;

pub(crate) use market::MarketBatch;

#[cfg(test)]
mod tests;
