//! The order journal: every request that changes a book is on disk before any report it
//! causes leaves the server, and a restart rebuilds the books from it.
//!
//! - [`format`](mod@format): the on-disk records, pure (encode, and
//!   [`decode_records`](format::decode_records), which never panics).
//! - `reader`, `recovery`: the directory's files, replay, snapshots.
//! - `writer`: the open journal (recovered books, the current segment, rotation, compactor).
//! - The journal stage between matching and encode is an adapter in `pipeline/journal.rs`.
//!
//! # Ordering
//!
//! The matching stage is keyed by symbol: each lane applies requests to its books and sends
//! the journal stage, in order, the record of each request that changed a book (with its
//! owner and id floor) and the reports it caused. The journal stage, one lane on one thread,
//! writes and syncs each batch's records once, then passes the reports on: none leaves before
//! its record is durable. A symbol's records keep its matching lane's order, which is all
//! replay needs (books are independent, and each record carries the id floor its decision
//! used).
//!
//! # Recovery
//!
//! On open, the newest snapshot is loaded and the segments after it replayed; a torn tail of
//! the newest segment is truncated with a warning. The result is written as a new snapshot,
//! the replayed segments are deleted, and writing continues in a fresh segment. New
//! connection ids start above every connection (anonymous account) the journal names, and
//! each named account's highest accepted order id comes back as its id floor.
//!
//! # Failure
//!
//! A failed write or `fdatasync` aborts the process before the batch's reports leave (see
//! `pipeline/journal.rs`); a restart recovers up to the last durable record.

mod error;
pub mod format;
mod reader;
mod recovery;
mod writer;

pub use error::JournalError;
pub(crate) use writer::Journal;
