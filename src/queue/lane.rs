//! One mailbox of a queue: FIFO events plus the enqueue time of every pushed run.

use std::collections::VecDeque;
use std::time::Instant;

/// When a run of events was pushed; `end` is the lane's push count after that run.
struct Mark {
    end: u64,
    at: Instant,
}

/// The events of one lane. Timestamps are kept per pushed run, not per event, so a batch
/// costs one clock read however many events it holds.
pub(crate) struct LaneBuf<T> {
    events: VecDeque<T>,
    marks: VecDeque<Mark>,
    pushed: u64,
    popped: u64,
}

impl<T> LaneBuf<T> {
    pub(crate) fn new() -> Self {
        LaneBuf {
            events: VecDeque::new(),
            marks: VecDeque::new(),
            pushed: 0,
            popped: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.events.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Appends all of `events` (leaving it empty). Into an empty lane the buffers are swapped,
    /// not copied: the caller gets the lane's spare allocation back.
    pub(crate) fn push_vec(&mut self, events: &mut Vec<T>, at: Instant) {
        if self.events.is_empty() {
            let n = events.len();
            let spare = std::mem::replace(&mut self.events, VecDeque::from(std::mem::take(events)));
            *events = Vec::from(spare);
            self.note_pushed(n as u64, at);
        } else {
            self.push_run(events.drain(..), at);
        }
    }

    /// Appends a run of events that arrived at `at`.
    pub(crate) fn push_run(&mut self, run: impl Iterator<Item = T>, at: Instant) {
        let before = self.events.len();
        self.events.extend(run);
        self.note_pushed((self.events.len() - before) as u64, at);
    }

    fn note_pushed(&mut self, added: u64, at: Instant) {
        if added == 0 {
            return;
        }
        self.pushed += added;
        match self.marks.back_mut() {
            // Same clock reading: extend the previous run instead of growing the mark list.
            Some(last) if last.at == at => last.end = self.pushed,
            _ => self.marks.push_back(Mark {
                end: self.pushed,
                at,
            }),
        }
    }

    /// Enqueue time of the oldest event still in the lane.
    pub(crate) fn oldest(&self) -> Option<Instant> {
        self.marks.front().map(|m| m.at)
    }

    /// Moves up to `max` events into `into` (which must be empty) and returns how many moved and
    /// when the oldest of them was enqueued.
    pub(crate) fn pop_into(&mut self, max: usize, into: &mut Vec<T>) -> (usize, Option<Instant>) {
        debug_assert!(into.is_empty());
        let oldest = self.oldest();
        let n = if self.events.len() <= max {
            // Swap buffers instead of copying: the lane keeps the caller's spare allocation
            // (both conversions reuse the allocation; a wrapped ring is rotated in place).
            let spare = VecDeque::from(std::mem::take(into));
            *into = Vec::from(std::mem::replace(&mut self.events, spare));
            into.len()
        } else {
            into.extend(self.events.drain(..max));
            max
        };
        self.forget(n);
        (n, oldest)
    }

    /// Removes up to `max` of the oldest events (the `DropOldest` policy) and returns them.
    pub(crate) fn evict(&mut self, max: usize) -> usize {
        let n = max.min(self.events.len());
        self.events.drain(..n);
        self.forget(n);
        n
    }

    fn forget(&mut self, n: usize) {
        self.popped += n as u64;
        while self.marks.front().is_some_and(|m| m.end <= self.popped) {
            self.marks.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn marks_track_the_oldest_event_across_pops() {
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_millis(5);
        let mut lane = LaneBuf::new();
        lane.push_run(0..3, t0);
        lane.push_run(3..5, t1);
        let mut out = Vec::new();
        assert_eq!(lane.pop_into(2, &mut out), (2, Some(t0)));
        assert_eq!(out, [0, 1]);
        out.clear();
        assert_eq!(lane.pop_into(2, &mut out), (2, Some(t0)));
        assert_eq!(lane.oldest(), Some(t1));
        assert_eq!(lane.evict(10), 1);
        assert_eq!(lane.oldest(), None);
        assert!(lane.is_empty());
    }
}
