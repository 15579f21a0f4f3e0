//! One WebSocket subscriber as the market-data stage and the socket's writer share it: its
//! [`Outbox`] behind a lock, the protocol layer's own frames, and the signal that wakes the
//! writer.

use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::market::Outbox;

/// A socket's queue of market data. The stage pushes into it from its lanes (several at once,
/// for subscriptions on several symbols); the socket's writer pops from it.
#[derive(Debug)]
pub(crate) struct Subscriber {
    id: u64,
    outbox: Mutex<Outbox>,
    /// Whole frames the protocol layer wrote (pongs), written before the next messages.
    control: Mutex<Vec<u8>>,
    /// Wakes the writer: stored as a permit when it is not waiting, so no wake-up is lost.
    wake: Notify,
    /// Signals the writer that the outbox turned slow, also while it waits on a full socket.
    slowed: Notify,
    closing: AtomicBool,
}

/// About the most bytes the writer takes at once: it writes them before it takes more.
pub(crate) const WRITE_CHUNK: usize = 64 * 1024;

/// The most bytes of protocol frames kept unwritten: some thirty pongs.
const CONTROL_CAP: usize = 4096;

/// What the writer does next.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// Write what was taken: `messages` of the outbox, `bytes` of text in them (and any
    /// protocol frames before them).
    Write { messages: usize, bytes: usize },
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
            control: Mutex::new(Vec::new()),
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

    /// Queues whole frames of the protocol layer (a pong) to be written before the next
    /// messages, and wakes the writer. Past [`CONTROL_CAP`] unwritten (a client that sends
    /// pings and reads nothing) the older ones are dropped: a pong answering only the latest
    /// ping is what RFC 6455 allows.
    pub(crate) fn control(&self, frames: &[u8]) {
        let mut control = self.control.lock();
        if control.len() + frames.len() > CONTROL_CAP {
            control.clear();
        }
        control.extend_from_slice(frames);
        drop(control);
        self.wake.notify_one();
    }

    /// Takes what to write next into `out`: the protocol layer's frames, then messages,
    /// oldest first, each handed to `frame` (which appends it to `out`), until about
    /// [`WRITE_CHUNK`] bytes (one lock for all).
    pub(crate) fn next(
        &self,
        out: &mut Vec<u8>,
        mut frame: impl FnMut(&[u8], &mut Vec<u8>),
    ) -> Next {
        out.append(&mut self.control.lock());
        let (mut messages, mut bytes) = (0, 0);
        let mut outbox = self.outbox.lock();
        while out.len() < WRITE_CHUNK {
            let Some(len) = outbox.pop_with(|text| {
                frame(text.as_bytes(), out);
                text.len()
            }) else {
                break;
            };
            messages += 1;
            bytes += len;
        }
        if messages > 0 || !out.is_empty() {
            Next::Write { messages, bytes }
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
