//! The order journal: every request that changes a book is on disk before any report it
//! causes leaves the server, and a restart rebuilds the books from it.
//!
//! - [`format`]: the on-disk records, pure (encode, [`decode_records`](format::decode_records)).
//! - `reader`, `recovery`: the directory's files, replay, snapshots.
//! - `writer`, `lane`: the group-committing writer the matching lanes share.
//!
//! # Ordering
//!
//! The matching stage is keyed by symbol: each lane applies its batch to its books, records
//! each request that changed a book (with its owner and id floor), and commits the batch
//! before returning, so its reports are flushed after the records are durable. Lanes append
//! to one shared segment; a symbol's records keep its lane's order, which is all replay needs
//! (books are independent, and each record carries the id floor its decision used).
//!
//! # Recovery
//!
//! On open, the newest snapshot is loaded and the segments after it replayed; a torn tail of
//! the newest segment is truncated with a warning. The result is written as a new snapshot,
//! the replayed segments are deleted, and writing continues in a fresh segment. New
//! connection ids start above every owner the journal names.
//!
//! # Failure
//!
//! A failed write or `fdatasync` aborts the process before the batch's reports leave (see
//! `lane.rs`); a restart recovers up to the last durable record.

mod error;
pub mod format;
mod lane;
mod reader;
mod recovery;
mod writer;

pub use error::JournalError;
pub(crate) use lane::Lane;
pub(crate) use writer::Journal;
