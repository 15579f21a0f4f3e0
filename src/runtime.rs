//! What a built pipeline holds at run time: a record per stage and per domain, shared by the
//! pipeline handle, its controller thread and the metrics refresh.

use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use crate::bus::Bus;
use crate::config::StageConfig;
use crate::control::Control;
use crate::domain::DomainTask;
use crate::external::{self, ExternalQueue};
use crate::pool::Pool;
use crate::report::{DeadLetterCount, Report, StageReport};
use crate::stats::StageStats;

/// A stage at run time: its counters and where it runs.
pub(crate) struct StageRt {
    pub(crate) name: Arc<str>,
    pub(crate) stats: Arc<StageStats>,
    pub(crate) runs: Runs,
}

/// Where a stage runs.
pub(crate) enum Runs {
    /// In the engine's domain `index`; `entry`: it leads the domain, so the queue is its own.
    Domain { index: usize, entry: bool },
    /// Outside the engine, on its owner's queue and threads.
    Outside(Arc<dyn ExternalQueue>),
}

/// A domain at run time: its lanes and queue, its pool, and the controllers that size both.
pub(crate) struct DomainRt {
    pub(crate) name: Arc<str>,
    pub(crate) task: Arc<dyn DomainTask>,
    pub(crate) pool: Arc<Pool>,
    pub(crate) config: StageConfig,
    control: Mutex<Control>,
}

impl DomainRt {
    pub(crate) fn new(name: Arc<str>, task: Arc<dyn DomainTask>, config: StageConfig) -> Self {
        DomainRt {
            pool: Pool::new(name.clone(), task.clone(), config.pool.linger),
            name,
            task,
            control: Mutex::new(Control::new(&config)),
            config,
        }
    }

    /// Threads the pool starts with: its minimum (at least one) when adaptive, else its size.
    pub(crate) fn initial_threads(&self) -> usize {
        let p = &self.config.pool;
        if p.adaptive {
            p.min.max(1)
        } else {
            p.max.get()
        }
    }

    /// One controller tick for this domain (see `control`).
    pub(crate) fn steer(&self) {
        self.control
            .lock()
            .tick(&*self.task, &self.pool, &self.config);
    }

    /// The share of the pool's thread time spent in handlers over the last tick.
    pub(crate) fn utilization(&self) -> f64 {
        self.control.lock().utilization()
    }
}

/// Everything a running pipeline shares between its handle and its controller thread.
pub(crate) struct Shared {
    pub(crate) bus: Arc<Bus>,
    pub(crate) stages: Vec<StageRt>,
    pub(crate) domains: Vec<DomainRt>,
    pub(crate) tick: Duration,
    pub(crate) stop: AtomicBool,
}

impl Shared {
    /// Per-stage counts now (in-flight batches make a running pipeline's sums approximate).
    pub(crate) fn report(&self) -> Report {
        Report {
            stages: self.stages.iter().map(|st| self.stage_report(st)).collect(),
            dead_letters: self
                .bus
                .dead
                .snapshot()
                .into_iter()
                .map(|(event_type, reason, count)| DeadLetterCount {
                    event_type,
                    reason,
                    count,
                })
                .collect(),
            drained: true,
            elapsed: Duration::ZERO,
        }
    }

    fn stage_report(&self, st: &StageRt) -> StageReport {
        // First: an owner that keeps its own counts updates them here.
        let outside = match &st.runs {
            Runs::Outside(queue) => Some(external::read(&**queue, &st.stats)),
            Runs::Domain { .. } => None,
        };
        let p = &st.stats.produce;
        let c = &st.stats.consume;
        let mut r = StageReport {
            name: st.name.to_string(),
            domain: st.name.to_string(),
            offered: p.offered.load(Relaxed),
            enqueued: p.enqueued.load(Relaxed),
            rejected: p.rejected.load(Relaxed),
            dropped_newest: p.dropped_newest.load(Relaxed),
            dropped_oldest: p.dropped_oldest.load(Relaxed),
            processed: c.processed.load(Relaxed),
            panicked: c.panicked.load(Relaxed),
            failed: c.failed.load(Relaxed),
            queued: c.left_at_shutdown.load(Relaxed),
            peak_depth: 0,
            threads: 0,
            batch_limit: 0,
            service_p99: st.stats.service.quantile(0.99),
            queue_wait_p99: None,
            blocked: Duration::from_nanos(p.blocked_ns.load(Relaxed)),
        };
        match &st.runs {
            Runs::Domain { index, entry } => {
                let d = &self.domains[*index];
                r.domain = d.name.to_string();
                r.threads = d.pool.threads();
                r.batch_limit = d.task.batch_limit().load(Relaxed);
                if *entry {
                    r.queued += d.task.queued() as u64;
                    r.peak_depth = p.peak_depth.load(Relaxed);
                    r.queue_wait_p99 = st.stats.queue_wait.quantile(0.99);
                }
            }
            Runs::Outside(_) => {
                let g = outside.unwrap_or_default();
                // The owner counts no offers: each offer ends taken in, refused or dropped.
                r.offered = r.enqueued + r.rejected + r.dropped_newest;
                r.queued = g.depth as u64;
                r.peak_depth = p.peak_depth.load(Relaxed);
                r.threads = g.threads;
            }
        }
        r
    }
}
