//! Stage metrics. Handles are registered once at build (so every series exists at zero from
//! then on); the hot path records histograms once per batch; counters and gauges are set from
//! the stage's own atomics on each controller tick and each scrape.

use std::sync::Arc;
use std::time::Duration;

use metrics::{counter, describe_counter, describe_gauge, gauge, Counter, Gauge};

use super::Histogram;

const BLOCKED_HELP: &str = "How long producers waited for room in the full queue.";
const QUEUE_WAIT_HELP: &str = "Queue wait of the oldest event of each batch.";
const SERVICE_HELP: &str =
    "Handler time per event (one sample per batch: batch time divided by its size).";
const BATCH_SIZE_HELP: &str = "Events per batch taken.";

/// `# HELP` texts of every stage metric (the README's Metrics table), for the recorder just
/// installed.
pub(crate) fn describe() {
    describe_gauge!(
        "sedaflow_stage_info",
        "Pipeline order, domain and admission policy of each stage (always 1)."
    );
    describe_counter!(
        "sedaflow_stage_events_enqueued_total",
        "Events taken into the stage (its queue, or a direct call when fused)."
    );
    describe_counter!(
        "sedaflow_stage_events_processed_total",
        "Events the stage's handler processed."
    );
    describe_counter!(
        "sedaflow_stage_events_rejected_total",
        "Events handed back to producers (full queue with reject, try_ call, deadline, closed)."
    );
    describe_counter!(
        "sedaflow_stage_events_dropped_total",
        "Events dropped by the drop_newest or drop_oldest policy."
    );
    describe_counter!(
        "sedaflow_stage_events_panicked_total",
        "Events whose handling panicked."
    );
    describe_gauge!("sedaflow_stage_queue_depth", "Events queued now.");
    describe_gauge!("sedaflow_stage_queue_capacity", "The queue's bound.");
    describe_gauge!(
        "sedaflow_stage_queue_depth_peak",
        "Highest queue depth since the last scrape."
    );
    describe_gauge!(
        "sedaflow_stage_queue_oldest_age_seconds",
        "Age of the oldest queued event."
    );
    describe_gauge!(
        "sedaflow_stage_batch_limit",
        "Batch size limit chosen by the batch controller."
    );
    describe_gauge!("sedaflow_stage_threads", "Pool threads now.");
    describe_gauge!(
        "sedaflow_stage_threads_min",
        "Lower bound of the pool size."
    );
    describe_gauge!(
        "sedaflow_stage_threads_max",
        "Upper bound of the pool size."
    );
    describe_gauge!(
        "sedaflow_stage_utilization_ratio",
        "Share of the pool's thread time spent in handlers over the last controller tick."
    );
}

/// Static facts about a stage, exported as `sedaflow_stage_info`.
#[derive(Debug, Clone)]
pub(crate) struct StageInfo {
    pub(crate) position: usize,
    pub(crate) domain: Arc<str>,
    pub(crate) entry: bool,
    pub(crate) keyed: bool,
    pub(crate) when_full: &'static str,
}

/// Queue-side handles: only a domain's entry stage has a queue.
struct QueueMetrics {
    depth: Gauge,
    capacity: Gauge,
    peak: Gauge,
    oldest_age: Gauge,
    threads: Gauge,
    threads_min: Gauge,
    threads_max: Gauge,
    batch_limit: Gauge,
    utilization: Gauge,
    blocked: Histogram,
    batch_size: Histogram,
    queue_wait: Histogram,
}

/// All metric handles of one stage.
pub(crate) struct StageMetrics {
    enqueued: Counter,
    processed: Counter,
    rejected: Counter,
    dropped_newest: Counter,
    dropped_oldest: Counter,
    panicked: Counter,
    service: Histogram,
    queue: Option<QueueMetrics>,
}

