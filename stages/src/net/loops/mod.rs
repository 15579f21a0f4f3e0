//! The network's event loops: a group of threads, each running a single-threaded tokio
//! runtime with the TCP sessions and HTTP connections assigned to it (Netty's event-loop
//! group), sized between `[network] min_loops` and `max_loops` by the engine's pool rule
//! ([`sizing`]).
//!
//! # Sessions and loops
//! A session (a TCP connection's reader and writer tasks) runs on one loop at a time, so its
//! reads, framing and the stages it runs inline never leave that thread. A new connection
//! goes to the active loop with the fewest sessions.
//!
//! # Resizing
//! - **Growing** starts loops and asks sessions of the busiest loops to move to them until
//!   the counts are even.
//! - **Shrinking** retires the newest loops: they take no new sessions, every session on them
//!   is asked to move to an active loop, and a retired loop's thread ends with its last one.
//!
//! # HTTP connections
//! An HTTP connection (and a WebSocket session upgraded from it) is pinned to the least busy
//! loop for its whole life: hyper's state cannot move between runtimes. It counts in the
//! loop's load like a session, and a retired loop runs until its last pinned connection
//! ends, so retiring never cuts one. Growing serves only new connections: long-lived ones
//! opened before the load stay where they are (`min_loops` is the remedy).
//!
//! # Moving a session
//! A move is a request the session acts on at its next safe point: its reader between two
//! reads (or while paused for room), its writer between two writes. Both tasks end there,
//! the socket is registered anew with the target loop's reactor (a duplicate of its
//! descriptor: the connection itself never closes) and the tasks resume on the target with
//! their state. Nothing is read twice or lost: requests already read were handed on before
//! the reader stopped, and output stays in the connection's buffer, written by whichever
//! thread is next. A reader paused by traffic shaping moves when the pause ends.
//!
//! # Idle work
//! A loop about to park runs a round of the market-data stage's ready batches first
//! ([`sedaflow::IdleRunner`]): at most one round a millisecond over all loops, and only while
//! rounds stay under 100 µs. Market data's book-keeping then costs no thread switch (its
//! worker's wake-ups took the loop's CPU and caches); heavy fan-out to many subscribers stays
//! on the stage's own thread.

mod cpu;
mod event_loop;
mod idle;
mod reads;
mod sizing;
#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use sedaflow::CpuUse;

use super::conn::Conn;
use super::Consolidation;
use crate::internal_events::LoopMetrics;

pub(crate) use cpu::thread_cpu;
pub(crate) use event_loop::{EventLoop, LoopId, Pinned};
use idle::IdleWork;
pub(crate) use reads::ReadCounts;
pub(crate) use sizing::steer;

/// The group: active loops take sessions, retiring ones still run some.
pub(crate) struct EventLoops {
    loops: Mutex<Loops>,
    next_id: AtomicUsize,
    min: usize,
    max: usize,
    held: Arc<Consolidation>,
    idle: Arc<IdleWork>,
    metrics: LoopMetrics,
}

#[derive(Default)]
struct Loops {
    active: Vec<Arc<EventLoop>>,
    retiring: Vec<Arc<EventLoop>>,
    /// Read counts of loops whose threads ended, so the totals never go back.
    gone: ReadCounts,
    /// Their busy time and CPU demand, for the same reason.
    gone_busy: Duration,
    gone_cpu: CpuUse,
    /// Shut down: no loop starts again.
    shut: bool,
}

impl EventLoops {
    /// Starts `min` loops (at least one).
    pub(crate) fn start(
        min: usize,
        max: usize,
        held: Arc<Consolidation>,
        metrics: LoopMetrics,
    ) -> std::io::Result<Arc<EventLoops>> {
        let min = min.max(1);
        let group = Arc::new(EventLoops {
            loops: Mutex::default(),
            next_id: AtomicUsize::new(0),
            min,
            max: max.max(min),
            held,
            idle: Arc::default(),
            metrics,
        });
        group.resize(min)?;
        Ok(group)
    }

