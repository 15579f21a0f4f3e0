//! Async stage metrics: how many calls run now and the limit the controller chose. Gauges are
//! set from the stage's limiter on each controller tick and each scrape.

use metrics::{describe_gauge, gauge, Gauge};

/// `# HELP` texts of the async stage gauges, for the recorder just installed.
pub(crate) fn describe() {
    describe_gauge!(
        "sedaflow_stage_async_in_flight",
        "Calls of an async stage's handler running now."
    );
    describe_gauge!(
        "sedaflow_stage_async_limit",
        "In-flight limit chosen by an async stage's controller."
    );
    describe_gauge!(
        "sedaflow_stage_async_limit_min",
        "Lower bound of an async stage's in-flight limit."
    );
    describe_gauge!(
        "sedaflow_stage_async_limit_max",
        "Upper bound of an async stage's in-flight limit."
    );
}

/// Gauge handles of one async stage, registered at build.
pub(crate) struct AsyncStageMetrics {
    in_flight: Gauge,
    limit: Gauge,
}

impl AsyncStageMetrics {
    pub(crate) fn register(stage: &str, min: usize, max: usize) -> Self {
        let s = stage.to_owned();
        gauge!("sedaflow_stage_async_limit_min", "stage" => s.clone()).set(min as f64);
        gauge!("sedaflow_stage_async_limit_max", "stage" => s.clone()).set(max as f64);
        AsyncStageMetrics {
            in_flight: gauge!("sedaflow_stage_async_in_flight", "stage" => s.clone()),
            limit: gauge!("sedaflow_stage_async_limit", "stage" => s),
        }
    }

    pub(crate) fn publish(&self, in_flight: usize, limit: usize) {
        self.in_flight.set(in_flight as f64);
        self.limit.set(limit as f64);
    }
}
