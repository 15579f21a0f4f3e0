//! What a scrape shows of a pipeline: its stages' counters and gauges read from their own
//! atomics at that moment, and its dead-letter counts.

use std::sync::atomic::Ordering::Relaxed;

use crate::internal_events::stage::{QueueGauges, StageCounts};
use crate::internal_events::{async_stage, bus, Exposition, Scraped};
use crate::runtime::Shared;

impl Scraped for Shared {
    fn render(&self, pipeline: &str, ex: &mut Exposition) {
        for s in &self.stages {
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
            let queue = s.entry.then(|| {
                let d = &self.domains[s.domain];
                let depth = d.task.queue_len();
                // The peak since the last scrape: this one starts the next.
                let peak = p.scrape_peak.swap(depth, Relaxed);
                QueueGauges {
                    depth,
                    capacity: d.task.capacity(),
                    peak: peak.max(depth),
                    oldest_age: d.task.oldest_age(),
                    threads: d.pool.threads(),
                    threads_min: d.config.pool.min,
                    threads_max: d.config.pool.max.get(),
                    batch_limit: d.task.batch_limit().load(Relaxed),
                    utilization: d.utilization(),
                }
            });
            s.stats
                .metrics
                .render(ex, pipeline, &counts, queue.as_ref());
            let concurrency = s.entry.then(|| self.domains[s.domain].task.concurrency());
            if let Some(c) = concurrency.flatten() {
                async_stage::render(ex, pipeline, &s.name, &c);
            }
        }
        bus::render(ex, pipeline, &self.bus.dead.snapshot());
    }
}
