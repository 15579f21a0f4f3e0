//! Bus metrics.

use metrics::{counter, describe_counter};

/// `n` events of `event_type` became dead letters for `reason`.
pub(crate) fn dead_letters(event_type: &'static str, reason: &'static str, n: u64) {
    counter!("sedaflow_bus_dead_letters_total", "event_type" => event_type, "reason" => reason)
        .increment(n);
}

/// `# HELP` text of the bus metrics, for the recorder just installed.
pub(crate) fn describe() {
    describe_counter!(
        "sedaflow_bus_dead_letters_total",
        "Dead letters by event type and reason."
    );
}
