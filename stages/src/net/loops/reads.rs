//! What a loop's readers did, counted per read by the loop's own thread (no other thread
//! writes them, so the counts cost no contention) and summed over the loops when read.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};

/// The `net_read` stage's counts: every request read is handed on, refused at the read, or
/// still held by its reader.
#[derive(Debug, Default)]
pub(crate) struct ReadCounts {
    /// Requests framed off sockets.
    pub(crate) read: AtomicU64,
    /// Requests handed on to the pipeline (or answered at the read: a login).
    pub(crate) handed: AtomicU64,
    /// Requests refused at the read with a reason (too long, overloaded, login failed).
    pub(crate) refused: AtomicU64,
    /// Connections whose last read filled the read buffer: input waits for their loop.
    /// Signed: a reader that moved lowers it on its new loop.
    pub(crate) backlogged: AtomicI64,
}

impl ReadCounts {
    /// Adds `other`'s counts to these.
    pub(crate) fn add(&self, other: &ReadCounts) {
        self.read.fetch_add(other.read.load(Relaxed), Relaxed);
        self.handed.fetch_add(other.handed.load(Relaxed), Relaxed);
        self.refused.fetch_add(other.refused.load(Relaxed), Relaxed);
        self.backlogged
            .fetch_add(other.backlogged.load(Relaxed), Relaxed);
    }

    /// Requests read and neither handed on nor refused yet.
    pub(crate) fn held(&self) -> u64 {
        let read = self.read.load(Relaxed);
        read.saturating_sub(self.handed.load(Relaxed) + self.refused.load(Relaxed))
    }

    pub(crate) fn backlogged(&self) -> usize {
        usize::try_from(self.backlogged.load(Relaxed).max(0)).unwrap_or(0)
    }
}

impl Clone for ReadCounts {
    fn clone(&self) -> Self {
        let copy = ReadCounts::default();
        copy.add(self);
        copy
    }
}
