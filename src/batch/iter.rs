//! The batch a handler iterates.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use crate::event::KeyFn;

/// How often a batch looks out (see [`Watch`]): a batch stops within about this long of a
/// shutdown deadline and shows its progress this often.
const LOOK_TIME: Duration = Duration::from_micros(500);
/// Events between two looks when nothing is known of the handler yet.
pub(crate) const LOOK_FIRST: usize = 16;
/// The longest run between two looks (handlers of a few nanoseconds per event).
const LOOK_MOST: usize = 4096;

/// What a running batch shares with the rest of the engine. The batch looks at it every
/// `every` events, as many as the handler takes about [`LOOK_TIME`] for: a flag load and a
/// store per look, so a fast handler's tight loop is left alone.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Watch<'a> {
    /// Set when a shutdown deadline passed: the batch ends early.
    pub(crate) halt: &'a AtomicBool,
    /// Where the batch notes how many events its lane's batch has handed out so far
    /// (counting from the given start), so the pool controller sees a long batch progress.
    pub(crate) progress: Option<(&'a AtomicU64, u64)>,
    /// Events between two looks.
    pub(crate) every: usize,
}

impl Watch<'_> {
    /// Events between two looks for a handler taking `per_event` per event.
    pub(crate) fn every_for(per_event: Duration) -> usize {
        let n = LOOK_TIME.as_nanos() / per_event.as_nanos().max(1);
        usize::try_from(n).map_or(LOOK_MOST, |n| n.clamp(1, LOOK_MOST))
    }

    fn note(&self, taken: usize) {
        if let Some((slot, before)) = self.progress {
            slot.store(before + taken as u64, Relaxed);
        }
    }
}

/// Events handed to one [`Handler::handle`] call, oldest first. Iterating takes them out one
/// at a time, so if the handler panics the runner knows which event failed and hands the rest
/// in again.
///
/// It walks the stage's inbox in place, like [`Vec::drain`]: taking an event is a pointer
/// read and an index bump (no per-event bookkeeping), and whatever is left when the batch
/// ends, normally or by a panic, moves back to the front of the inbox.
///
/// # Shutdown
/// When a shutdown deadline passes, the batch ends early: it yields no more events and
/// reads as empty. The events it did not hand out count as left queued at shutdown, not as
/// processed.
///
/// [`Handler::handle`]: crate::Handler::handle
/// # Examples
/// ```
/// use std::time::Duration;
/// use sedaflow::{handler_fn, Batch, Pipeline};
///
/// let mut p = Pipeline::builder();
/// p.stage("pairs", || handler_fn(|batch: &mut Batch<'_, u32>, ctx| {
///     // Take events one at a time; what is left when `handle` returns counts as processed.
///     while let (Some(a), Some(b)) = (batch.next(), batch.next()) {
///         ctx.emit(u64::from(a + b));
///     }
///     assert!(batch.is_empty());
/// }));
/// p.stage("sums", || handler_fn(|batch: &mut Batch<'_, u64>, _ctx| batch.for_each(drop)));
/// let pipeline = p.build()?;
/// let input = pipeline.publisher::<u32>()?;
/// input.try_publish_batch(&mut vec![1, 2, 3, 4]).unwrap(); // one batch once started
/// pipeline.start();
/// let report = pipeline.shutdown(Duration::from_secs(5));
/// assert_eq!(report.stage("pairs").unwrap().processed, 4);
/// assert_eq!(report.stage("sums").unwrap().processed, 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Batch<'a, E> {
    /// Its length is zero while the batch lives: slots `next..end` belong to the batch, the
    /// ones before `next` were moved out. A leaked batch leaks events, never drops one twice.
    events: &'a mut Vec<E>,
    next: usize,
    /// Where the next look at `halt` is due (at most `end`).
    look: usize,
    /// The end the handler sees: cut to `next` when a halt ends the batch early.
    end: usize,
    /// The end of what the batch owns, to give back on drop.
    owned: usize,
    watch: Watch<'a>,
    key: Option<&'a KeyFn<E>>,
    quarantine: &'a HashSet<u64>,
    held: &'a mut Vec<E>,
    track_key: bool,
    current_key: Option<u64>,
}

