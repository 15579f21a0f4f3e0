//! The controller's adapter: readers ask it per batch how many new orders may enter,
//! matching reports per batch how long its orders took, and a tick joins the two.

use std::sync::atomic::{AtomicIsize, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use parking_lot::Mutex;
use sedaflow::QueueProbe;

use super::controller::{AdmissionConfig, AdmissionController, Observation};
use super::shed::ShedConfig;
use crate::internal_events::AdmissionMetrics;

/// Response times of the current tick.
struct Window {
    /// Nanoseconds, of orders read since the last decrease.
    latency: Histogram<u64>,
    /// Every order matched this tick.
    matched: u64,
}

/// Shared by the readers, the matching stage and the ticker.
pub(crate) struct Admission {
    enabled: bool,
    shed: ShedConfig,
    limit: AtomicUsize,
    /// The queues in front of matching after decode, set once the pipeline is built.
    queues: OnceLock<Vec<QueueProbe>>,
    /// Requests admitted that have not left decode's queue: it queues reads, each of up to a
    /// buffer's worth of requests, so its own depth would not tell. Signed: a read counted
    /// down by decode may be counted up a moment later by its reader's thread.
    decoding: AtomicIsize,
    base: Instant,
    /// Nanoseconds after `base` of the last decrease: orders read before it no longer count.
    since_ns: AtomicU64,
    window: Mutex<Window>,
    refused: AtomicU64,
    ticker: Mutex<(AdmissionController, Instant)>,
    metrics: AdmissionMetrics,
}

impl Admission {
    pub(crate) fn new(config: &AdmissionConfig, metrics: AdmissionMetrics) -> Self {
        let controller = AdmissionController::new(config.clone());
        let now = Instant::now();
        metrics.limit(controller.limit());
        Admission {
            enabled: config.enabled,
            shed: ShedConfig {
                grace: config.read_grace,
                decrease: config.decrease,
                increase: config.increase,
            },
            limit: AtomicUsize::new(controller.limit()),
            queues: OnceLock::new(),
            decoding: AtomicIsize::new(0),
            base: now,
            since_ns: AtomicU64::new(0),
            window: Mutex::new(Window {
                // 1 µs ..= 1 h at 2 significant digits: valid constants.
                latency: Histogram::new_with_bounds(1_000, 3_600_000_000_000, 2)
                    .unwrap_or_else(|_| unreachable!("valid histogram bounds")),
                matched: 0,
            }),
            refused: AtomicU64::new(0),
            ticker: Mutex::new((controller, now)),
            metrics,
        }
    }

    /// Tells which queues hold admitted orders that matching has not taken yet.
    pub(crate) fn watch(&self, queues: Vec<QueueProbe>) {
        let _ = self.queues.set(queues);
    }

    fn queued(&self) -> usize {
        let decoding = usize::try_from(self.decoding.load(Relaxed)).unwrap_or(0);
        let after = self
            .queues
            .get()
            .map_or(0, |qs| qs.iter().map(QueueProbe::backlog).sum::<usize>());
        decoding + after
    }

    /// How many of `wanted` new requests may enter now; the rest are to be refused.
    pub(crate) fn room(&self, wanted: usize) -> usize {
        if !self.enabled {
            return wanted;
        }
        let room = self.limit.load(Relaxed).saturating_sub(self.queued());
        room.min(wanted)
    }

    /// How connections shed at the read; `None` when admission control is off.
    pub(crate) fn shedding(&self) -> Option<&ShedConfig> {
        self.enabled.then_some(&self.shed)
    }

    /// `admitted` requests went in and `refused` orders were turned away by the limit, in
    /// one batch.
    pub(crate) fn counted(&self, admitted: usize, refused: usize) {
        if self.enabled {
            self.decoding.fetch_add(admitted as isize, Relaxed);
        }
        self.metrics.admitted(admitted);
        if refused > 0 {
            self.refused.fetch_add(refused as u64, Relaxed);
            self.metrics.refused(refused);
        }
    }

    /// `n` admitted requests left decode: decoded and handed on, or refused by a closing
    /// pipeline.
    pub(crate) fn left_decode(&self, n: usize) {
        if self.enabled && n > 0 {
            self.decoding.fetch_sub(n as isize, Relaxed);
        }
    }

    /// A connection's shedding at the read turned `refused` orders away: not the limit's
    /// doing, so it does not count as the limit binding.
    pub(crate) fn shed_at_read(&self, refused: usize) {
        if refused > 0 {
            self.metrics.shed_at_read(refused);
        }
    }

    /// Matching finished orders read at `read_at` (one call per batch).
    pub(crate) fn matched(&self, read_at: &[Instant]) {
        if !self.enabled || read_at.is_empty() {
            return;
        }
        let now = Instant::now();
        let since = self.base + Duration::from_nanos(self.since_ns.load(Relaxed));
        let mut w = self.window.lock();
        w.matched += read_at.len() as u64;
        // A read's orders share its time: one sample per run of them, not per order.
        for run in read_at
            .chunk_by(|a, b| a == b)
            .filter(|run| run[0] >= since)
        {
            let ns = u64::try_from(now.duration_since(run[0]).as_nanos()).unwrap_or(u64::MAX);
            w.latency.saturating_record_n(ns, run.len() as u64);
        }
    }

    /// One controller step: observe, decide, publish the new limit.
    pub(crate) fn tick(&self) {
        if !self.enabled {
            return;
        }
        let mut guard = self.ticker.lock();
        let (controller, last) = &mut *guard;
        let now = Instant::now();
        let (p90, matched) = {
            let mut w = self.window.lock();
            let p90 = (!w.latency.is_empty())
                .then(|| Duration::from_nanos(w.latency.value_at_quantile(0.9)));
            w.latency.reset();
            (p90, std::mem::take(&mut w.matched))
        };
        let queued = self.queued();
        let decision = controller.observe(&Observation {
            p90,
            matched,
            interval: now - *last,
            queued,
            refused: self.refused.swap(0, Relaxed),
        });
        *last = now;
        self.limit.store(decision.limit, Relaxed);
        if decision.decreased {
            let ns = u64::try_from((now - self.base).as_nanos()).unwrap_or(u64::MAX);
            self.since_ns.store(ns, Relaxed);
        }
        self.metrics.limit(decision.limit);
        self.metrics.observed(p90, queued);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reads_orders_count_one_sample_each_at_the_reads_time() {
        let config = AdmissionConfig::default();
        let gate = Admission::new(&config, AdmissionMetrics::register(config.target));
        let old = Instant::now();
        std::thread::sleep(Duration::from_millis(20));
        let new = Instant::now();
        gate.matched(&[old, old, old, new, new, old]);
        let w = gate.window.lock();
        assert_eq!((w.matched, w.latency.len()), (6, 6));
        // Four of six were read before the sleep: the 90th percentile is theirs, the 20th not.
        let at = |q| Duration::from_nanos(w.latency.value_at_quantile(q));
        assert!(at(0.9) >= Duration::from_millis(19), "{:?}", at(0.9));
        assert!(at(0.2) < at(0.9), "{:?}", at(0.2));
    }
}
