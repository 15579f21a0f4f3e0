use super::{OrderId, Owner, Qty, Side, Stp, Tif};

/// The "no order" link.
pub(crate) const NIL: u32 = u32::MAX;

/// A resting order, linked into its price level's FIFO.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Node {
    pub(crate) id: OrderId,
    pub(crate) owner: Owner,
    pub(crate) leaves: Qty,
    /// The level's key in its ladder (see `Ladder::key`).
    pub(crate) key: u64,
    pub(crate) prev: u32,
    /// The next order in the level, or, for a free node, the next free node.
    pub(crate) next: u32,
    pub(crate) side: Side,
    pub(crate) tif: Tif,
    pub(crate) stp: Stp,
}

/// Resting orders in one allocation, addressed by `u32` slots that stay put while the order
/// rests; freed slots are reused, so its size follows the peak number of resting orders.
#[derive(Debug, Default)]
pub(crate) struct Slab {
    nodes: Vec<Node>,
    free: Option<u32>,
    used: usize,
}

impl Slab {
    /// Stores `node`; `None` when all `u32` slot numbers are taken.
    pub(crate) fn alloc(&mut self, node: Node) -> Option<u32> {
        let slot = match self.free {
            Some(slot) => {
                let next = self.nodes[slot as usize].next;
                self.free = (next != NIL).then_some(next);
                self.nodes[slot as usize] = node;
                slot
            }
            None => {
                let slot = u32::try_from(self.nodes.len())
                    .ok()
                    .filter(|&slot| slot != NIL)?;
                self.nodes.push(node);
                slot
            }
        };
        self.used += 1;
        Some(slot)
    }

    /// Releases `slot` for reuse.
    pub(crate) fn free(&mut self, slot: u32) {
        self.nodes[slot as usize].next = self.free.unwrap_or(NIL);
        self.free = Some(slot);
        self.used -= 1;
    }

    /// Orders stored.
    pub(crate) fn len(&self) -> usize {
        self.used
    }

    pub(crate) fn get(&self, slot: u32) -> &Node {
        &self.nodes[slot as usize]
    }

    pub(crate) fn get_mut(&mut self, slot: u32) -> &mut Node {
        &mut self.nodes[slot as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: OrderId) -> Node {
        Node {
            id,
            owner: 1,
            leaves: 1,
            key: 0,
            prev: NIL,
            next: NIL,
            side: Side::Buy,
            stp: Default::default(),
            tif: Default::default(),
        }
    }

    #[test]
    fn reuses_freed_slots() {
        let mut slab = Slab::default();
        let a = slab.alloc(node(1)).unwrap();
        let b = slab.alloc(node(2)).unwrap();
        assert_eq!(slab.len(), 2);
        slab.free(a);
        slab.free(b);
        assert_eq!(slab.len(), 0);
        assert_eq!(slab.alloc(node(3)), Some(b));
        assert_eq!(slab.alloc(node(4)), Some(a));
        assert_eq!(slab.alloc(node(5)), Some(2));
        assert_eq!(slab.get(a).id, 4);
        slab.get_mut(a).leaves = 9;
        assert_eq!(slab.get(a).leaves, 9);
    }
}