impl<'a, E> Batch<'a, E> {
    pub(crate) fn new(
        events: &'a mut Vec<E>,
        key: Option<&'a KeyFn<E>>,
        quarantine: &'a HashSet<u64>,
        held: &'a mut Vec<E>,
        track_key: bool,
        watch: Watch<'a>,
    ) -> Self {
        let end = events.len();
        // SAFETY: shrinking the length never exposes uninitialised slots; the batch owns the
        // elements `0..end` from here on and gives back the untaken ones on drop.
        unsafe { events.set_len(0) };
        Batch {
            events,
            next: 0,
            look: 0,
            end,
            owned: end,
            watch,
            key,
            quarantine,
            held,
            track_key,
            current_key: None,
        }
    }

    /// Events not yet taken.
    pub fn len(&self) -> usize {
        self.end - self.next
    }

    /// Whether every event has been taken.
    pub fn is_empty(&self) -> bool {
        self.next == self.end
    }

    /// Takes the remaining events by value, like [`Vec::drain`]. Same events as iterating the
    /// batch itself, but adaptors that consume it whole (`for_each`, `fold`, `sum`,
    /// [`Context::emit_all`]) run one tight loop, with the batch's cursor in a register instead
    /// of written back per event.
    ///
    /// [`Context::emit_all`]: crate::Context::emit_all
    pub fn drain(&mut self) -> Drain<'_, 'a, E> {
        Drain(self)
    }

    /// Whether taking an event needs a look at its key (tracked keys or quarantined ones).
    fn checks_keys(&self) -> bool {
        self.key.is_some() && (self.track_key || !self.quarantine.is_empty())
    }

    /// Key digest of the event most recently taken (keyed stages that track keys only).
    pub(crate) fn current_key(&self) -> Option<u64> {
        self.current_key
    }

    #[inline(always)]
    fn take(&mut self) -> Option<E> {
        if self.next >= self.look && !self.look_again() {
            return None;
        }
        // SAFETY: `next < end`, the slot is initialised and owned by the batch; bumping
        // `next` hands its ownership to the caller.
        let event = unsafe { std::ptr::read(self.events.as_ptr().add(self.next)) };
        self.next += 1;
        Some(event)
    }

    /// Every `watch.every` events: notes the progress and tells whether the batch goes on
    /// (not at its end, not halted).
    #[cold]
    #[inline(never)]
    fn look_again(&mut self) -> bool {
        self.watch.note(self.next);
        if self.next >= self.end {
            return false;
        }
        if self.watch.halt.load(Relaxed) {
            self.end = self.next;
            return false;
        }
        self.look = (self.next + self.watch.every).min(self.end);
        true
    }

    /// Keyed stages that track keys or hold quarantined ones. The key is read in place, so
    /// an event is moved once, to the caller or to `held`.
    #[inline]
    fn take_keyed(&mut self, key: &KeyFn<E>) -> Option<E> {
        loop {
            if self.next >= self.look && !self.look_again() {
                return None;
            }
            // SAFETY: `next < end`: the slot is initialised and still the batch's.
            let k = key(unsafe { &*self.events.as_ptr().add(self.next) });
            if self.quarantine.contains(&k) {
                let event = self.take()?;
                self.held.push(event);
                continue;
            }
            self.current_key = Some(k);
            return self.take();
        }
    }
}

impl<E> Drop for Batch<'_, E> {
    fn drop(&mut self) {
        let left = self.owned - self.next;
        let base = self.events.as_mut_ptr();
        // SAFETY: slots `next..end` are initialised and still the batch's; moving them to the
        // front (overlapping regions allowed) and setting the length hands them back.
        unsafe {
            if left > 0 && self.next > 0 {
                std::ptr::copy(base.add(self.next), base, left);
            }
            self.events.set_len(left);
        }
    }
}

impl<E> std::fmt::Debug for Batch<'_, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batch").field("len", &self.len()).finish()
    }
}

impl<E> Iterator for Batch<'_, E> {
    type Item = E;

    #[inline]
    fn next(&mut self) -> Option<E> {
        match self.key {
            Some(key) if self.track_key || !self.quarantine.is_empty() => self.take_keyed(key),
            _ => self.take(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.len();
        if self.key.is_some() && !self.quarantine.is_empty() {
            (0, Some(left))
        } else {
            (left, Some(left))
        }
    }
}

/// The remaining events of a [`Batch`], by value: see [`Batch::drain`]. Events it does not
/// yield stay in the batch.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use sedaflow::{handler_fn, Batch, Pipeline};
///
/// let mut p = Pipeline::builder();
/// p.stage("words", || handler_fn(|batch: &mut Batch<'_, String>, ctx| {
///     let n = batch.len();
///     ctx.emit_all(batch.drain().map(|s| s.len() as u64));
///     assert!(n > 0 && batch.is_empty());
/// }));
/// p.stage("lengths", || handler_fn(|batch: &mut Batch<'_, u64>, _ctx| batch.for_each(drop)));
/// let pipeline = p.build()?;
/// let input = pipeline.publisher::<String>()?;
/// pipeline.start();
/// input.blocking_publish("seda".into()).unwrap();
/// let report = pipeline.shutdown(Duration::from_secs(5));
/// assert_eq!(report.stage("lengths").unwrap().processed, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Drain<'b, 'a, E>(&'b mut Batch<'a, E>);

impl<E> std::fmt::Debug for Drain<'_, '_, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Drain").field(&self.0.len()).finish()
    }
}

