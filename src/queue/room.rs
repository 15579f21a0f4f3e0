//! Where producers wait for room in a full queue, from threads or from async tasks.

use std::sync::atomic::{AtomicUsize, Ordering};
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

impl Room {
    /// Called after room was made (events popped, queue closed).
    pub(crate) fn wake(&self) {
        if self.waiters.load(Ordering::SeqCst) > 0 {
            drop(self.lock.lock());
            self.cond.notify_all();
            self.notify.notify_waiters();
        }
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
