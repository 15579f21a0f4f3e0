//! A connection's outbox: the encoded reports that other connections' requests caused for
//! it, appended under the book lock of the book that made them and taken by the
//! connection's own task.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use sedaflow_stages::codec::{encode_line, Response};
use sedaflow_stages::matching::ReportKind;
use tokio::sync::Notify;

/// Encoded bytes an outbox holds at most; past it the connection is closed.
pub const HARD_CAP: usize = 16 * 1024 * 1024;

/// One connection's mailbox, shared with every book it has an order on.
#[derive(Default)]
pub struct Outbox {
    state: Mutex<State>,
    /// Whether `state.bytes` may hold something: lets the owner skip the lock when empty.
    pending: AtomicBool,
    /// Wakes the owner's task when bytes arrive in an empty outbox.
    arrived: Notify,
}

#[derive(Default)]
struct State {
    bytes: Vec<u8>,
    /// Bytes were refused at the hard cap: the owner closes the connection.
    overflowed: bool,
}

/// What [`Outbox::take_into`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Taken {
    /// Everything there was was appended.
    Ok,
    /// The outbox overflowed: the connection is to be closed.
    Overflowed,
}

impl Outbox {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Every update under the lock is an append or a take: usable after a panic elsewhere.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends `kind` as a response line, waking the owner when the outbox was empty (a
    /// fuller one already has a wake-up pending).
    pub fn push(&self, kind: ReportKind) {
        let mut state = self.lock();
        if state.overflowed {
            return;
        }
        if state.bytes.len() >= HARD_CAP {
            state.overflowed = true;
            state.bytes = Vec::new();
        } else {
            let was_empty = state.bytes.is_empty();
            encode_line(&Response::Report(kind), &mut state.bytes);
            if !was_empty {
                return;
            }
        }
        self.pending.store(true, Ordering::Release);
        drop(state);
        self.arrived.notify_one();
    }

    /// Moves what the outbox holds to the end of `out`.
    pub fn take_into(&self, out: &mut Vec<u8>) -> Taken {
        if !self.pending.load(Ordering::Acquire) {
            return Taken::Ok;
        }
        let mut state = self.lock();
        self.pending.store(false, Ordering::Relaxed);
        if state.overflowed {
            return Taken::Overflowed;
        }
        if out.is_empty() {
            // Swap rather than copy; the outbox keeps `out`'s old allocation.
            std::mem::swap(out, &mut state.bytes);
        } else {
            out.extend_from_slice(&state.bytes);
            state.bytes.clear();
        }
        Taken::Ok
    }

    /// Completes when bytes arrived since the last call (at once if they arrived before).
    pub async fn arrived(&self) {
        self.arrived.notified().await;
    }
}
