//! Replies that came before their turn, held by sequence number until it comes. Pure.
//!
//! Under overload most refusals come early: a read's refused orders are answered at the read,
//! while the orders of the reads before it are still on their way through the stages. A
//! tree of them cost a node and a line buffer allocated per reply; here a slot per sequence
//! number from the next one due makes filing and taking index arithmetic, and the line
//! buffers of replies taken are used again.

use std::collections::VecDeque;
use std::time::Instant;

/// Emptied line buffers kept for the next early replies: a few reads' worth.
const SPARE: usize = 64;

/// A line buffer bigger than this is freed rather than kept (an `orders` listing).
const SPARE_ROOM: usize = 4096;

/// A new line buffer's room: an answer's lines usually fit, with no growing on the way.
const LINES: usize = 128;

/// What an early reply holds: its lines, and when its request was read.
type Held = (Vec<u8>, Instant);

/// Early replies of one connection.
#[derive(Debug, Default)]
pub(crate) struct Waiting {
    /// The sequence number of `slots[0]`.
    base: u64,
    /// Reply `base + i` in slot `i`, once filed.
    slots: VecDeque<Option<Held>>,
    /// Slots filled.
    held: usize,
    spare: Vec<Vec<u8>>,
}

impl Waiting {
    /// Holds reply `seq` (after `next`, the one due), its lines encoded by `encode`, unless
    /// `admit` refuses their size (then nothing is held and false returned).
    pub(crate) fn hold(
        &mut self,
        next: u64,
        seq: u64,
        read_at: Instant,
        encode: impl FnOnce(&mut Vec<u8>),
        admit: impl FnOnce(usize) -> bool,
    ) -> bool {
        self.advance(next);
        let mut lines = self
            .spare
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(LINES));
        encode(&mut lines);
        if !admit(lines.len()) {
            self.give_back(lines);
            return false;
        }
        // Sequence numbers are those the reader gave, each filed once, so `seq` is within
        // the connection's requests in flight of `next`.
        let at = usize::try_from(seq.saturating_sub(self.base)).unwrap_or(usize::MAX);
        if self.slots.len() <= at {
            self.slots.resize(at + 1, None);
        }
        if self.slots[at].replace((lines, read_at)).is_none() {
            self.held += 1;
        }
        true
    }

    /// Takes reply `next` (the one due) if it is held, appending its lines to `out`, and
    /// answers its read time.
    pub(crate) fn take(&mut self, next: u64, out: &mut Vec<u8>) -> Option<Instant> {
        if self.held == 0 {
            return None;
        }
        self.advance(next);
        let (lines, read_at) = self.slots.front_mut()?.take()?;
        self.slots.pop_front();
        self.base += 1;
        self.held -= 1;
        out.extend_from_slice(&lines);
        self.give_back(lines);
        Some(read_at)
    }

    /// Moves slot 0 to `next`: the replies before it came in turn, never through here.
    fn advance(&mut self, next: u64) {
        if self.slots.is_empty() {
            self.base = next;
            return;
        }
        while self.base < next {
            self.slots.pop_front();
            self.base += 1;
        }
    }

    fn give_back(&mut self, mut lines: Vec<u8>) {
        if self.spare.len() < SPARE && lines.capacity() <= SPARE_ROOM {
            lines.clear();
            self.spare.push(lines);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hold(w: &mut Waiting, next: u64, seq: u64, text: &str) -> bool {
        w.hold(
            next,
            seq,
            Instant::now(),
            |b| b.extend_from_slice(text.as_bytes()),
            |_| true,
        )
    }

    #[test]
    fn early_replies_come_out_in_sequence_once_their_turn_comes() {
        let mut w = Waiting::default();
        let mut out = Vec::new();
        assert!(hold(&mut w, 3, 6, "six "));
        assert!(hold(&mut w, 3, 4, "four "));
        assert_eq!(w.take(3, &mut out), None, "3 is not held");
        // 3 came in turn (not through here); 4 is next.
        assert!(w.take(4, &mut out).is_some());
        assert_eq!(w.take(5, &mut out), None);
        assert_ne!(w.held, 0);
        assert!(hold(&mut w, 5, 5, "five "));
        assert!(w.take(5, &mut out).is_some());
        assert!(w.take(6, &mut out).is_some());
        assert_eq!(w.held, 0);
        assert_eq!(out, b"four five six ");
        // Emptied, it starts again at any later number.
        assert!(hold(&mut w, 100, 101, "x"));
        assert!(w.take(101, &mut out).is_some());
        assert_eq!(w.held, 0);
    }

    #[test]
    fn a_refused_size_holds_nothing_and_buffers_are_used_again() {
        let mut w = Waiting::default();
        let refused = w.hold(
            0,
            1,
            Instant::now(),
            |b| b.extend_from_slice(b"big"),
            |n| n < 3,
        );
        assert!(!refused);
        assert_eq!(w.held, 0);
        let mut out = Vec::new();
        assert!(hold(&mut w, 0, 1, "a"));
        assert!(w.take(1, &mut out).is_some());
        assert_eq!(w.spare.len(), 1, "the taken reply's buffer is kept");
        assert!(hold(&mut w, 2, 3, "b"));
        assert!(w.spare.is_empty(), "and used for the next early reply");
    }
}
