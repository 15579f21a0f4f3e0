//! Hand-off: a worker runs the downstream lanes its own output made ready.
//!
//! A queue per stage costs a thread switch per hop when every stage waits on its own pool: the
//! producer wakes a parked worker and goes idle itself. Instead, when a pool worker's delivery
//! turns an idle lane of another (or its own) domain ready, the worker keeps that lane and runs
//! it right after releasing its own, so a batch can travel decode → match → encode on one
//! thread, through the same queues, with the same per-stage accounting. A producer that finds a
//! lane busy on another thread only queues its events: the thread running the lane finds them
//! when it releases the lane and runs them too (flat combining), so nobody waits for the lane
//! and no pool thread is woken for it. Past a round's worth of lanes the rest go back to their
//! pools' ready channels, where those pools' workers take over: the pools still add
//! parallelism when one thread is not enough. Producers outside the pools use the ready
//! channels, unless their publisher asks the caller to run ([`caller_runs`]).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::Weak;

use super::room::pay_owed_wakes;

/// Whoever runs a queue's lanes (its domain), as hand-off sees it: the queue keeps a weak
/// handle to it so a worker can run a lane it made ready, or give it back to the pool.
pub(crate) trait LaneRunner: Send + Sync {
    /// Runs one batch of `lane`, which the caller owns.
    fn run_lane(&self, lane: usize);
    /// Puts `token` (a lane, or a wake-up) into the pool's ready channel.
    fn send_token(&self, token: usize);
}

/// Lanes a worker may run in one round before handing the rest to their pools (a cycle of
/// stages must not keep one thread forever).
const ROUND: usize = 64;

/// Kept lanes, run oldest first: every lane a stage's batches made ready runs before the
/// lanes their output made ready downstream, so a keyed stage's many small lane batches meet
/// again in one batch of the next stage instead of each dragging its own through it.
type Pending = VecDeque<(Weak<dyn LaneRunner>, usize)>;

/// A thread's kept lanes.
struct Kept {
    /// On pool worker threads, and on a caller while it [runs](caller_runs) what it publishes.
    on: bool,
    /// Kept with its room while off: a network thread turns it on once per read.
    lanes: Pending,
}

thread_local! {
    static KEPT: RefCell<Kept> = const {
        RefCell::new(Kept {
            on: false,
            lanes: VecDeque::new(),
        })
    };
}

/// Marks the calling thread as a pool worker that runs kept lanes.
pub(crate) fn enable() {
    KEPT.with(|k| k.borrow_mut().on = true);
}

/// Keeps a lane that just became ready for this worker to run. Returns false on threads that
/// are not pool workers (the caller then uses the ready channel).
pub(crate) fn keep(domain: &Weak<dyn LaneRunner>, lane: usize) -> bool {
    KEPT.with(|k| {
        let mut k = k.borrow_mut();
        if k.on {
            k.lanes.push_back((domain.clone(), lane));
        }
        k.on
    })
}

/// Runs `publish` with the calling thread acting as a worker for the lanes it makes ready,
/// then runs them here: an outside producer pays for its batch's work instead of waking a
/// pool thread (and a thread switch per hop). On a pool worker it only publishes: the
/// worker's own loop runs what it keeps.
pub(crate) fn caller_runs<R>(publish: impl FnOnce() -> R) -> R {
    if KEPT.with(|k| k.borrow().on) {
        return publish();
    }
    enable();
    let result = publish();
    // Leaves nothing kept: it runs the lanes or gives them back.
    run_kept();
    KEPT.with(|k| k.borrow_mut().on = false);
    // The caller goes back to its own code, which may block on anything.
    pay_owed_wakes();
    result
}

/// Runs the kept lanes (and the ones they make ready), up to a round's worth; the rest go to
/// their pools.
pub(crate) fn run_kept() {
    for _ in 0..ROUND {
        let Some((domain, lane)) = KEPT.with(|k| k.borrow_mut().lanes.pop_front()) else {
            return;
        };
        if let Some(d) = domain.upgrade() {
            d.run_lane(lane);
        }
    }
    give_back();
}

/// Hands every kept lane to its own pool. A worker must do this before it blocks on a full
/// queue: the lane it keeps may be the only one that can make room there.
pub(crate) fn give_back() {
    let mut kept = KEPT.with(|k| std::mem::take(&mut k.borrow_mut().lanes));
    for (domain, lane) in kept.drain(..) {
        if let Some(d) = domain.upgrade() {
            d.send_token(lane);
        }
    }
    // Its room serves the lanes kept next.
    KEPT.with(|k| {
        let mut k = k.borrow_mut();
        if k.lanes.is_empty() {
            k.lanes = kept;
        }
    });
}
