//! A domain's queue with its event type erased: what the pool, the pipeline and the probes
//! read and do, whoever runs the lanes (a sync domain's threads or an async stage's tasks).

use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use crossbeam_channel::Receiver;

use crate::queue::Queue;

/// The type-free operations of a [`Queue`].
pub(crate) trait QueueFace: Send + Sync {
    fn ready(&self) -> &Receiver<usize>;
    fn lane_count(&self) -> usize;
    fn len(&self) -> usize;
    fn capacity(&self) -> usize;
    fn queued(&self) -> usize;
    fn oldest_age(&self) -> Duration;
    fn is_quiet(&self) -> bool;
    fn close(&self);
    fn abort(&self);
    fn batch_limit(&self) -> &AtomicUsize;
}

impl<E: Send + 'static> QueueFace for Queue<E> {
    fn ready(&self) -> &Receiver<usize> {
        Queue::ready(self)
    }

    fn lane_count(&self) -> usize {
        Queue::lane_count(self)
    }

    fn len(&self) -> usize {
        Queue::len(self)
    }

    fn capacity(&self) -> usize {
        Queue::capacity(self)
    }

    fn queued(&self) -> usize {
        Queue::queued(self)
    }

    fn oldest_age(&self) -> Duration {
        Queue::oldest_age(self)
    }

    fn is_quiet(&self) -> bool {
        Queue::is_quiet(self)
    }

    fn close(&self) {
        Queue::close(self);
    }

    fn abort(&self) {
        Queue::abort(self);
    }

    fn batch_limit(&self) -> &AtomicUsize {
        Queue::batch_limit(self)
    }
}
