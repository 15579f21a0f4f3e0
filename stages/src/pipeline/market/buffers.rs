//! The vectors matching hands its book changes over in, used again instead of freed.
//!
//! Matching allocates a batch's [`Deltas`] on its thread and the market-data stage drops
//! them on another. glibc's allocator returns such a block to the arena of the thread that
//! allocated it, under that arena's lock, so every batch made the two threads contend for
//! one lock (futex wake-ups on both sides, about 20 per thousand orders). Handed back, the
//! vectors are emptied and reused by matching's next batch.

use parking_lot::Mutex;

use crate::market::Deltas;

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
    free: Mutex<Vec<Deltas>>,
}

impl Default for DeltaBuffers {
    fn default() -> Self {
        DeltaBuffers {
            free: Mutex::new(Vec::with_capacity(KEPT)),
        }
    }
}

impl DeltaBuffers {
    /// Empty vectors with room for at least what `like` holds.
    pub(crate) fn take(&self, like: &Deltas) -> Deltas {
        let mut deltas = self.free.lock().pop().unwrap_or_default();
        deltas.clear();
        deltas.reserve_like(like);
        deltas
    }

    /// Keeps `deltas`, applied, for a later [`take`](DeltaBuffers::take), which empties it
    /// (dropped here when enough are kept already).
    pub(crate) fn give(&self, deltas: Deltas) {
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
    fn vectors_given_back_are_taken_again_emptied() {
        let buffers = DeltaBuffers::default();
        let mut deltas = buffers.take(&Deltas::default());
        let delta = crate::market::BookDelta {
            symbol: crate::matching::Symbol::new("ACME").unwrap(),
            seq: 1,
            levels: Default::default(),
            trades: Default::default(),
        };
        deltas.push(delta.view());
        buffers.give(deltas);
        assert_eq!(buffers.free.lock().len(), 1);
        let again = buffers.take(&Deltas::default());
        assert!(again.is_empty());
        assert_eq!(buffers.free.lock().len(), 0, "the kept vectors");
        for _ in 0..KEPT + 1 {
            buffers.give(Deltas::default());
        }
        assert_eq!(buffers.free.lock().len(), KEPT, "no more than KEPT kept");
    }
}
