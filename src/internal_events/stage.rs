//! Stage metrics. The hot path records histograms once per batch; counters and gauges are
//! read from the stage's own atomics at each scrape, so every series exists (at zero) from
//! the pipeline's build.

use std::sync::Arc;
use std::time::Duration;

use super::exposition::{labels, Metric};
use super::{Exposition, Histogram};

const BLOCKED_HELP: &str = "How long producers waited for room in the full queue.";
const QUEUE_WAIT_HELP: &str = "Queue wait of the oldest event of each batch.";
const SERVICE_HELP: &str =
    "Handler time per event (one sample per batch: batch time divided by its size).";
const BATCH_SIZE_HELP: &str = "Events per batch taken.";

const INFO: Metric = Metric::gauge(
    "sedaflow_stage_info",
    "Pipeline order, domain and admission policy of each stage (always 1).",
);
const ENQUEUED: Metric = Metric::counter(
    "sedaflow_stage_events_enqueued_total",
    "Events taken into the stage (its queue, or a direct call when fused).",
);
const PROCESSED: Metric = Metric::counter(
    "sedaflow_stage_events_processed_total",
    "Events the stage's handler processed.",
);
const REJECTED: Metric = Metric::counter(
    "sedaflow_stage_events_rejected_total",
    "Events handed back to producers (full queue with reject, try_ call, deadline, closed).",
);
const DROPPED: Metric = Metric::counter(
    "sedaflow_stage_events_dropped_total",
    "Events dropped by the drop_newest or drop_oldest policy.",
);
const PANICKED: Metric = Metric::counter(
    "sedaflow_stage_events_panicked_total",
    "Events whose handling panicked.",
);
const FAILED: Metric = Metric::counter(
    "sedaflow_stage_events_failed_total",
    "Events the handler failed with an application error (dead-lettered with it).",
);
const DEPTH: Metric = Metric::gauge("sedaflow_stage_queue_depth", "Events queued now.");
const CAPACITY: Metric = Metric::gauge("sedaflow_stage_queue_capacity", "The queue's bound.");
const PEAK: Metric = Metric::gauge(
    "sedaflow_stage_queue_depth_peak",
    "Highest queue depth since the last scrape.",
);
const OLDEST_AGE: Metric = Metric::gauge(
    "sedaflow_stage_queue_oldest_age_seconds",
    "Age of the oldest queued event.",
);
const BATCH_LIMIT: Metric = Metric::gauge(
    "sedaflow_stage_batch_limit",
    "Batch size limit chosen by the batch controller.",
);
const THREADS: Metric = Metric::gauge("sedaflow_stage_threads", "Pool threads now.");
const THREADS_MIN: Metric = Metric::gauge(
    "sedaflow_stage_threads_min",
    "Lower bound of the pool size.",
);
const THREADS_MAX: Metric = Metric::gauge(
    "sedaflow_stage_threads_max",
    "Upper bound of the pool size.",
);
const UTILIZATION: Metric = Metric::gauge(
    "sedaflow_stage_utilization_ratio",
    "Share of the pool's thread time spent in handlers over the last controller tick.",
);

/// Static facts about a stage, exported as `sedaflow_stage_info`.
#[derive(Debug, Clone)]
pub(crate) struct StageInfo {
    pub(crate) position: usize,
    pub(crate) domain: Arc<str>,
    pub(crate) entry: bool,
    pub(crate) keyed: bool,
    pub(crate) when_full: &'static str,
}

/// Queue-side histograms: only a domain's entry stage has a queue.
struct QueueHistograms {
    blocked: Histogram,
    batch_size: Histogram,
    queue_wait: Histogram,
}

/// One stage's metric labels and histograms.
pub(crate) struct StageMetrics {
    stage: Arc<str>,
    /// `sedaflow_stage_info`'s labels after `pipeline` and `stage`.
    info: String,
    service: Histogram,
    queue: Option<QueueHistograms>,
}

/// Counter values to render.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct StageCounts {
    pub(crate) enqueued: u64,
    pub(crate) processed: u64,
    pub(crate) rejected: u64,
    pub(crate) dropped_newest: u64,
    pub(crate) dropped_oldest: u64,
    pub(crate) panicked: u64,
    pub(crate) failed: u64,
}

