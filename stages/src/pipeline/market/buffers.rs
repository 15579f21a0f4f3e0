//! The vectors matching hands its book changes over in, used again instead of freed.
//!
//! Matching allocates a batch's `Vec<BookDelta>` on its thread and the market-data stage
//! drops it on another. glibc's allocator returns such a block to the arena of the thread
//! that allocated it, under that arena's lock, so every batch made the two threads contend
//! for one lock (futex wake-ups on both sides, about 20 per thousand orders). Handed back,
//! a vector is emptied and reused by matching's next batch: the deltas in it (and what a
//! large one spilled to the heap) are dropped on the thread that made them.

use parking_lot::Mutex;

use crate::market::BookDelta;

/// Vectors kept for reuse: a lingering market-data worker gives back a millisecond's worth at
/// once, one per lane for each of matching's batches (at 500 k orders/s in batches of 16, 4
/// lanes: about 125). A vector that does not fit is freed on the worker's thread, and the
/// lock that [`DeltaBuffers`] avoids is back.
const KEPT: usize = 256;

/// Delta vectors for reuse, shared by matching's lanes (which take them) and market data's
/// (which give them back). An ingress, which runs no matching, only fills it up to [`KEPT`].
pub(crate) struct DeltaBuffers {
    /// A stack: matching takes the vector given back last, the one most likely still in a
    /// cache, rather than the coldest (a queue's order). Each take or give holds the lock for
    /// a push or a pop.
    free: Mutex<Vec<Vec<BookDelta>>>,
}

impl Default for DeltaBuffers {
    fn default() -> Self {
        DeltaBuffers {
            free: Mutex::new(Vec::with_capacity(KEPT)),
        }
    }
}

impl DeltaBuffers {
    /// An empty vector with room for at least `room` deltas.
    pub(crate) fn take(&self, room: usize) -> Vec<BookDelta> {
        let popped = self.free.lock().pop();
        match popped {
            Some(mut deltas) => {
                deltas.clear();
                deltas.reserve(room);
                deltas
            }
            None => Vec::with_capacity(room),
        }
    }

    /// Keeps `deltas`, applied, for a later [`take`](DeltaBuffers::take), which empties it
    /// (dropped here when enough are kept already).
    pub(crate) fn give(&self, deltas: Vec<BookDelta>) {
        let mut free = self.free.lock();
        if free.len() < KEPT {
            free.push(deltas);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vector_given_back_is_taken_again_emptied_and_with_its_room() {
        let buffers = DeltaBuffers::default();
        let mut deltas = buffers.take(8);
        assert!(deltas.capacity() >= 8);
        deltas.push(crate::market::BookDelta {
            symbol: crate::matching::Symbol::new("ACME").unwrap(),
            seq: 1,
            levels: Default::default(),
            trades: Default::default(),
        });
        let at = deltas.as_ptr();
        buffers.give(deltas);
        let again = buffers.take(4);
        assert!(again.is_empty());
        assert_eq!(again.as_ptr(), at, "the same allocation");
        for _ in 0..KEPT + 1 {
            buffers.give(Vec::with_capacity(1));
        }
        assert_eq!(buffers.free.lock().len(), KEPT, "no more than KEPT kept");
    }
}
