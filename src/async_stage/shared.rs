//! What every lane of an async stage shares: its limiter, counters, and the halt
//! signal a shutdown deadline sends.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use tokio::sync::Notify;

use super::limiter::Limiter;
use crate::bus::Bus;
use crate::event::KeyFn;
use crate::queue::Queue;
use crate::stage::OnPanic;
use crate::stats::StageStats;

/// The queue and bus, known once the stage's domain is made.
pub(crate) struct Wired<E> {
    pub(crate) queue: Arc<Queue<E>>,
    pub(crate) bus: Arc<Bus>,
}

/// Shared by the lanes of one async stage and the calls they run.
pub(crate) struct AsyncShared<E> {
    pub(crate) index: usize,
    pub(crate) name: Arc<str>,
    pub(crate) stats: Arc<StageStats>,
    pub(crate) key: Option<KeyFn<E>>,
    pub(crate) on_panic: OnPanic,
    pub(crate) limiter: Arc<Limiter>,
    pub(crate) wired: OnceLock<Wired<E>>,
    pub(crate) halt: Halt,
    /// Lane tasks running (a shutdown past its deadline waits for them to cancel).
    pub(crate) active: AtomicUsize,
}

/// Set once when a shutdown deadline passes; lane tasks wait on it beside their calls.
#[derive(Default)]
pub(crate) struct Halt {
    set: AtomicBool,
    notify: Notify,
}

impl Halt {
    pub(crate) fn set(&self) {
        self.set.store(true, Ordering::Release);
        self.notify.notify_waiters();
    }

    pub(crate) fn is_set(&self) -> bool {
        self.set.load(Ordering::Acquire)
    }

    /// Returns once the halt is set.
    pub(crate) async fn wait(&self) {
        loop {
            let set = self.notify.notified();
            tokio::pin!(set);
            set.as_mut().enable();
            if self.is_set() {
                return;
            }
            set.await;
        }
    }
}
