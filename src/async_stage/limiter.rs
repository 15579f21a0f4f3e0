//! The in-flight limit at run time: permits the lane tasks wait for, the samples the
//! controller reads, and the round that applies its decision (the thin adapter around the
//! pure [`LimitController`]).
//!
//! The controller decides once per round of calls: when as many calls have ended since its
//! last decision as the limit allows at once (about one call latency at full use), as TCP
//! adjusts its window once per round trip. A fixed tick would be too slow for fast services
//! and too noisy for slow ones: doubling from 1 to 1024 takes ten rounds whatever a call
//! takes.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::Notify;

use super::controller::{LimitController, LimitObservation};

/// How many calls of one async stage may run at once, and what they took.
pub(crate) struct Limiter {
    limit: AtomicUsize,
    in_flight: AtomicUsize,
    /// Highest limit so far (for [`Concurrency`](crate::Concurrency)).
    peak_limit: AtomicUsize,
    /// Set when an event waited for room, cleared by each decision.
    throttled: AtomicBool,
    completed: AtomicU64,
    latency_ns: AtomicU64,
    room: Notify,
    controller: Mutex<LimitController>,
    pub(crate) min: usize,
    pub(crate) max: usize,
}

/// Room for one call; dropping it (the call ended, or was cancelled) frees the room.
pub(crate) struct Permit(Arc<Limiter>);

impl Permit {
    /// The call ended after `took`: counts the sample (deciding the limit at the end of a
    /// round) and frees the room.
    pub(crate) fn release(self, took: Duration) {
        if self.0.record(took) {
            self.0.decide();
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Relaxed);
        self.0.room.notify_one();
    }
}

impl Limiter {
    /// A limiter for `min..=max` calls at once, starting at `min`.
    pub(crate) fn new(min: usize, max: usize) -> Self {
        let controller = LimitController::new(min, max);
        let start = controller.limit();
        Limiter {
            limit: AtomicUsize::new(start),
            in_flight: AtomicUsize::new(0),
            peak_limit: AtomicUsize::new(start),
            throttled: AtomicBool::new(false),
            completed: AtomicU64::new(0),
            latency_ns: AtomicU64::new(0),
            room: Notify::new(),
            controller: Mutex::new(controller),
            min: min.max(1),
            max: max.max(min.max(1)),
        }
    }

    pub(crate) fn limit(&self) -> usize {
        self.limit.load(Relaxed)
    }

    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.load(Relaxed)
    }

    pub(crate) fn peak_limit(&self) -> usize {
        self.peak_limit.load(Relaxed)
    }

    /// An event waits and the limit is reached: the limit binds this round.
    pub(crate) fn note_throttled(&self) {
        self.throttled.store(true, Relaxed);
    }

    /// A permit if there is room now.
    pub(crate) fn try_acquire(self: &Arc<Self>) -> Option<Permit> {
        let mut now = self.in_flight.load(Relaxed);
        loop {
            if now >= self.limit.load(Relaxed) {
                return None;
            }
            match self
                .in_flight
                .compare_exchange_weak(now, now + 1, Relaxed, Relaxed)
            {
                Ok(_) => return Some(Permit(self.clone())),
                Err(seen) => now = seen,
            }
        }
    }

    /// Waits for room. Cancel-safe: a permit exists only once this returns it.
    pub(crate) async fn acquire(self: &Arc<Self>) -> Permit {
        loop {
            let room = self.room.notified();
            tokio::pin!(room);
            // Registered before the check, so a permit freed in between still wakes us.
            room.as_mut().enable();
            if let Some(p) = self.try_acquire() {
                return p;
            }
            room.await;
        }
    }

    /// A call completed after `took`. Returns whether that ends a round.
    fn record(&self, took: Duration) -> bool {
        let ns = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        self.latency_ns.fetch_add(ns, Relaxed);
        self.completed.fetch_add(1, Relaxed) + 1 >= self.limit.load(Relaxed) as u64
    }

    /// Ends a round: what its calls did, the controller's decision, applied. A call ending
    /// while another decides leaves it to that one (its sample counts in the next round).
    fn decide(&self) {
        let Some(mut controller) = self.controller.try_lock() else {
            return;
        };
        if self.completed.load(Relaxed) < self.limit.load(Relaxed) as u64 {
            return;
        }
        let completed = self.completed.swap(0, Relaxed);
        let latency_ns = self.latency_ns.swap(0, Relaxed);
        let observation = LimitObservation {
            completed,
            latency: (completed > 0).then(|| Duration::from_nanos(latency_ns / completed)),
            throttled: self.throttled.swap(false, Relaxed),
        };
        let limit = controller.observe(&observation);
        let before = self.limit.swap(limit, Relaxed);
        self.peak_limit.fetch_max(limit, Relaxed);
        if limit > before {
            self.room.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permits_stop_at_the_limit_and_come_back_on_drop() {
        let l = Arc::new(Limiter::new(2, 8));
        let a = l.try_acquire();
        let b = l.try_acquire();
        assert!(a.is_some() && b.is_some());
        assert!(l.try_acquire().is_none());
        assert_eq!(l.in_flight(), 2);
        drop(a);
        assert_eq!(l.in_flight(), 1);
        assert!(l.try_acquire().is_some());
    }

    #[test]
    fn a_round_with_waiting_and_flat_latency_raises_the_limit() {
        let l = Arc::new(Limiter::new(1, 8));
        let first = l.try_acquire().unwrap();
        assert!(l.try_acquire().is_none());
        l.note_throttled();
        // One call is a round at limit 1.
        first.release(Duration::from_millis(5));
        assert_eq!(l.limit(), 2);
        let (a, b) = (l.try_acquire().unwrap(), l.try_acquire().unwrap());
        assert_eq!(l.in_flight(), 2);
        // Half a round: no decision yet.
        a.release(Duration::from_millis(5));
        assert_eq!(l.limit(), 2);
        // Round over, nobody waited: held.
        b.release(Duration::from_millis(5));
        assert_eq!((l.limit(), l.peak_limit()), (2, 2));
    }
}
