//! Where producers wait for room in a full queue, from threads or from async tasks.
//!
//! Waking a blocked producer costs a futex call and a thread switch, and a producer woken
//! after every consumer batch refills one batch's worth and blocks again. So, as Netty's write
//! watermarks do, consumers wake waiters only once the queue has drained to its low watermark
//! (half the capacity): the producer then refills half a queue per wake-up. Until then the
//! wake-up is owed by the consuming thread, which pays it before it can stop consuming (blocks
//! on another queue, parks, or hands the thread back to its caller), so a consumer that stalls
//! above the watermark never strands a producer while there is room.

use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::{Condvar, Mutex};
use tokio::sync::Notify;

/// Wake-up point for producers blocked on a full queue. Consumers pay one atomic load per
/// batch unless somebody is actually waiting.
#[derive(Default)]
pub(crate) struct Room {
    waiters: AtomicUsize,
    lock: Mutex<()>,
    cond: Condvar,
    notify: Notify,
}

thread_local! {
    /// Rooms this thread consumed from while producers waited, without waking them yet.
    static OWED: RefCell<Vec<Arc<Room>>> = const { RefCell::new(Vec::new()) };
}

impl Room {
    /// Wakes every waiter (room was made in bulk, or the queue closed).
    pub(crate) fn wake(&self) {
        if self.waiters.load(Ordering::SeqCst) > 0 {
            drop(self.lock.lock());
            self.cond.notify_all();
            self.notify.notify_waiters();
        }
    }

    /// Called by a consumer after it took events: wakes waiters once the queue is down to its
    /// low watermark, and otherwise owes them the wake-up until [`pay_owed_wakes`].
    pub(crate) fn taken(self: &Arc<Self>, at_low_watermark: bool) {
        if self.waiters.load(Ordering::SeqCst) == 0 {
            return;
        }
        if at_low_watermark {
            self.wake();
            return;
        }
        OWED.with(|owed| {
            let mut owed = owed.borrow_mut();
            if !owed.iter().any(|r| Arc::ptr_eq(r, self)) {
                owed.push(self.clone());
            }
        });
    }

    /// Parks the thread until `ready()` holds or `deadline` passes; returns `ready()`'s last
    /// answer. `ready` is re-checked under the lock, so a wake between check and park is not
    /// lost.
    pub(crate) fn wait_until(
        &self,
        deadline: Option<Instant>,
        mut ready: impl FnMut() -> bool,
    ) -> bool {
        let _waiting = Waiting::new(&self.waiters);
        let mut guard = self.lock.lock();
        let ok = loop {
            if ready() {
                break true;
            }
            match deadline {
                Some(d) => {
                    if self.cond.wait_until(&mut guard, d).timed_out() {
                        break ready();
                    }
                }
                None => self.cond.wait(&mut guard),
            }
        };
        drop(guard);
        ok
    }

    /// Waits without blocking the executor until `ready()` holds.
    pub(crate) async fn wait_async(&self, mut ready: impl FnMut() -> bool) {
        // The guard keeps the count right when the waiting future is dropped.
        let _waiting = Waiting::new(&self.waiters);
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if ready() {
                return;
            }
            notified.await;
        }
    }
}

/// Pays the wake-ups this thread owes. Every thread that consumes must call it before it
/// blocks, parks or returns to code that may: the producers it owes may be what it waits for.
pub(crate) fn pay_owed_wakes() {
    let owed = OWED.with(|owed| {
        let mut owed = owed.borrow_mut();
        if owed.is_empty() {
            None
        } else {
            Some(std::mem::take(&mut *owed))
        }
    });
    for room in owed.into_iter().flatten() {
        room.wake();
    }
}

struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn new(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Waiting(count)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}
