//! A stage's own counters: the hot path bumps atomics once per batch; reports, the
//! controllers and the metrics exporter read them.
//!
//! Plain data below every other layer: the queue counts admissions here, the lane runner and
//! stage runner count batches, and everything above only reads.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::time::Duration;

use crossbeam::utils::CachePadded;

use crate::internal_events::stage::StageMetrics;

/// Counters written by producers (offering side).
#[derive(Default)]
pub(crate) struct ProducerCounters {
    pub(crate) offered: AtomicU64,
    pub(crate) enqueued: AtomicU64,
    pub(crate) rejected: AtomicU64,
    pub(crate) dropped_newest: AtomicU64,
    pub(crate) dropped_oldest: AtomicU64,
    pub(crate) blocked_ns: AtomicU64,
    pub(crate) peak_depth: AtomicUsize,
    /// Peak since the last scrape (reset by the exporter; `peak_depth` is for the whole run).
    pub(crate) scrape_peak: AtomicUsize,
}

/// Counters written by the stage's workers.
#[derive(Default)]
pub(crate) struct ConsumerCounters {
    pub(crate) processed: AtomicU64,
    pub(crate) panicked: AtomicU64,
    /// Events the handler failed with an application error.
    pub(crate) failed: AtomicU64,
    /// Events a batch cut short by a shutdown deadline left untaken (reported as queued).
    pub(crate) left_at_shutdown: AtomicU64,
    pub(crate) batches: AtomicU64,
    pub(crate) busy_ns: AtomicU64,
}

/// Everything one stage counts. Producer and consumer halves sit on separate cache lines so
/// the two sides of a queue do not fight over one line.
pub(crate) struct StageStats {
    pub(crate) produce: CachePadded<ProducerCounters>,
    pub(crate) consume: CachePadded<ConsumerCounters>,
    pub(crate) service: LogHistogram,
    pub(crate) queue_wait: LogHistogram,
    pub(crate) metrics: StageMetrics,
}

impl StageStats {
    /// Events enqueued and not yet handed on: still queued, or in the stage's handler.
    pub(crate) fn held(&self) -> u64 {
        let (p, c) = (&self.produce, &self.consume);
        let gone = c.processed.load(Relaxed) + c.panicked.load(Relaxed) + c.failed.load(Relaxed);
        let gone = gone + p.dropped_oldest.load(Relaxed);
        p.enqueued.load(Relaxed).saturating_sub(gone)
    }

    pub(crate) fn new(metrics: StageMetrics) -> Self {
        StageStats {
            produce: CachePadded::default(),
            consume: CachePadded::default(),
            service: LogHistogram::default(),
            queue_wait: LogHistogram::default(),
            metrics,
        }
    }

    pub(crate) fn note_depth(&self, depth: usize) {
        self.produce.peak_depth.fetch_max(depth, Relaxed);
        self.produce.scrape_peak.fetch_max(depth, Relaxed);
    }
}

const SUB: usize = 4;
const BUCKETS: usize = 62 * SUB + SUB;

/// A lock-free log-linear histogram of nanoseconds (4 buckets per power of two, so quantiles
/// are within ~19%), cheap enough to write once per batch from any thread.
pub(crate) struct LogHistogram {
    buckets: Box<[AtomicU64]>,
}

impl Default for LogHistogram {
    fn default() -> Self {
        LogHistogram {
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

impl LogHistogram {
    // Values below 8 are exact; above, bucket = (log2 - 1) * 4 + the next two bits.
    fn bucket(v: u64) -> usize {
        if v < 8 {
            return v as usize;
        }
        let log = 63 - v.leading_zeros() as usize;
        let frac = ((v >> (log - 2)) & (SUB as u64 - 1)) as usize;
        (log - 1) * SUB + frac
    }

    fn lower_bound(b: usize) -> u64 {
        if b < 8 {
            return b as u64;
        }
        let log = b / SUB + 1;
        let frac = (b % SUB) as u64;
        (1u64 << log) + (frac << (log - 2))
    }

    pub(crate) fn record(&self, d: Duration) {
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.buckets[Self::bucket(ns)].fetch_add(1, Relaxed);
    }

    /// The `q` quantile (0..=1) as a duration, or `None` with no samples.
    pub(crate) fn quantile(&self, q: f64) -> Option<Duration> {
        let counts: Vec<u64> = self.buckets.iter().map(|b| b.load(Relaxed)).collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (b, c) in counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                let hi = if b + 1 == BUCKETS {
                    u64::MAX
                } else {
                    Self::lower_bound(b + 1) - 1
                };
                return Some(Duration::from_nanos(hi));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_quantiles_are_within_a_bucket() {
        let h = LogHistogram::default();
        for us in 1..=100u64 {
            h.record(Duration::from_micros(us));
        }
        let p50 = h.quantile(0.5).unwrap().as_nanos() as f64;
        let p99 = h.quantile(0.99).unwrap().as_nanos() as f64;
        assert!((40_000.0..=62_000.0).contains(&p50), "p50 {p50}");
        assert!((90_000.0..=125_000.0).contains(&p99), "p99 {p99}");
        assert_eq!(LogHistogram::default().quantile(0.5), None);
        for v in [0u64, 1, 3, 4, 5, 7, 8, 1000, u64::MAX] {
            let b = LogHistogram::bucket(v);
            assert!(LogHistogram::lower_bound(b) <= v, "{v}");
            assert!(
                b + 1 == BUCKETS || LogHistogram::lower_bound(b + 1) > v,
                "{v}"
            );
        }
    }
}