    /// From now on, a loop about to go idle first runs `runner`'s ready batches (the
    /// market-data stage's: see [`sedaflow::IdleRunner`]).
    pub(crate) fn run_when_idle(&self, runner: sedaflow::IdleRunner) {
        self.idle.set(runner);
    }

    pub(crate) fn min(&self) -> usize {
        self.min
    }

    pub(crate) fn max(&self) -> usize {
        self.max
    }

    /// Active loops now.
    pub(crate) fn active(&self) -> usize {
        self.loops.lock().active.len()
    }

    /// Loop threads now, retiring ones included.
    pub(crate) fn threads(&self) -> usize {
        let loops = self.loops.lock();
        loops.active.len() + loops.retiring.len()
    }

    /// The active loop with the fewest sessions, which `conn` joins; none once the group has
    /// shut down.
    pub(crate) fn assign(&self, conn: &Arc<Conn>) -> Option<Arc<EventLoop>> {
        let loops = self.loops.lock();
        let home = least_busy(&loops.active)?.clone();
        home.join(conn);
        Some(home)
    }

    /// Pins a connection that never moves (HTTP) to the least busy active loop; `None` once
    /// the group has shut down.
    pub(crate) fn pin(&self) -> Option<Pinned> {
        let loops = self.loops.lock();
        Some(least_busy(&loops.active)?.pin())
    }

    /// `conn` stopped on `from` for a move: it joins the loop the move named if that one is
    /// still active, else the least busy active one; none once the group has shut down.
    pub(crate) fn moved(&self, conn: &Arc<Conn>, from: &EventLoop) -> Option<Arc<EventLoop>> {
        let wanted = conn.take_move();
        let loops = self.loops.lock();
        let to = loops
            .active
            .iter()
            .find(|l| Some(l.id) == wanted)
            .or_else(|| least_busy(&loops.active))?
            .clone();
        to.join(conn);
        from.leave(conn);
        self.metrics.moved();
        Some(to)
    }

    /// What every loop's readers did, gone loops included.
    pub(crate) fn reads(&self) -> ReadCounts {
        let loops = self.loops.lock();
        let total = loops.gone.clone();
        for l in loops.active.iter().chain(&loops.retiring) {
            total.add(&l.reads);
        }
        total
    }

    /// Calls `f` with every session on every loop.
    pub(crate) fn each_session(&self, mut f: impl FnMut(&Arc<Conn>)) {
        let loops = self.loops.lock();
        for l in loops.active.iter().chain(&loops.retiring) {
            l.each_session(&mut f);
        }
    }

    /// The group's metrics.
    pub(crate) fn metrics(&self) -> &LoopMetrics {
        &self.metrics
    }

    /// Every loop's busy time and CPU demand so far, gone loops included: the difference of
    /// two readings never drops when a loop retires (it read as an idle tick before).
    pub(crate) fn work(&self) -> (Duration, CpuUse) {
        // Read outside the lock (CPU demand is a file read per loop), which new connections
        // take. A loop reaped meanwhile is counted once: it is in the list, not in these
        // totals, and keeps its last reading.
        let (gone, live) = {
            let loops = self.loops.lock();
            let live: Vec<_> = loops
                .active
                .iter()
                .chain(&loops.retiring)
                .cloned()
                .collect();
            ((loops.gone_busy, loops.gone_cpu), live)
        };
        live.iter()
            .fold(gone, |(busy, cpu), l| (busy + l.busy(), cpu + l.cpu()))
    }

    /// Every loop.
    #[cfg(test)]
    pub(crate) fn all(&self) -> Vec<Arc<EventLoop>> {
        let loops = self.loops.lock();
        loops
            .active
            .iter()
            .chain(&loops.retiring)
            .cloned()
            .collect()
    }

