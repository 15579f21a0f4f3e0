//! What a scrape shows of a pipeline: its stages' counters and gauges read from their own
//! atomics at that moment (an external stage's gauges from its owner), and its dead-letter
//! counts.

use std::sync::atomic::Ordering::Relaxed;

use crate::external;
use crate::internal_events::stage::{QueueGauges, StageCounts};
use crate::internal_events::{async_stage, bus, Exposition, Scraped};
use crate::runtime::{DomainRt, Runs, Shared, StageRt};

impl Scraped for Shared {
    fn render(&self, pipeline: &str, ex: &mut Exposition) {
        for s in &self.stages {
            // First: an owner that keeps its own counts updates them here.
            let outside = match &s.runs {
                Runs::Outside(queue) => Some(external_gauges(s, &**queue)),
                Runs::Domain { .. } => None,
            };
            let p = &s.stats.produce;
            let c = &s.stats.consume;
            let counts = StageCounts {
                enqueued: p.enqueued.load(Relaxed),
                processed: c.processed.load(Relaxed),
                rejected: p.rejected.load(Relaxed),
                dropped_newest: p.dropped_newest.load(Relaxed),
                dropped_oldest: p.dropped_oldest.load(Relaxed),
                panicked: c.panicked.load(Relaxed),
                failed: c.failed.load(Relaxed),
            };
            let queue = match &s.runs {
                Runs::Domain { index, entry: true } => {
                    Some(domain_gauges(s, &self.domains[*index]))
                }
                Runs::Domain { entry: false, .. } => None,
                Runs::Outside(_) => outside,
            };
            s.stats
                .metrics
                .render(ex, pipeline, &counts, queue.as_ref());
            if let Runs::Domain { index, entry: true } = s.runs {
                if let Some(c) = self.domains[index].task.concurrency() {
                    async_stage::render(ex, pipeline, &s.name, &c);
                }
            }
        }
        bus::render(ex, pipeline, &self.bus.dead.snapshot());
    }
}

/// The queue and pool gauges of the domain `s` leads.
fn domain_gauges(s: &StageRt, d: &DomainRt) -> QueueGauges {
    let depth = d.task.queue_len();
    QueueGauges {
        depth,
        capacity: d.task.capacity(),
        peak: scrape_peak(s, depth),
        oldest_age: d.task.oldest_age(),
        threads: d.pool.threads(),
        threads_min: d.config.pool.min,
        threads_max: d.config.pool.max.get(),
        batch_limit: d.task.batch_limit().load(Relaxed),
        utilization: d.utilization(),
    }
}

/// The gauges an external stage's owner reports; it has no batch limit of the engine's.
fn external_gauges(s: &StageRt, queue: &dyn external::ExternalQueue) -> QueueGauges {
    let g = external::read(queue, &s.stats);
    QueueGauges {
        depth: g.depth,
        capacity: g.capacity,
        peak: scrape_peak(s, g.depth),
        oldest_age: g.oldest_age,
        threads: g.threads,
        threads_min: g.threads_min,
        threads_max: g.threads_max,
        batch_limit: 0,
        utilization: g.utilization,
    }
}

/// The peak since the last scrape: this one, at `depth`, starts the next.
fn scrape_peak(s: &StageRt, depth: usize) -> usize {
    s.stats.produce.scrape_peak.swap(depth, Relaxed).max(depth)
}
