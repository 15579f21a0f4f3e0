//! The metrics refresh: a running pipeline's counters and gauges brought up to date from its
//! stages' own atomics, on every controller tick and before every scrape.

use std::sync::atomic::Ordering::Relaxed;

use crate::internal_events::stage::{QueueGauges, StageCounts};
use crate::internal_events::Refresh;
use crate::runtime::Shared;

impl Refresh for Shared {
    fn refresh(&self, scrape: bool) {
        for s in &self.stages {
            let p = &s.stats.produce;
            let c = &s.stats.consume;
            s.stats.metrics.publish_counts(&StageCounts {
                enqueued: p.enqueued.load(Relaxed),
                processed: c.processed.load(Relaxed),
                rejected: p.rejected.load(Relaxed),
                dropped_newest: p.dropped_newest.load(Relaxed),
                dropped_oldest: p.dropped_oldest.load(Relaxed),
                panicked: c.panicked.load(Relaxed),
            });
            if !s.entry {
                continue;
            }
            let d = &self.domains[s.domain];
            d.task.publish_gauges();
            let depth = d.task.queue_len();
            let peak = if scrape {
                p.scrape_peak.swap(depth, Relaxed)
            } else {
                p.scrape_peak.load(Relaxed)
            };
            s.stats.metrics.publish_queue(&QueueGauges {
                depth,
                capacity: d.task.capacity(),
                peak: peak.max(depth),
                oldest_age: d.task.oldest_age(),
                threads: d.pool.threads(),
                threads_min: d.config.pool.min,
                threads_max: d.config.pool.max.get(),
                batch_limit: d.task.batch_limit().load(Relaxed),
                utilization: d.utilization(),
            });
        }
    }
}
