//! The journal's on-disk records: pure encoding and decoding, no IO.
//!
//! # Files
//!
//! A journal directory holds segment files `segment-<n>.log` and snapshot files
//! `snapshot-<n>.snap` (`<n>` zero-padded to 20 digits, segments numbered from 1). Each file
//! starts with an 8-byte magic ([`SEGMENT_MAGIC`] or [`SNAPSHOT_MAGIC`], whose last byte is the
//! format version) followed by framed records.
//!
//! # Framing
//!
//! Every record is `len: u32 LE | crc: u32 LE | payload (len bytes)`, where `crc` is the
//! CRC-32 (IEEE) of the four `len` bytes followed by the payload, and `len` is at most
//! [`MAX_PAYLOAD`]. Covering the length makes a zero-filled tail (a file extended but never
//! written before a power cut) fail the check. The first record whose frame is short, whose
//! length is out of range, whose checksum fails or whose payload does not parse ends the
//! valid part of a file: [`decode_records`] reports where.
//!
//! # Payloads
//!
//! The first payload byte is a tag; integers are little-endian `u64`, a symbol is one length
//! byte and its ASCII text (an optional symbol: a `0` length byte for none), a side is `0`
//! buy / `1` sell, a tif `0` gtc / `1` ioc / `2` fok / `3` post, an stp `0` none /
//! `1` cancel_taker / `2` cancel_maker / `3` cancel_both, a price is its count of 0.0001
//! ticks.
//!
//! | tag | record | fields after the tag |
//! |---|---|---|
//! | 1 | limit request | owner, floor, id, symbol, side, price, qty, tif |
//! | 2 | market request | owner, floor, id, symbol, side, qty |
//! | 3 | cancel request | owner, floor, id, symbol |
//! | 4 | limit request with stp | owner, floor, id, symbol, side, price, qty, tif, stp |
//! | 5 | market request with stp | owner, floor, id, symbol, side, qty, stp |
//! | 6 | amend request | owner, floor, id, symbol, qty (0: unchanged), price (0: unchanged) |
//! | 7 | cancel_all request | owner, floor, optional symbol |
//! | 16 | snapshot header | segment covered, connection-id base, book count |
//! | 17 | book | symbol, last match id, resting order count |
//! | 18 | resting order, `gtc` without `stp` | owner, id, side, price, leaves |
//! | 19 | resting order otherwise | owner, id, side, price, leaves, tif, stp |
//! | 20 | account's highest accepted id | owner, id |
//! | 21 | book with a depth sequence | symbol, last match id, sequence, resting order count |
//!
//! Tags are only ever added, so the format stays version 1: files written before tags 4–7,
//! 19–21 existed read the same (a tag 17 book has sequence 0), and what format 1 could say
//! is still written its way (an order without `stp` as tag 1 or 2, a `gtc` resting order
//! without `stp` as tag 18, a book with sequence 0 as tag 17). Every record has one
//! spelling: tags 4, 5 never carry `stp` `none`, tag 19 never `gtc` without `stp`, tag 21
//! never sequence 0. The request tags are the ones the cluster's
//! log uses (`codec::binary`); `orders` (8), `login` and `ping` change nothing and are never
//! recorded.
//!
//! A segment holds request records in the order the matching stage applied them (per symbol,
//! the order that reproduces every decision: `owner` is the account, `floor` the id floor
//! the request was matched with). A snapshot holds one header, then per book its book record
//! followed by its resting orders in time priority, then one tag 20 record per named account
//! that ever had an order accepted, ascending by owner.

use crate::codec::binary::{request_tag, Reader, Writer};
use crate::matching::{OrderId, Outcome, Owner, Request, Resting, Stp, Symbol, Tif};

/// The first bytes of a segment file (format version 1).
pub const SEGMENT_MAGIC: [u8; 8] = *b"SFJRNL\x00\x01";
/// The first bytes of a snapshot file (format version 1).
pub const SNAPSHOT_MAGIC: [u8; 8] = *b"SFSNAP\x00\x01";
/// The largest payload a frame may announce; real records are far smaller.
pub const MAX_PAYLOAD: usize = 256;
/// Bytes of a frame before its payload.
const HEADER: usize = 8;

// Request records carry the shared request tags (`codec::binary::request_tag`), all below
// the snapshot's.
const TAG_SNAPSHOT: u8 = 16;
const TAG_BOOK: u8 = 17;
const TAG_RESTING_V1: u8 = 18;
const TAG_RESTING: u8 = 19;
const TAG_FLOOR: u8 = 20;
const TAG_BOOK_SEQ: u8 = 21;

