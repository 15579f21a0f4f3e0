//! Async stage metrics: how many calls run now and the in-flight limit the controller chose,
//! read from the stage's limiter at each scrape.

use super::exposition::{labels, Metric};
use super::Exposition;
use crate::concurrency::Concurrency;

const IN_FLIGHT: Metric = Metric::gauge(
    "sedaflow_stage_async_in_flight",
    "Calls of an async stage's handler running now.",
);
const LIMIT: Metric = Metric::gauge(
    "sedaflow_stage_async_limit",
    "In-flight limit chosen by an async stage's controller.",
);
const LIMIT_MIN: Metric = Metric::gauge(
    "sedaflow_stage_async_limit_min",
    "Lower bound of an async stage's in-flight limit.",
);
const LIMIT_MAX: Metric = Metric::gauge(
    "sedaflow_stage_async_limit_max",
    "Upper bound of an async stage's in-flight limit.",
);

/// Appends an async stage's in-flight gauges.
pub(crate) fn render(ex: &mut Exposition, pipeline: &str, stage: &str, c: &Concurrency) {
    let l = labels(&[("pipeline", pipeline), ("stage", stage)]);
    ex.sample(IN_FLIGHT, &l, c.in_flight);
    ex.sample(LIMIT, &l, c.limit);
    ex.sample(LIMIT_MIN, &l, c.min);
    ex.sample(LIMIT_MAX, &l, c.max);
}