impl<E> Iterator for Drain<'_, '_, E> {
    type Item = E;

    #[inline]
    fn next(&mut self) -> Option<E> {
        self.0.next()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }

    #[inline]
    fn fold<B, F: FnMut(B, E) -> B>(self, init: B, mut f: F) -> B {
        let batch = self.0;
        if batch.checks_keys() {
            return batch.fold(init, f);
        }
        /// Stores the cursor back however the loop ends: an event handed to a panicking `f`
        /// is taken, the ones after it stay in the batch.
        struct Cursor<'c> {
            next: usize,
            slot: &'c mut usize,
        }
        impl Drop for Cursor<'_> {
            fn drop(&mut self) {
                *self.slot = self.next;
            }
        }
        let base = batch.events.as_ptr();
        let end = batch.end;
        let watch = batch.watch;
        let mut cursor = Cursor {
            next: batch.next,
            slot: &mut batch.next,
        };
        let mut acc = init;
        while cursor.next < end {
            watch.note(cursor.next);
            if watch.halt.load(Relaxed) {
                batch.end = cursor.next;
                break;
            }
            let look = (cursor.next + watch.every).min(end);
            while cursor.next < look {
                // SAFETY: `next < end`: the slot is initialised and owned by the batch;
                // bumping the cursor before `f` runs hands its ownership over.
                let event = unsafe { std::ptr::read(base.add(cursor.next)) };
                cursor.next += 1;
                acc = f(acc, event);
            }
        }
        acc
    }
}

#[cfg(test)]
mod tests {
    use std::panic::{catch_unwind, AssertUnwindSafe};
    use std::rc::Rc;

    use super::*;

