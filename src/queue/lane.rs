//! One mailbox of a queue: FIFO events plus the enqueue time of every pushed run.

use std::collections::VecDeque;
use std::time::Instant;

/// When a run of events was pushed; `end` is the lane's push count after that run.
struct Mark {
    end: u64,
    at: Instant,
}

/// Runs shorter than this are copied onto the previous run instead of queued on their own:
/// for a few events a copy is cheaper than a run's bookkeeping.
const SMALL_RUN: usize = 64;

/// Emptied buffers a lane keeps for reuse, so steady traffic allocates nothing.
const SPARES: usize = 4;

/// The events of one lane, as the runs they were pushed in: a pushed `Vec` is queued as it
/// is and, when a pop takes it whole, handed on as it is, so a batch crosses a queue without
/// its events being copied. Timestamps are kept per pushed run, not per event, so a batch
/// costs one clock read however many events it holds.
pub(crate) struct LaneBuf<T> {
    /// In arrival order; the front run may be partly taken.
    runs: VecDeque<VecDeque<T>>,
    len: usize,
    spare: Vec<Vec<T>>,
    marks: VecDeque<Mark>,
    pushed: u64,
    popped: u64,
}

impl<T> LaneBuf<T> {
    pub(crate) fn new() -> Self {
        LaneBuf {
            runs: VecDeque::new(),
            len: 0,
            spare: Vec::new(),
            marks: VecDeque::new(),
            pushed: 0,
            popped: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends all of `events` (leaving it empty, with a spare allocation when the lane has
    /// one): queued as its own run, not copied, unless it is small.
    pub(crate) fn push_vec(&mut self, events: &mut Vec<T>, at: Instant) {
        let n = events.len();
        if n < SMALL_RUN && !self.runs.is_empty() {
            self.push_run(events.drain(..), at);
            return;
        }
        if n == 0 {
            return;
        }
        let run = std::mem::replace(events, self.spare.pop().unwrap_or_default());
        self.runs.push_back(VecDeque::from(run));
        self.len += n;
        self.note_pushed(n as u64, at);
    }

    /// Appends a run of events that arrived at `at` (onto the last run).
    pub(crate) fn push_run(&mut self, run: impl Iterator<Item = T>, at: Instant) {
        let last = self.last_run();
        let before = last.len();
        last.extend(run);
        let added = last.len() - before;
        self.len += added;
        self.note_pushed(added as u64, at);
    }

    /// Appends one event that arrived at `at` (a keyed offer's events, one by one as each
    /// one's lane is known).
    pub(crate) fn push_one(&mut self, event: T, at: Instant) {
        self.last_run().push_back(event);
        self.len += 1;
        self.note_pushed(1, at);
    }

    /// The run pushes go onto (a spare buffer when the lane holds none).
    fn last_run(&mut self) -> &mut VecDeque<T> {
        if self.runs.is_empty() {
            let buf = self.spare.pop().unwrap_or_default();
            self.runs.push_back(VecDeque::from(buf));
        }
        self.runs.back_mut().expect("a run was just ensured")
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
    /// when the oldest of them was enqueued. A first run that fits whole becomes `into`; later
    /// runs are copied onto it only while it holds less than half of `max`: merging pays for
    /// small runs (one batch's overhead instead of several), while copying a big run costs
    /// more than the batch it saves.
    pub(crate) fn pop_into(&mut self, max: usize, into: &mut Vec<T>) -> (usize, Option<Instant>) {
        debug_assert!(into.is_empty());
        let oldest = self.oldest();
        let mut n = 0;
        while n < max && (n == 0 || n < max.div_ceil(2)) {
            let Some(front) = self.runs.front_mut() else {
                break;
            };
            let room = max - n;
            if front.len() > room {
                into.extend(front.drain(..room));
                n += room;
                break;
            }
            let Some(mut run) = self.runs.pop_front() else {
                break;
            };
            n += run.len();
            if into.is_empty() {
                // The whole run becomes the batch (a run never taken from is contiguous, so
                // this is a move, not a copy); the caller's empty buffer becomes a spare.
                let empty = std::mem::replace(into, Vec::from(run));
                self.recycle(empty);
            } else {
                into.extend(run.drain(..));
                self.recycle(Vec::from(run));
            }
        }
        self.len -= n;
        self.forget(n);
        (n, oldest)
    }

    /// Removes up to `max` of the oldest events (the `DropOldest` policy) and returns how
    /// many went.
    pub(crate) fn evict(&mut self, max: usize) -> usize {
        let mut gone = Vec::new();
        let mut n = 0;
        while n < max {
            let (k, _) = self.pop_into(max - n, &mut gone);
            if k == 0 {
                break;
            }
            n += k;
            gone.clear();
        }
        n
    }

    fn recycle(&mut self, buf: Vec<T>) {
        debug_assert!(buf.is_empty());
        if self.spare.len() < SPARES && buf.capacity() > 0 {
            self.spare.push(buf);
        }
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

    #[test]
    fn runs_cross_whole_and_split_in_order() {
        let t = Instant::now();
        let mut lane = LaneBuf::new();
        let mut big: Vec<u32> = Vec::with_capacity(128);
        big.extend(0..100);
        let ptr = big.as_ptr();
        lane.push_vec(&mut big, t);
        assert!(big.is_empty());
        lane.push_vec(&mut (100..110).collect(), t); // small: copied onto the last run
        lane.push_vec(&mut (110..300).collect(), t);
        assert_eq!(lane.len(), 300);

        // The first run fits whole: it becomes the batch, same allocation.
        let mut out = Vec::new();
        assert_eq!(lane.pop_into(110, &mut out).0, 110);
        assert_eq!(out.as_ptr(), ptr);
        assert_eq!(out, (0..110).collect::<Vec<_>>());
        // Split runs keep order.
        out.clear();
        assert_eq!(lane.pop_into(50, &mut out).0, 50);
        assert_eq!(out, (110..160).collect::<Vec<_>>());
        assert_eq!(lane.evict(40), 40);
        out.clear();
        assert_eq!(lane.pop_into(1000, &mut out).0, 100);
        assert_eq!(out, (200..300).collect::<Vec<_>>());
        assert!(lane.is_empty());
    }

    #[test]
    fn big_runs_are_not_copied_together_small_ones_are() {
        let t = Instant::now();
        let mut lane = LaneBuf::new();
        for r in 0..4u32 {
            lane.push_vec(&mut (r * 100..r * 100 + 100).collect(), t);
        }
        let mut out = Vec::new();
        // Half of 150 is reached by the first run: it crosses alone.
        assert_eq!(lane.pop_into(150, &mut out).0, 100);
        out.clear();
        // Below half of 250 after one run: the next is copied on, then it stops.
        assert_eq!(lane.pop_into(250, &mut out).0, 200);
        assert_eq!(out, (100..300).collect::<Vec<_>>());
        // Eviction takes as many as asked, across runs.
        lane.push_vec(&mut (400..500).collect(), t);
        assert_eq!(lane.evict(150), 150);
        out.clear();
        assert_eq!(lane.pop_into(1000, &mut out).0, 50);
        assert_eq!(out, (450..500).collect::<Vec<_>>());
    }
}
