//! Bus metrics.

use super::exposition::{labels, Metric};
use super::Exposition;

const DEAD_LETTERS: Metric = Metric::counter(
    "sedaflow_bus_dead_letters_total",
    "Dead letters by event type and reason.",
);

/// Appends a pipeline's dead-letter counts, by (event type, reason).
pub(crate) fn render(
    ex: &mut Exposition,
    pipeline: &str,
    counts: &[(&'static str, &'static str, u64)],
) {
    for &(event_type, reason, n) in counts {
        let l = labels(&[
            ("pipeline", pipeline),
            ("event_type", event_type),
            ("reason", reason),
        ]);
        ex.sample(DEAD_LETTERS, &l, n);
    }
}