/// Counter values to publish.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct StageCounts {
    pub(crate) enqueued: u64,
    pub(crate) processed: u64,
    pub(crate) rejected: u64,
    pub(crate) dropped_newest: u64,
    pub(crate) dropped_oldest: u64,
    pub(crate) panicked: u64,
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
    pub(crate) fn register(stage: &Arc<str>, info: &StageInfo) -> Self {
        let s = stage.to_string();
        let label: &[(&str, &str)] = &[("stage", stage)];
        gauge!(
            "sedaflow_stage_info",
            "stage" => s.clone(),
            "position" => info.position.to_string(),
            "domain" => info.domain.to_string(),
            "role" => if info.entry { "entry" } else { "fused" },
            "keyed" => info.keyed.to_string(),
            "when_full" => info.when_full,
        )
        .set(1.0);
        let queue = info.entry.then(|| QueueMetrics {
            depth: gauge!("sedaflow_stage_queue_depth", "stage" => s.clone()),
            capacity: gauge!("sedaflow_stage_queue_capacity", "stage" => s.clone()),
            peak: gauge!("sedaflow_stage_queue_depth_peak", "stage" => s.clone()),
            oldest_age: gauge!("sedaflow_stage_queue_oldest_age_seconds", "stage" => s.clone()),
            threads: gauge!("sedaflow_stage_threads", "stage" => s.clone()),
            threads_min: gauge!("sedaflow_stage_threads_min", "stage" => s.clone()),
            threads_max: gauge!("sedaflow_stage_threads_max", "stage" => s.clone()),
            batch_limit: gauge!("sedaflow_stage_batch_limit", "stage" => s.clone()),
            utilization: gauge!("sedaflow_stage_utilization_ratio", "stage" => s.clone()),
            blocked: Histogram::seconds("sedaflow_stage_blocked_seconds", BLOCKED_HELP, label),
            batch_size: Histogram::sizes("sedaflow_stage_batch_size", BATCH_SIZE_HELP, label),
            queue_wait: Histogram::seconds(
                "sedaflow_stage_queue_wait_seconds",
                QUEUE_WAIT_HELP,
                label,
            ),
        });
        let m = StageMetrics {
            enqueued: counter!("sedaflow_stage_events_enqueued_total", "stage" => s.clone()),
            processed: counter!("sedaflow_stage_events_processed_total", "stage" => s.clone()),
            rejected: counter!("sedaflow_stage_events_rejected_total", "stage" => s.clone()),
            dropped_newest: counter!("sedaflow_stage_events_dropped_total", "stage" => s.clone(), "reason" => "newest"),
            dropped_oldest: counter!("sedaflow_stage_events_dropped_total", "stage" => s.clone(), "reason" => "oldest"),
            panicked: counter!("sedaflow_stage_events_panicked_total", "stage" => s.clone()),
            service: Histogram::seconds("sedaflow_stage_service_seconds", SERVICE_HELP, label),
            queue,
        };
        m.publish_counts(&StageCounts::default());
        m
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

    pub(crate) fn publish_counts(&self, c: &StageCounts) {
        self.enqueued.absolute(c.enqueued);
        self.processed.absolute(c.processed);
        self.rejected.absolute(c.rejected);
        self.dropped_newest.absolute(c.dropped_newest);
        self.dropped_oldest.absolute(c.dropped_oldest);
        self.panicked.absolute(c.panicked);
    }

    pub(crate) fn publish_queue(&self, g: &QueueGauges) {
        if let Some(q) = &self.queue {
            q.depth.set(g.depth as f64);
            q.capacity.set(g.capacity as f64);
            q.peak.set(g.peak as f64);
            q.oldest_age.set(g.oldest_age.as_secs_f64());
            q.threads.set(g.threads as f64);
            q.threads_min.set(g.threads_min as f64);
            q.threads_max.set(g.threads_max as f64);
            q.batch_limit.set(g.batch_limit as f64);
            q.utilization.set(g.utilization);
        }
    }
}