    /// Runs `target` loops (within `min..=max`): starts loops and evens the sessions out, or
    /// retires the newest and moves their sessions away.
    pub(crate) fn resize(&self, target: usize) -> std::io::Result<()> {
        let target = target.clamp(self.min, self.max);
        let mut loops = self.loops.lock();
        if loops.shut {
            return Ok(());
        }
        self.reap(&mut loops);
        while loops.active.len() < target {
            let id = self.next_id.fetch_add(1, Relaxed);
            let (held, idle) = (self.held.clone(), self.idle.clone());
            loops.active.push(EventLoop::start(id, held, idle)?);
            self.metrics.started();
        }
        while loops.active.len() > target {
            let Some(old) = loops.active.pop() else { break };
            old.retire();
            self.metrics.retired();
            loops.retiring.push(old);
        }
        let mut spread = Spread::new(&loops.active);
        for old in &loops.retiring {
            old.each_session(|c| {
                if !c.move_requested() {
                    c.request_move(spread.next());
                }
            });
        }
        even_out(&loops.active, &mut spread);
        self.metrics.loops(
            loops.active.len(),
            loops.active.len() + loops.retiring.len(),
        );
        Ok(())
    }

    /// Joins retired loops whose last session left, keeping their counts.
    fn reap(&self, loops: &mut Loops) {
        let (done, still): (Vec<_>, Vec<_>) = std::mem::take(&mut loops.retiring)
            .into_iter()
            .partition(|l| l.is_empty());
        loops.retiring = still;
        for l in done {
            l.join_thread();
            loops.gone_busy += l.busy();
            loops.gone_cpu = loops.gone_cpu + l.cpu();
            loops.gone.add(&l.reads);
        }
    }

    /// Stops every loop and waits for their threads. The server calls it once its sessions
    /// ended, or its shutdown deadline passed: what still runs on a loop is dropped then.
    pub(crate) fn shutdown(&self) {
        let all = {
            let mut loops = self.loops.lock();
            loops.shut = true;
            let mut all = std::mem::take(&mut loops.active);
            all.append(&mut loops.retiring);
            all
        };
        for l in &all {
            l.stop();
        }
        for l in &all {
            l.join_thread();
        }
        // The counts outlive the loops: the pipeline's last report still reads them.
        let mut loops = self.loops.lock();
        for l in &all {
            loops.gone.add(&l.reads);
            loops.gone_busy += l.busy();
            loops.gone_cpu = loops.gone_cpu + l.cpu();
        }
    }
}

/// A group dropped without [`EventLoops::shutdown`] (a server that failed to start) still
/// ends its idle loops' threads.
impl Drop for EventLoops {
    fn drop(&mut self) {
        let loops = self.loops.lock();
        for l in loops.active.iter().chain(&loops.retiring) {
            l.retire();
        }
    }
}

/// The loop with the fewest sessions and pinned connections (the first on a tie); none only
/// after shutdown (the group keeps at least one active until then).
fn least_busy(loops: &[Arc<EventLoop>]) -> Option<&Arc<EventLoop>> {
    loops.iter().min_by_key(|l| l.load())
}

/// Hands out target loops, each time the one with the fewest sessions counting those
/// already handed to it.
struct Spread {
    loads: Vec<(LoopId, usize)>,
}

impl Spread {
    fn new(active: &[Arc<EventLoop>]) -> Spread {
        Spread {
            loads: active.iter().map(|l| (l.id, l.sessions())).collect(),
        }
    }

    fn next(&mut self) -> LoopId {
        match self.loads.iter_mut().min_by_key(|(_, n)| *n) {
            Some((id, n)) => {
                *n += 1;
                *id
            }
            None => 0,
        }
    }

    /// The even share of the sessions counted so far.
    fn share(&self) -> usize {
        let total: usize = self.loads.iter().map(|(_, n)| n).sum();
        total.div_ceil(self.loads.len().max(1))
    }
}

/// Asks sessions of loops above the even share to move to the least loaded.
fn even_out(active: &[Arc<EventLoop>], spread: &mut Spread) {
    let share = spread.share();
    for l in active {
        let mut extra = l.sessions().saturating_sub(share);
        l.each_session(|c| {
            if extra > 0 && !c.move_requested() {
                let to = spread.next();
                if to != l.id {
                    c.request_move(to);
                    extra -= 1;
                }
            }
        });
    }
}