/// One journal or snapshot record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Record {
    /// A request the matching stage applied: replaying it with `Engine::submit(owner, &req,
    /// floor, ..)` makes the same decision again. Never [`Request::Orders`],
    /// [`Request::Login`] or [`Request::Ping`].
    Request {
        /// The account that sent it (a connection's anonymous account, or a named one).
        owner: Owner,
        /// The id floor it was matched with.
        floor: OrderId,
        /// The request.
        req: Request,
    },
    /// Opens a snapshot: the state after every segment up to `segment`.
    Snapshot {
        /// The last segment the snapshot covers.
        segment: u64,
        /// Every connection id ever journaled is at most this.
        conn_base: u64,
        /// How many books follow.
        books: u64,
    },
    /// A book in a snapshot; its resting orders follow.
    Book {
        /// Its symbol.
        symbol: Symbol,
        /// The `match` id of its latest trade.
        last_match: u64,
        /// Its depth sequence (`Book::seq`); 0 in snapshots written before it was kept.
        seq: u64,
        /// How many resting orders follow.
        orders: u64,
    },
    /// A resting order in a snapshot.
    Resting(Resting),
    /// A named account's highest accepted order id, in a snapshot: its id floor survives the
    /// segments that held its orders.
    Floor {
        /// The account.
        owner: Owner,
        /// The highest id it had accepted.
        id: OrderId,
    },
}

impl Record {
    /// The record of a request matching applied, if it changed a book (an accepted order or a
    /// cancel); a rejection changes nothing, so replay needs none.
    pub fn applied(
        outcome: Outcome,
        owner: Owner,
        floor: OrderId,
        req: &Request,
    ) -> Option<Record> {
        matches!(
            outcome,
            Outcome::Accepted | Outcome::Cancelled | Outcome::Amended | Outcome::CancelledAll
        )
        .then_some(Record::Request {
            owner,
            floor,
            req: *req,
        })
    }
}

/// Why decoding stopped before the end of the bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// The bytes end inside a frame.
    #[error("record at byte {offset} is cut short")]
    Truncated {
        /// Where the frame starts.
        offset: usize,
    },
    /// The frame announces a length above [`MAX_PAYLOAD`].
    #[error("record at byte {offset} announces {len} bytes")]
    Length {
        /// Where the frame starts.
        offset: usize,
        /// The announced length.
        len: usize,
    },
    /// The checksum does not match.
    #[error("record at byte {offset} fails its checksum")]
    Checksum {
        /// Where the frame starts.
        offset: usize,
    },
    /// The checksum matches but the payload is not a record.
    #[error("record at byte {offset} is malformed")]
    Payload {
        /// Where the frame starts.
        offset: usize,
    },
}

/// The records decoded from a byte string and how far they reach.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Decoded {
    /// The records of the valid prefix, in order.
    pub records: Vec<Record>,
    /// The length of the valid prefix: the bytes after it are a torn or corrupt tail.
    pub valid_len: usize,
    /// Why decoding stopped early; `None` when all bytes were records.
    pub error: Option<FormatError>,
}

/// Appends `record`, framed, to `out`. A [`Request::Orders`], [`Request::Login`] or
/// [`Request::Ping`] changes nothing and is not recorded: nothing is appended for it.
///
/// # Examples
///
/// ```
/// use sedaflow_stages::journal::format::{decode_records, encode_record, Record};
/// use sedaflow_stages::matching::{Request, Symbol};
///
/// let record = Record::Request {
///     owner: 3,
///     floor: 0,
///     req: Request::Cancel { id: 7, symbol: Symbol::new("ACME").unwrap() },
/// };
/// let mut bytes = Vec::new();
/// encode_record(&record, &mut bytes);
/// let decoded = decode_records(&bytes);
/// assert_eq!(decoded.records, [record]);
/// assert_eq!(decoded.valid_len, bytes.len());
/// ```
pub fn encode_record(record: &Record, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&[0; HEADER]);
    let mut w = Writer(out);
    match *record {
        Record::Request { owner, floor, req } => {
            let Some(tag) = request_tag(&req).filter(|_| is_recorded(&req)) else {
                w.0.truncate(start);
                return;
            };
            w.u8(tag);
            w.u64(owner);
            w.u64(floor);
            w.request_fields(&req);
        }
        Record::Snapshot {
            segment,
            conn_base,
            books,
        } => {
            w.u8(TAG_SNAPSHOT);
            w.u64(segment);
            w.u64(conn_base);
            w.u64(books);
        }
        Record::Book {
            symbol,
            last_match,
            seq,
            orders,
        } => {
            w.u8(if seq == 0 { TAG_BOOK } else { TAG_BOOK_SEQ });
            w.symbol(symbol);
            w.u64(last_match);
            if seq != 0 {
                w.u64(seq);
            }
            w.u64(orders);
        }
        Record::Resting(o) => {
            let v1 = is_v1(&o);
            w.u8(if v1 { TAG_RESTING_V1 } else { TAG_RESTING });
            w.u64(o.owner);
            w.u64(o.id);
            w.side(o.side);
            w.u64(o.price.ticks());
            w.u64(o.leaves);
            if !v1 {
                w.tif(o.tif);
                w.stp(o.stp);
            }
        }
        Record::Floor { owner, id } => {
            w.u8(TAG_FLOOR);
            w.u64(owner);
            w.u64(id);
        }
    }
    // Payloads are at most 1 + 8 * 6 + 17 + 2 bytes, far below `MAX_PAYLOAD`.
    let len = (out.len() - start - HEADER) as u32;
    let len_bytes = len.to_le_bytes();
    let mut crc = crc32fast::Hasher::new();
    crc.update(&len_bytes);
    crc.update(&out[start + HEADER..]);
    out[start..start + 4].copy_from_slice(&len_bytes);
    out[start + 4..start + HEADER].copy_from_slice(&crc.finalize().to_le_bytes());
}

