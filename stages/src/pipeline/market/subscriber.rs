//! One WebSocket subscriber as the market-data stage and the socket's writer share it: its
//! [`Outbox`] behind a lock, and the signal that wakes the writer.

use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::market::Outbox;

/// A socket's queue of market data. The stage pushes into it from its lanes (several at once,
/// for subscriptions on several symbols); the socket's writer pops from it.
#[derive(Debug)]
pub(crate) struct Subscriber {
    id: u64,
    outbox: Mutex<Outbox>,
    /// Wakes the writer: stored as a permit when it is not waiting, so no wake-up is lost.
    wake: Notify,
    /// Signals the writer that the outbox turned slow, also while it waits on a full socket.
    slowed: Notify,
    closing: AtomicBool,
}

/// The most messages the writer takes at once: it writes them before it flushes.
const WRITE_BATCH: usize = 256;

/// What the writer does next.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// Write the messages taken.
    Write,
    /// Nothing queued: wait for [`Subscriber::woken`].
    Wait,
    /// Everything is written and the socket is to close: it passed its cap (`slow`: its
    /// last message was `slow consumer`) or its reader ended.
    Close { slow: bool },
}

impl Subscriber {
    /// A subscriber whose socket may hold `cap` unsent bytes.
    pub(crate) fn new(id: u64, cap: usize) -> Subscriber {
        Subscriber {
            id,
            outbox: Mutex::new(Outbox::new(cap)),
            wake: Notify::new(),
            slowed: Notify::new(),
            closing: AtomicBool::new(false),
        }
    }

    /// Its number, unique in the process.
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// Runs `f` on the outbox, then wakes the writer if the outbox went from empty to not
    /// (a writer with a non-empty outbox is awake already: it pops until empty).
    pub(crate) fn with_outbox<R>(&self, f: impl FnOnce(&mut Outbox) -> R) -> R {
        let mut outbox = self.outbox.lock();
        let (was_empty, was_slow) = (outbox.is_empty(), outbox.is_slow());
        let result = f(&mut outbox);
        let wake = was_empty && !outbox.is_empty();
        let slowed = !was_slow && outbox.is_slow();
        drop(outbox);
        if wake {
            self.wake.notify_one();
        }
        if slowed {
            self.slowed.notify_one();
        }
        result
    }

    /// Waits until the outbox turned slow (at once if it did since the last call).
    pub(crate) async fn slowed(&self) {
        self.slowed.notified().await;
    }

    /// Takes the next messages to write, oldest first, into `out` (up to [`WRITE_BATCH`],
    /// one lock for all).
    pub(crate) fn next(&self, out: &mut Vec<Utf8Bytes>) -> Next {
        let mut outbox = self.outbox.lock();
        out.extend(std::iter::from_fn(|| outbox.pop()).take(WRITE_BATCH));
        if !out.is_empty() {
            Next::Write
        } else if outbox.is_slow() {
            Next::Close { slow: true }
        } else if self.is_closing() {
            Next::Close { slow: false }
        } else {
            Next::Wait
        }
    }

    /// Waits until something was queued (or [`close`](Subscriber::close) was asked) since the
    /// writer last found the outbox empty.
    pub(crate) async fn woken(&self) {
        self.wake.notified().await;
    }

    /// Whether the socket is closing: nothing more is asked of the stage.
    pub(crate) fn is_closing(&self) -> bool {
        self.closing.load(Ordering::Acquire)
    }

    /// Asks the writer to close the socket once the outbox is written.
    pub(crate) fn close(&self) {
        self.closing.store(true, Ordering::Release);
        self.wake.notify_one();
    }
}
