//! Read pauses: TCP readers that stopped reading, how many now and for how long, by reason.
//!
//! A pause is counted once, when it starts and when it ends, never per request: a reader that
//! does not pause pays nothing here.

use std::sync::Arc;
use std::time::Instant;

use metrics::{describe_gauge, gauge, Gauge};
use sedaflow::Histogram;

const PAUSED_HELP: &str = "Time TCP readers paused before their next read, by reason \
     (watermark, in_flight, shaping) and by the limit that set the pause (scope conn or \
     global); _sum is the paused seconds.";

/// Why a reader paused: the series' `reason` and `scope` labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PauseReason {
    /// Its unsent output went above the high watermark (it reads again below the low one).
    Watermark,
    /// Too many of its requests were unanswered.
    InFlight,
    /// It read past a traffic shaping limit: its connection's, or (`global`) the server's.
    Shaping { global: bool },
}

impl PauseReason {
    /// The reason's paused-seconds series (by reason and scope), then its gauge (by reason).
    fn series(self) -> (usize, usize) {
        match self {
            PauseReason::Watermark => (0, 0),
            PauseReason::InFlight => (1, 1),
            PauseReason::Shaping { global: false } => (2, 2),
            PauseReason::Shaping { global: true } => (3, 2),
        }
    }
}

/// Cheap to clone: one shared handle.
#[derive(Clone)]
pub(crate) struct ReadPauseMetrics(Arc<Series>);

struct Series {
    /// In [`PauseReason::series`] order.
    seconds: [Histogram; 4],
    paused: [Gauge; 3],
}

impl ReadPauseMetrics {
    pub(crate) fn register() -> Self {
        describe_gauge!(
            "sedaflow_net_read_paused_connections",
            "TCP connections whose reader is paused now, by reason."
        );
        let seconds = |reason, scope| {
            let labels = [("reason", reason), ("scope", scope)];
            Histogram::seconds("sedaflow_net_read_paused_seconds", PAUSED_HELP, &labels)
        };
        let paused = |reason: &'static str| gauge!("sedaflow_net_read_paused_connections", "reason" => reason);
        let series = Series {
            seconds: [
                // Watermarks and the in-flight limit are the connection's own.
                seconds("watermark", "conn"),
                seconds("in_flight", "conn"),
                seconds("shaping", "conn"),
                seconds("shaping", "global"),
            ],
            paused: [paused("watermark"), paused("in_flight"), paused("shaping")],
        };
        for gauge in &series.paused {
            gauge.set(0.0);
        }
        ReadPauseMetrics(Arc::new(series))
    }

    /// A reader pauses for `reason`: it counts as paused until the returned guard is dropped,
    /// which records how long it paused.
    pub(crate) fn pause(&self, reason: PauseReason) -> ReadPause<'_> {
        self.0.paused[reason.series().1].increment(1.0);
        ReadPause {
            series: &self.0,
            reason,
            since: Instant::now(),
        }
    }
}

/// A reader's pause in progress (see [`ReadPauseMetrics::pause`]).
pub(crate) struct ReadPause<'a> {
    series: &'a Series,
    reason: PauseReason,
    since: Instant,
}

impl ReadPause<'_> {
    /// The pause goes on for `reason`. A new reason ends the pause so far under the old one
    /// and counts the rest under the new one.
    pub(crate) fn because(&mut self, reason: PauseReason) {
        if reason == self.reason {
            return;
        }
        let now = Instant::now();
        self.end(now);
        self.series.paused[reason.series().1].increment(1.0);
        self.reason = reason;
        self.since = now;
    }

    fn end(&self, now: Instant) {
        let (seconds, paused) = self.reason.series();
        self.series.paused[paused].decrement(1.0);
        self.series.seconds[seconds].record_duration(now - self.since);
    }
}

impl Drop for ReadPause<'_> {
    fn drop(&mut self) {
        self.end(Instant::now());
    }
}
