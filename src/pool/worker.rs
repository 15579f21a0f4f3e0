//! A pool's worker threads and the pool that owns them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::RecvTimeoutError;
use parking_lot::Mutex;

use super::cpu::{CpuDemand, CpuUse};
use crate::domain::DomainTask;
use crate::queue::handoff;
use crate::queue::pay_owed_wakes;

/// A lane index no queue has: wakes a worker to look at the pool's target or stop flag.
const WAKE: usize = usize::MAX;
/// How long an idle worker parks before re-checking whether it should retire.
const PARK: Duration = Duration::from_millis(200);
/// The threads of one domain. Workers take lanes from the domain's ready channel; the
/// controller moves `target` and workers above it retire themselves.
pub(crate) struct Pool {
    name: Arc<str>,
    domain: Arc<dyn DomainTask>,
    /// How long a worker out of work sleeps before it parks (`PoolConfig::linger`).
    linger: Duration,
    target: AtomicUsize,
    live: AtomicUsize,
    stopping: AtomicBool,
    next_id: AtomicUsize,
    clocks: Mutex<HashMap<usize, CpuDemand>>,
    retired_cpu: Mutex<CpuUse>,
    handles: Mutex<Vec<JoinHandle<()>>>,
}

impl Pool {
    pub(crate) fn new(name: Arc<str>, domain: Arc<dyn DomainTask>, linger: Duration) -> Arc<Pool> {
        Arc::new(Pool {
            name,
            domain,
            linger,
            target: AtomicUsize::new(0),
            live: AtomicUsize::new(0),
            stopping: AtomicBool::new(false),
            next_id: AtomicUsize::new(0),
            clocks: Mutex::new(HashMap::new()),
            retired_cpu: Mutex::new(CpuUse::default()),
            handles: Mutex::new(Vec::new()),
        })
    }

    pub(crate) fn threads(&self) -> usize {
        self.live.load(Ordering::Acquire)
    }

    /// Sets the number of threads: spawns up to it at once, or lets the surplus retire.
    pub(crate) fn resize(self: &Arc<Self>, n: usize) {
        if self.stopping.load(Ordering::Acquire) {
            return;
        }
        self.target.store(n, Ordering::Release);
        let live = self.live.load(Ordering::Acquire);
        for _ in live..n {
            self.spawn();
        }
        for _ in n..live {
            self.domain.send_token(WAKE);
        }
    }

    fn spawn(self: &Arc<Self>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.live.fetch_add(1, Ordering::AcqRel);
        let pool = self.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("sf-{}-{id}", self.name))
            .spawn(move || pool.work(id));
        match spawned {
            Ok(h) => {
                let mut handles = self.handles.lock();
                handles.retain(|h| !h.is_finished());
                handles.push(h);
            }
            Err(e) => {
                self.live.fetch_sub(1, Ordering::AcqRel);
                tracing::error!(pool = %self.name, error = %e, "could not spawn a worker thread");
            }
        }
    }

    /// CPU use of all workers, live and retired.
    pub(crate) fn cpu_use(&self) -> CpuUse {
        let clocks = self.clocks.lock();
        let live = clocks
            .values()
            .map(|c| c.read())
            .fold(CpuUse::default(), |a, b| a + b);
        live + *self.retired_cpu.lock()
    }

    fn work(self: Arc<Self>, id: usize) {
        self.clocks.lock().insert(id, CpuDemand::current());
        let lanes = self.domain.lanes();
        let ready = self.domain.ready().clone();
        handoff::enable();
        loop {
            if self.should_leave() {
                break;
            }
            // Only a worker about to park pays the producer wake-ups it owes (see
            // `queue::pay_owed_wakes`); a busy one keeps consuming towards the watermark.
            let next = ready.try_recv().or_else(|_| {
                pay_owed_wakes();
                // Lingering, the worker is not parked: what producers make ready meanwhile
                // costs them no wake-up, and it is taken here in one go.
                if !self.linger.is_zero() {
                    std::thread::sleep(self.linger);
                    if let Ok(lane) = ready.try_recv() {
                        return Ok(lane);
                    }
                }
                ready.recv_timeout(PARK)
            });
            match next {
                Ok(lane) if lane < lanes => {
                    self.domain.run_lane(lane);
                    handoff::run_kept();
                }
                Ok(_) | Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    self.live.fetch_sub(1, Ordering::AcqRel);
                    break;
                }
            }
        }
        pay_owed_wakes();
        let mut clocks = self.clocks.lock();
        if let Some(c) = clocks.remove(&id) {
            let used = c.read();
            let mut retired = self.retired_cpu.lock();
            *retired = *retired + used;
        }
    }

    /// Retires this worker if the pool is stopping or above target (claiming the slot by CAS so
    /// exactly the surplus leaves).
    fn should_leave(&self) -> bool {
        let mut live = self.live.load(Ordering::Acquire);
        loop {
            let over =
                self.stopping.load(Ordering::Acquire) || live > self.target.load(Ordering::Acquire);
            if !over {
                return false;
            }
            match self
                .live
                .compare_exchange(live, live - 1, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return true,
                Err(now) => live = now,
            }
        }
    }

    /// Stops every worker and waits for them.
    pub(crate) fn stop(&self) {
        self.stopping.store(true, Ordering::Release);
        for _ in 0..self.live.load(Ordering::Acquire) {
            self.domain.send_token(WAKE);
        }
        let handles: Vec<_> = std::mem::take(&mut *self.handles.lock());
        for h in handles {
            if h.join().is_err() {
                tracing::error!(pool = %self.name, "a worker thread panicked outside a handler");
            }
        }
    }
}
