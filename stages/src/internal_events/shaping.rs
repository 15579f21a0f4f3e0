//! Traffic shaping: how long readers paused, how many pause now, and the limits in force.

use std::num::NonZeroU64;
use std::time::Duration;

use metrics::{describe_gauge, gauge, Gauge};
use sedaflow::Histogram;

const PAUSED_HELP: &str = "Time TCP readers paused before their next read, by reason and by \
     the limit that set the pause (scope conn or global); _sum is the paused seconds.";

/// Cheap to clone: every field is a shared handle.
#[derive(Clone)]
pub(crate) struct ShapingMetrics {
    paused_conn: Histogram,
    paused_global: Histogram,
    pausing: Gauge,
    /// Bytes, then requests, of the connection's limits, then the server's.
    limits: [Gauge; 4],
}

impl ShapingMetrics {
    pub(crate) fn register() -> Self {
        describe_gauge!(
            "sedaflow_net_read_paused_connections",
            "TCP connections whose reader is paused now, by reason."
        );
        describe_gauge!(
            "sedaflow_net_read_limit_per_second",
            "Read limits in force (traffic shaping), by scope and unit; 0 is no limit."
        );
        let paused = |scope| {
            let labels = [("reason", "shaping"), ("scope", scope)];
            Histogram::seconds("sedaflow_net_read_paused_seconds", PAUSED_HELP, &labels)
        };
        let limit = |scope: &'static str, unit: &'static str| gauge!("sedaflow_net_read_limit_per_second", "scope" => scope, "unit" => unit);
        let m = ShapingMetrics {
            paused_conn: paused("conn"),
            paused_global: paused("global"),
            pausing: gauge!("sedaflow_net_read_paused_connections", "reason" => "shaping"),
            limits: [
                limit("conn", "bytes"),
                limit("conn", "requests"),
                limit("global", "bytes"),
                limit("global", "requests"),
            ],
        };
        m.pausing.set(0.0);
        m
    }

    /// The limits now in force: a connection's bytes and requests per second, then the
    /// server's (`None`: no limit).
    pub(crate) fn limits(&self, rates: [Option<NonZeroU64>; 4]) {
        for (gauge, rate) in self.limits.iter().zip(rates) {
            gauge.set(rate.map_or(0.0, |r| r.get() as f64));
        }
    }

    /// A reader starts a pause; [`Self::resumed`] ends it.
    pub(crate) fn paused(&self) {
        self.pausing.increment(1.0);
    }

    /// A reader paused `paused` long because of its connection's limit (`global`: the
    /// server's), and reads again.
    pub(crate) fn resumed(&self, global: bool, paused: Duration) {
        self.pausing.decrement(1.0);
        match global {
            false => self.paused_conn.record_duration(paused),
            true => self.paused_global.record_duration(paused),
        }
    }
}