/// Decodes framed records (a file's bytes after its magic) up to the first that is torn,
/// corrupt or malformed. Never panics, whatever the input: the entry point for fuzzing the
/// reader.
///
/// # Examples
///
/// ```
/// use sedaflow_stages::journal::format::{decode_records, FormatError};
///
/// // Eight zero bytes: a length of 0 whose checksum (over the length) is not 0.
/// let decoded = decode_records(&[0; 8]);
/// assert!(decoded.records.is_empty());
/// assert_eq!(decoded.valid_len, 0);
/// assert_eq!(decoded.error, Some(FormatError::Checksum { offset: 0 }));
/// ```
pub fn decode_records(bytes: &[u8]) -> Decoded {
    let mut decoded = Decoded::default();
    let mut rest = bytes;
    while !rest.is_empty() {
        match decode_one(rest, decoded.valid_len) {
            Ok((record, used)) => {
                decoded.records.push(record);
                decoded.valid_len += used;
                rest = &rest[used..];
            }
            Err(e) => {
                decoded.error = Some(e);
                break;
            }
        }
    }
    decoded
}

/// One frame at the start of `bytes` (found at `offset` in the file): the record and the
/// bytes it takes.
fn decode_one(bytes: &[u8], offset: usize) -> Result<(Record, usize), FormatError> {
    let (Some(len_bytes), Some(crc_bytes)) = (bytes.get(..4), bytes.get(4..HEADER)) else {
        return Err(FormatError::Truncated { offset });
    };
    let len_bytes: [u8; 4] = len_bytes.try_into().unwrap_or_default();
    let len = u32::from_le_bytes(len_bytes) as usize;
    if len > MAX_PAYLOAD {
        return Err(FormatError::Length { offset, len });
    }
    let Some(payload) = bytes.get(HEADER..HEADER + len) else {
        return Err(FormatError::Truncated { offset });
    };
    let mut crc = crc32fast::Hasher::new();
    crc.update(&len_bytes);
    crc.update(payload);
    if crc_bytes != crc.finalize().to_le_bytes() {
        return Err(FormatError::Checksum { offset });
    }
    let record = parse(payload).ok_or(FormatError::Payload { offset })?;
    Ok((record, HEADER + len))
}

/// Whether a resting order has what format 1 could say (`gtc`, no `stp`): then it is
/// written as format 1 wrote it, so every record has one spelling.
fn is_v1(o: &Resting) -> bool {
    o.tif == Tif::Gtc && o.stp == Stp::None
}

/// Whether a request with a tag can change a book, so it belongs in a segment: all but
/// `orders`.
fn is_recorded(req: &Request) -> bool {
    !matches!(req, Request::Orders { .. })
}

/// A payload, or `None` when it is not exactly one record.
fn parse(payload: &[u8]) -> Option<Record> {
    let mut r = Reader::new(payload);
    let record = match r.u8().ok()? {
        tag @ ..TAG_SNAPSHOT => Record::Request {
            owner: r.u64().ok()?,
            floor: r.u64().ok()?,
            req: r.request_fields(tag).ok().filter(is_recorded)?,
        },
        TAG_SNAPSHOT => Record::Snapshot {
            segment: r.u64().ok()?,
            conn_base: r.u64().ok()?,
            books: r.u64().ok()?,
        },
        TAG_BOOK => Record::Book {
            symbol: r.symbol().ok()?,
            last_match: r.u64().ok()?,
            seq: 0,
            orders: r.u64().ok()?,
        },
        TAG_BOOK_SEQ => Record::Book {
            symbol: r.symbol().ok()?,
            last_match: r.u64().ok()?,
            seq: r.u64().ok().filter(|&seq| seq != 0)?,
            orders: r.u64().ok()?,
        },
        tag @ (TAG_RESTING_V1 | TAG_RESTING) => {
            let mut o = Resting {
                owner: r.u64().ok()?,
                id: r.u64().ok()?,
                side: r.side().ok()?,
                price: r.price().ok()?,
                leaves: r.u64().ok()?,
                tif: Tif::Gtc,
                stp: Stp::None,
            };
            if tag == TAG_RESTING {
                o.tif = r.tif().ok()?;
                o.stp = r.stp().ok()?;
                if is_v1(&o) {
                    return None;
                }
            }
            Record::Resting(o)
        }
        TAG_FLOOR => Record::Floor {
            owner: r.u64().ok()?,
            id: r.u64().ok()?,
        },
        _ => return None,
    };
    (r.left() == 0).then_some(record)
}

#[cfg(test)]
mod tests;
