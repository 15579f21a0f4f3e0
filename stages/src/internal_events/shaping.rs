//! Traffic shaping: the read limits in force. Its pauses are counted with the reader's others
//! ([`super::ReadPauseMetrics`], reason `shaping`).

use std::num::NonZeroU64;

use metrics::{describe_gauge, gauge, Gauge};

/// Cheap to clone: every field is a shared handle.
#[derive(Clone)]
pub(crate) struct ShapingMetrics {
    /// Bytes, then requests, of the connection's limits, then the server's.
    limits: [Gauge; 4],
}

impl ShapingMetrics {
    pub(crate) fn register() -> Self {
        describe_gauge!(
            "sedaflow_net_read_limit_per_second",
            "Read limits in force (traffic shaping), by scope and unit; 0 is no limit."
        );
        let limit = |scope: &'static str, unit: &'static str| gauge!("sedaflow_net_read_limit_per_second", "scope" => scope, "unit" => unit);
        ShapingMetrics {
            limits: [
                limit("conn", "bytes"),
                limit("conn", "requests"),
                limit("global", "bytes"),
                limit("global", "requests"),
            ],
        }
    }

    /// The limits now in force: a connection's bytes and requests per second, then the
    /// server's (`None`: no limit).
    pub(crate) fn limits(&self, rates: [Option<NonZeroU64>; 4]) {
        for (gauge, rate) in self.limits.iter().zip(rates) {
            gauge.set(rate.map_or(0.0, |r| r.get() as f64));
        }
    }
}
