//! Consolidation of output nobody awaits ([`When::Held`](super::When::Held)) across reads
//! and network threads.
//!
//! A network thread ([`Consolidation::resumed`]) holds the connections whose unawaited
//! output its scopes left, and writes them after [`HOLD_READS`] more reads (each outermost
//! scope one: a loop turn's reads handed on together, or one read that went on alone). A thread that
//! goes idle hands what it holds over instead of writing it: a running thread writes it with
//! its own after [`HOLD_READS`] reads, and the flusher after [`HANDED_WAIT`] if none does. In
//! a busy server most of it never needs a write of its own: the next answer to that client
//! carries it.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::sync::Notify;

use super::pending::Pending;

/// Reads a network thread may serve before it writes the reports it holds: a bound on how
/// long a fill for a resting order waits for a write that would carry it anyway.
pub(super) const HOLD_READS: u32 = 8;

/// How long output an idle network thread handed over waits for a write that would carry it
/// anyway before [`Consolidation::flusher`] writes it: a network thread "goes idle" many
/// times a millisecond under load (its next read is a moment away), and writing there would
/// cost a `send` per maker each time.
const HANDED_WAIT: Duration = Duration::from_millis(1);

/// A network thread that slept this long when it last went idle serves a quiet server: when
/// it goes idle again it writes what it holds at once instead of handing it over.
pub(super) const QUIET: Duration = Duration::from_millis(10);

thread_local! {
    /// On a network thread: connections whose output nobody awaits yet.
    static HELD: RefCell<Option<Held>> = const { RefCell::new(None) };
}

struct Held {
    /// With their ids, one entry per connection.
    conns: Vec<(u64, Arc<dyn Pending>)>,
    /// Reads served since the oldest held connection was held.
    reads: u32,
    /// What the network threads hold together.
    shared: Arc<Consolidation>,
    /// When this thread last went idle, and whether it then slept past [`QUIET`].
    idle_since: Option<Instant>,
    slept: bool,
}

/// Output the network threads hold together: what idle threads handed over.
#[derive(Default)]
pub(crate) struct Consolidation {
    handed: Mutex<Vec<Arc<dyn Pending>>>,
    /// `handed` is not empty, readable without the lock.
    any: AtomicBool,
    /// Wakes the flusher.
    armed: Notify,
}

impl Consolidation {
    /// The runtime's `on_thread_unpark`: this thread holds unawaited output across reads.
    pub(crate) fn resumed(self: &Arc<Self>) {
        HELD.with(|h| {
            let mut h = h.borrow_mut();
            let held = h.get_or_insert_with(|| Held {
                conns: Vec::new(),
                reads: 0,
                shared: self.clone(),
                idle_since: None,
                slept: false,
            });
            if let Some(t) = held.idle_since.take() {
                held.slept = t.elapsed() >= QUIET;
            }
        });
    }

    /// The runtime's `on_thread_park`: hands what this thread holds over, or writes it if the
    /// thread slept [`QUIET`] last time (it will likely sleep again, and the reports would
    /// wait for the flusher for nothing).
    pub(crate) fn idle(&self) {
        let mine = HELD.with(|h| {
            h.borrow_mut().as_mut().map(|held| {
                held.reads = 0;
                held.idle_since = Some(Instant::now());
                (std::mem::take(&mut held.conns), held.slept)
            })
        });
        let Some((mine, quiet)) = mine.filter(|(m, _)| !m.is_empty()) else {
            return;
        };
        if quiet {
            for (_, conn) in mine {
                conn.write_pending();
            }
            return;
        }
        {
            let mut handed = self.handed.lock();
            for (_, conn) in mine {
                if !conn.handed().swap(true, Relaxed) {
                    handed.push(conn);
                }
            }
            self.any.store(true, Relaxed);
        }
        self.armed.notify_one();
    }

    /// Writes what idle threads handed over [`HANDED_WAIT`] after they did, until the
    /// runtime stops.
    pub(crate) async fn flusher(self: Arc<Self>) {
        loop {
            self.armed.notified().await;
            tokio::time::sleep(HANDED_WAIT).await;
            for conn in self.take_handed() {
                conn.write_pending();
            }
        }
    }

    fn take_handed(&self) -> Vec<Arc<dyn Pending>> {
        if !self.any.swap(false, Relaxed) {
            return Vec::new();
        }
        // Flags are cleared under the lock `idle` sets them under: none stays set for a
        // connection that is not in the list.
        let mut handed = self.handed.lock();
        for conn in handed.iter() {
            conn.handed().store(false, Relaxed);
        }
        std::mem::take(&mut *handed)
    }
}

/// Whether this is a network thread (it holds unawaited output).
pub(super) fn on_network_thread() -> bool {
    HELD.with(|h| h.borrow().is_some())
}

/// Keeps `conn` (id `id`) for a later write, on a network thread.
pub(super) fn hold(id: u64, conn: Arc<dyn Pending>) {
    HELD.with(|h| {
        if let Some(held) = h.borrow_mut().as_mut() {
            if !held.conns.iter().any(|(c, _)| *c == id) {
                held.conns.push((id, conn));
            }
        }
    });
}

/// An outermost scope ended on this network thread: one more read served while output is
/// held; after [`HOLD_READS`], writes what this thread and the idle ones hold.
pub(super) fn read_served() {
    let due = HELD.with(|h| {
        h.borrow_mut().as_mut().is_some_and(|held| {
            let holding = !held.conns.is_empty() || held.shared.any.load(Relaxed);
            held.reads += u32::from(holding);
            held.reads >= HOLD_READS
        })
    });
    if due {
        write_held();
    }
}

/// Writes every connection's output this thread and the idle ones hold.
fn write_held() {
    let taken = HELD.with(|h| {
        h.borrow_mut().as_mut().map(|held| {
            held.reads = 0;
            (std::mem::take(&mut held.conns), held.shared.take_handed())
        })
    });
    let Some((mine, handed)) = taken else {
        return;
    };
    for (_, conn) in mine {
        conn.write_pending();
    }
    for conn in handed {
        conn.write_pending();
    }
}
