//! The controller tick: once per tick, read what a domain did since the last tick, ask the
//! pool and batch controllers for a size, and apply it.
//!
//! The controllers themselves are pure (`pool::PoolController`, `batch::BatchController`);
//! this file only turns counters into their observations, as deltas between ticks.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::batch::{BatchController, BatchObservation};
use crate::config::StageConfig;
use crate::domain::DomainTask;
use crate::pool::{CpuUse, Pool, PoolController, PoolObservation};

/// A domain's controllers and the last tick's readings, for deltas.
pub(crate) struct Control {
    pool: PoolController,
    batch: BatchController,
    at: Instant,
    /// Handler time and events so far, running batches included (for the pool and
    /// utilisation).
    busy: Duration,
    taken: u64,
    /// Handler time of ended batches (for the batch controller's time per event).
    busy_ns: u64,
    events: u64,
    batches: u64,
    cpu: CpuUse,
    utilization: f64,
}

impl Control {
    pub(crate) fn new(config: &StageConfig) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let p = &config.pool;
        let b = &config.batch;
        Control {
            pool: PoolController::new(p.min, p.max.get(), cores, p.idle_timeout),
            batch: BatchController::new(b.min.get(), b.max.get(), b.initial.get()),
            at: Instant::now(),
            busy: Duration::ZERO,
            taken: 0,
            busy_ns: 0,
            events: 0,
            batches: 0,
            cpu: CpuUse::default(),
            utilization: 0.0,
        }
    }

    /// The share of the pool's thread time spent in handlers over the last tick.
    pub(crate) fn utilization(&self) -> f64 {
        self.utilization
    }

    /// One controller tick: observe, decide, apply.
    pub(crate) fn tick(&mut self, task: &dyn DomainTask, pool: &Arc<Pool>, config: &StageConfig) {
        let now = Instant::now();
        let load = task.load();
        let (busy_so_far, taken) = load.so_far(now);
        let busy_ns = load.busy_ns.load(Relaxed);
        let events = load.events.load(Relaxed);
        let batches = load.batches.load(Relaxed);
        let cpu = pool.cpu_use();
        let interval = now - self.at;
        let threads = pool.threads();
        let busy = busy_so_far.saturating_sub(self.busy);
        self.utilization = utilization(busy, threads, interval);
        if config.pool.adaptive {
            let target = self.pool.observe(&PoolObservation {
                threads,
                queue_len: task.queue_len(),
                processed: taken.saturating_sub(self.taken),
                interval,
                busy,
                cpu: cpu.saturating_sub(self.cpu).demand(),
            });
            if target != threads {
                pool.resize(target);
            }
        }
        if config.batch.adaptive {
            let limit = self.batch.observe(&BatchObservation {
                events: events - self.events,
                batches: batches - self.batches,
                cpu: cpu.saturating_sub(self.cpu).on_cpu,
                busy: Duration::from_nanos(busy_ns - self.busy_ns),
                interval,
            });
            task.batch_limit().store(limit, Relaxed);
        }
        self.at = now;
        self.busy = busy_so_far;
        self.taken = taken;
        self.busy_ns = busy_ns;
        self.events = events;
        self.batches = batches;
        self.cpu = cpu;
    }
}

/// `busy` handler time as a share of `threads` threads' time over `interval`, at most 1.
fn utilization(busy: Duration, threads: usize, interval: Duration) -> f64 {
    if threads == 0 || interval.is_zero() {
        0.0
    } else {
        (busy.as_secs_f64() / (threads as f64 * interval.as_secs_f64())).min(1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utilization_is_busy_time_over_thread_time_capped_at_one() {
        let s = Duration::from_secs;
        assert_eq!(utilization(s(1), 2, s(1)), 0.5);
        assert_eq!(utilization(s(3), 4, s(1)), 0.75);
        assert_eq!(utilization(s(5), 2, s(1)), 1.0);
        assert_eq!(utilization(Duration::ZERO, 2, s(1)), 0.0);
    }

    #[test]
    fn utilization_without_threads_or_time_is_zero() {
        let s = Duration::from_secs;
        assert_eq!(utilization(s(1), 0, s(1)), 0.0);
        assert_eq!(utilization(s(1), 2, Duration::ZERO), 0.0);
    }
}