/// Gauge values of a domain's queue and pool.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct QueueGauges {
    pub(crate) depth: usize,
    pub(crate) capacity: usize,
    pub(crate) peak: usize,
    pub(crate) oldest_age: Duration,
    pub(crate) threads: usize,
    pub(crate) threads_min: usize,
    pub(crate) threads_max: usize,
    pub(crate) batch_limit: usize,
    pub(crate) utilization: f64,
}

impl StageMetrics {
    pub(crate) fn new(stage: &Arc<str>, info: &StageInfo) -> Self {
        let position = info.position.to_string();
        let keyed = info.keyed.to_string();
        let role = if info.entry { "entry" } else { "fused" };
        StageMetrics {
            stage: stage.clone(),
            info: labels(&[
                ("position", &position),
                ("domain", &info.domain),
                ("role", role),
                ("keyed", &keyed),
                ("when_full", info.when_full),
            ]),
            service: Histogram::owned_seconds("sedaflow_stage_service_seconds", SERVICE_HELP),
            queue: info.entry.then(|| QueueHistograms {
                blocked: Histogram::owned_seconds("sedaflow_stage_blocked_seconds", BLOCKED_HELP),
                batch_size: Histogram::owned_sizes("sedaflow_stage_batch_size", BATCH_SIZE_HELP),
                queue_wait: Histogram::owned_seconds(
                    "sedaflow_stage_queue_wait_seconds",
                    QUEUE_WAIT_HELP,
                ),
            }),
        }
    }

    /// A producer waited `d` for room.
    pub(crate) fn producer_blocked(&self, d: Duration) {
        if let Some(q) = &self.queue {
            q.blocked.record_duration(d);
        }
    }

    /// A worker took a batch of `n` events whose oldest waited `wait`.
    pub(crate) fn batch_taken(&self, n: usize, wait: Duration) {
        if let Some(q) = &self.queue {
            q.batch_size.record(n as u64);
            q.queue_wait.record_duration(wait);
        }
    }

    /// A handler served a batch of `n` events at `per_event` each.
    pub(crate) fn batch_served(&self, _n: u64, per_event: Duration) {
        self.service.record_duration(per_event);
    }

    /// Appends the stage's series, labelled `pipeline` and `stage`; queue and pool series
    /// only for a stage that leads its domain.
    pub(crate) fn render(
        &self,
        ex: &mut Exposition,
        pipeline: &str,
        c: &StageCounts,
        queue: Option<&QueueGauges>,
    ) {
        let l = labels(&[("pipeline", pipeline), ("stage", &self.stage)]);
        ex.sample(INFO, &format!("{l},{}", self.info), 1);
        ex.sample(ENQUEUED, &l, c.enqueued);
        ex.sample(PROCESSED, &l, c.processed);
        ex.sample(REJECTED, &l, c.rejected);
        ex.sample(DROPPED, &format!("{l},reason=\"newest\""), c.dropped_newest);
        ex.sample(DROPPED, &format!("{l},reason=\"oldest\""), c.dropped_oldest);
        ex.sample(PANICKED, &l, c.panicked);
        ex.sample(FAILED, &l, c.failed);
        self.service.write(ex, &l);
        let (Some(h), Some(g)) = (&self.queue, queue) else {
            return;
        };
        ex.sample(DEPTH, &l, g.depth);
        ex.sample(CAPACITY, &l, g.capacity);
        ex.sample(PEAK, &l, g.peak);
        ex.sample(OLDEST_AGE, &l, g.oldest_age.as_secs_f64());
        ex.sample(THREADS, &l, g.threads);
        ex.sample(THREADS_MIN, &l, g.threads_min);
        ex.sample(THREADS_MAX, &l, g.threads_max);
        ex.sample(BATCH_LIMIT, &l, g.batch_limit);
        ex.sample(UTILIZATION, &l, g.utilization);
        h.blocked.write(ex, &l);
        h.batch_size.write(ex, &l);
        h.queue_wait.write(ex, &l);
    }
}