    static RUN: AtomicBool = AtomicBool::new(false);
    const FREE: Watch<'static> = Watch {
        halt: &RUN,
        progress: None,
        every: LOOK_FIRST,
    };

    #[test]
    fn looks_come_about_every_half_millisecond_of_handler_time() {
        assert_eq!(Watch::every_for(Duration::from_millis(1)), 1);
        assert_eq!(Watch::every_for(Duration::from_micros(50)), 10);
        assert_eq!(Watch::every_for(Duration::from_nanos(3)), LOOK_MOST);
        assert_eq!(Watch::every_for(Duration::ZERO), LOOK_MOST);
    }

    #[test]
    fn a_halt_ends_the_batch_within_a_look_and_gives_the_rest_back() {
        let halt = AtomicBool::new(false);
        let progress = AtomicU64::new(0);
        let watch = Watch {
            halt: &halt,
            progress: Some((&progress, 1000)),
            every: LOOK_FIRST,
        };
        let (quarantine, mut held) = (HashSet::new(), Vec::new());
        let mut inbox: Vec<u32> = (0..100).collect();
        let mut taken = 0;
        {
            let mut batch = Batch::new(&mut inbox, None, &quarantine, &mut held, false, watch);
            while batch.next().is_some() {
                taken += 1;
                if taken == 3 {
                    halt.store(true, Relaxed);
                }
                if taken == LOOK_FIRST + 1 {
                    assert_eq!(progress.load(Relaxed), 1000 + LOOK_FIRST as u64);
                }
            }
            assert!(batch.is_empty(), "a halted batch reads as empty");
            assert_eq!(batch.size_hint(), (0, Some(0)));
        }
        assert!((3..=LOOK_FIRST).contains(&taken), "took {taken}");
        assert_eq!(inbox.len(), 100 - taken);
        assert_eq!(inbox[0] as usize, taken);

        let mut folded = 0;
        halt.store(false, Relaxed);
        Batch::new(&mut inbox, None, &quarantine, &mut held, false, watch)
            .drain()
            .for_each(|_| {
                folded += 1;
                halt.store(true, Relaxed);
            });
        assert_eq!(folded, LOOK_FIRST.min(100 - taken));
        assert_eq!(inbox.len(), 100 - taken - folded);
    }

    #[test]
    fn untaken_events_go_back_to_the_front_and_none_is_dropped_twice() {
        let marker = Rc::new(());
        let mut inbox: Vec<(u32, Rc<()>)> = (0..6).map(|i| (i, marker.clone())).collect();
        let (quarantine, mut held) = (HashSet::new(), Vec::new());
        {
            let mut batch = Batch::new(&mut inbox, None, &quarantine, &mut held, false, FREE);
            assert_eq!(batch.len(), 6);
            assert_eq!(batch.next().map(|e| e.0), Some(0));
            assert_eq!(batch.next().map(|e| e.0), Some(1));
            assert_eq!(batch.len(), 4);
        }
        assert_eq!(inbox.iter().map(|e| e.0).collect::<Vec<_>>(), [2, 3, 4, 5]);
        assert_eq!(Rc::strong_count(&marker), 5);

        // A panic mid-batch: the taken event is gone, the rest stay.
        let result = catch_unwind(AssertUnwindSafe(|| {
            let mut batch = Batch::new(&mut inbox, None, &quarantine, &mut held, false, FREE);
            let _first = batch.next();
            panic!("handler failed");
        }));
        assert!(result.is_err());
        assert_eq!(inbox.iter().map(|e| e.0).collect::<Vec<_>>(), [3, 4, 5]);
        assert_eq!(Rc::strong_count(&marker), 4);

        let all: Vec<u32> = Batch::new(&mut inbox, None, &quarantine, &mut held, false, FREE)
            .map(|e| e.0)
            .collect();
        assert_eq!(all, [3, 4, 5]);
        assert!(inbox.is_empty());
        assert_eq!(Rc::strong_count(&marker), 1);
    }

    #[test]
    fn drain_folds_in_order_and_a_panic_leaves_the_rest_in_the_batch() {
        let marker = Rc::new(());
        let mut inbox: Vec<(u32, Rc<()>)> = (0..8).map(|i| (i, marker.clone())).collect();
        let (quarantine, mut held) = (HashSet::new(), Vec::new());
        let result = catch_unwind(AssertUnwindSafe(|| {
            let mut batch = Batch::new(&mut inbox, None, &quarantine, &mut held, false, FREE);
            assert_eq!(batch.next().map(|e| e.0), Some(0));
            batch
                .drain()
                .for_each(|e| assert!(e.0 < 3, "handler failed on {}", e.0));
        }));
        assert!(result.is_err());
        // 0..=2 taken, 3 failed (taken and dropped), 4.. stay.
        assert_eq!(inbox.iter().map(|e| e.0).collect::<Vec<_>>(), [4, 5, 6, 7]);
        assert_eq!(Rc::strong_count(&marker), 5);

        let sum = Batch::new(&mut inbox, None, &quarantine, &mut held, false, FREE)
            .drain()
            .fold(0, |acc, e| acc * 10 + e.0);
        assert_eq!(sum, 4567);
        assert!(inbox.is_empty());
        assert_eq!(Rc::strong_count(&marker), 1);
    }

    #[test]
    fn drain_holds_back_quarantined_keys_too() {
        let key: KeyFn<u64> = std::sync::Arc::new(|e: &u64| *e % 2);
        let quarantine: HashSet<u64> = [1].into();
        let mut held = Vec::new();
        let mut inbox: Vec<u64> = (0..6).collect();
        let mut taken = Vec::new();
        Batch::new(&mut inbox, Some(&key), &quarantine, &mut held, false, FREE)
            .drain()
            .for_each(|e| taken.push(e));
        assert_eq!(taken, [0, 2, 4]);
        assert_eq!(held, [1, 3, 5]);
    }

    #[test]
    fn quarantined_keys_are_held_back() {
        let key: KeyFn<u64> = std::sync::Arc::new(|e: &u64| *e % 2);
        let quarantine: HashSet<u64> = [1].into();
        let mut held = Vec::new();
        let mut inbox: Vec<u64> = (0..6).collect();
        let taken: Vec<u64> =
            Batch::new(&mut inbox, Some(&key), &quarantine, &mut held, true, FREE).collect();
        assert_eq!(taken, [0, 2, 4]);
        assert_eq!(held, [1, 3, 5]);
    }
}
