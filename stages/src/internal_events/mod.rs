//! Server metrics: the one place in this crate that talks to the `metrics` crate. Handles are
//! registered when the server starts, so every series exists from then on.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use metrics::{counter, describe_counter, describe_gauge, gauge, Counter, Gauge};
use sedaflow::Histogram;

use crate::codec::DecodeError;

mod accounts;
mod journal;

pub(crate) use accounts::AccountMetrics;
pub(crate) use journal::JournalMetrics;
mod cluster;
mod loops;
mod market;
mod read_pause;
mod shaping;

pub(crate) use cluster::{ClusterMetrics, PartitionMetrics};
pub(crate) use loops::LoopMetrics;
pub(crate) use market::MarketMetrics;
pub(crate) use read_pause::{PauseReason, ReadPauseMetrics};
pub(crate) use shaping::ShapingMetrics;

/// Cheap to clone: one shared set of handles (each connection and HTTP request holds one).
#[derive(Clone)]
pub(crate) struct ServerMetrics(Arc<Handles>);

impl std::ops::Deref for ServerMetrics {
    type Target = Handles;

    fn deref(&self) -> &Handles {
        &self.0
    }
}

pub(crate) struct Handles {
    requests: Counter,
    answered: Counter,
    overloaded: Counter,
    unavailable: Counter,
    latency: Histogram,
    connections: Gauge,
    connections_refused: Counter,
    discarded: Counter,
    slow_clients: Counter,
    frames_invalid: Counter,
    frames_rejected: Counter,
    frames_too_long: Counter,
    frames_timed_out: Counter,
    idle_closed: Counter,
    read_pauses: ReadPauseMetrics,
    market: MarketMetrics,
    output: Arc<OutputCounts>,
}

/// TCP output in bytes, for the `net_write` stage (read at each scrape).
#[derive(Debug, Default)]
pub(crate) struct OutputCounts {
    /// Written to sockets.
    pub(crate) written: AtomicU64,
    /// Discarded: for a connection gone or cut at the hard cap.
    pub(crate) discarded: AtomicU64,
}

impl ServerMetrics {
    pub(crate) fn register() -> Self {
        describe();
        let refused =
            |reason: &'static str| counter!("sedaflow_server_refused_total", "reason" => reason);
        let frames = |reason: &'static str| counter!("sedaflow_server_frames_rejected_total", "reason" => reason);
        let m = ServerMetrics(Arc::new(Handles {
            requests: counter!("sedaflow_server_requests_total"),
            answered: counter!("sedaflow_server_answered_total"),
            overloaded: refused("overloaded"),
            unavailable: refused("symbol_unavailable"),
            // Recorded per write, from several threads: the engine's cheap histogram.
            latency: Histogram::seconds(
                "sedaflow_server_order_latency_seconds",
                "Time from reading a request to writing its reply (per write: its oldest reply).",
                &[],
            ),
            connections: gauge!("sedaflow_server_connections"),
            connections_refused: refused("too_many_connections"),
            discarded: counter!("sedaflow_server_responses_discarded_total"),
            slow_clients: counter!("sedaflow_server_slow_clients_closed_total"),
            frames_invalid: frames("error"),
            frames_rejected: frames("reject"),
            frames_too_long: frames("too_long"),
            frames_timed_out: frames("timeout"),
            idle_closed: counter!("sedaflow_server_idle_closed_total"),
            read_pauses: ReadPauseMetrics::register(),
            market: MarketMetrics::register(),
            output: Arc::default(),
        }));
        m.connections.set(0.0);
        m
    }

    /// `n` requests reached matching.
    pub(crate) fn requests(&self, n: u64) {
        if n > 0 {
            self.requests.increment(n);
        }
    }

    /// A request was refused for `reason` (`overloaded`, `symbol unavailable`).
    pub(crate) fn refused(&self, reason: &str) {
        match reason {
            "overloaded" => self.overloaded.increment(1),
            _ => self.unavailable.increment(1),
        }
    }

    pub(crate) fn connection_refused(&self) {
        self.connections_refused.increment(1);
    }

    /// `n` replies are answered (in order, on their way out).
    pub(crate) fn answered(&self, n: u64) {
        self.answered.increment(n);
    }

    /// A write took replies out: `latency` from read to written for the oldest of them.
    pub(crate) fn written(&self, latency: Duration) {
        self.latency.record_duration(latency);
    }

    pub(crate) fn connections(&self, open: usize) {
        self.connections.set(open as f64);
    }

    /// Responses that had no live connection to go to.
    pub(crate) fn discarded(&self, n: u64) {
        if n > 0 {
            self.discarded.increment(n);
        }
    }

    pub(crate) fn slow_client_closed(&self) {
        self.slow_clients.increment(1);
    }

    pub(crate) fn frame_rejected(&self, e: &DecodeError) {
        match e {
            DecodeError::Error { .. } => self.frames_invalid.increment(1),
            DecodeError::Reject { .. } => self.frames_rejected.increment(1),
        }
    }

    pub(crate) fn frame_too_long(&self) {
        self.frames_too_long.increment(1);
    }

    pub(crate) fn frame_timed_out(&self) {
        self.frames_timed_out.increment(1);
    }

    pub(crate) fn idle_closed(&self) {
        self.idle_closed.increment(1);
    }

    /// TCP readers' pauses, by reason.
    /// TCP output bytes written and discarded.
    pub(crate) fn output(&self) -> &Arc<OutputCounts> {
        &self.output
    }

    pub(crate) fn read_pauses(&self) -> &ReadPauseMetrics {
        &self.read_pauses
    }

    /// Market data: subscribers, what they were sent, conflation and fan-out.
    pub(crate) fn market(&self) -> &MarketMetrics {
        &self.market
    }
}

/// The admission controller's decisions and what it steers by.
#[derive(Clone)]
pub(crate) struct AdmissionMetrics {
    admitted: Counter,
    refused: Counter,
    shed_at_read: Counter,
    limit: Gauge,
    p90: Gauge,
    queued: Gauge,
}

impl AdmissionMetrics {
    pub(crate) fn register(target: Duration) -> Self {
        describe_counter!(
            "sedaflow_admission_admitted_total",
            "Requests the admission controller let into the pipeline."
        );
        describe_gauge!(
            "sedaflow_admission_limit",
            "The controller's limit on requests queued before matching."
        );
        describe_gauge!(
            "sedaflow_admission_response_time_p90_seconds",
            "P90 read-to-matched time of the last tick, the value the controller steers by."
        );
        describe_gauge!(
            "sedaflow_admission_target_seconds",
            "The P90 response time the controller steers to."
        );
        describe_gauge!(
            "sedaflow_admission_queued",
            "Requests queued before matching at the last tick."
        );
        let m = AdmissionMetrics {
            admitted: counter!("sedaflow_admission_admitted_total"),
            refused: counter!("sedaflow_server_refused_total", "reason" => "admission"),
            shed_at_read: counter!("sedaflow_server_refused_total", "reason" => "read_backlog"),
            limit: gauge!("sedaflow_admission_limit"),
            p90: gauge!("sedaflow_admission_response_time_p90_seconds"),
            queued: gauge!("sedaflow_admission_queued"),
        };
        m.p90.set(0.0);
        m.queued.set(0.0);
        gauge!("sedaflow_admission_target_seconds").set(target.as_secs_f64());
        m
    }

    pub(crate) fn admitted(&self, n: usize) {
        self.admitted.increment(n as u64);
    }

    pub(crate) fn refused(&self, n: usize) {
        self.refused.increment(n as u64);
    }

    pub(crate) fn shed_at_read(&self, n: usize) {
        self.shed_at_read.increment(n as u64);
    }

    pub(crate) fn limit(&self, limit: usize) {
        self.limit.set(limit as f64);
    }

    /// A tick's P90 (unchanged when no order finished) and queue.
    pub(crate) fn observed(&self, p90: Option<Duration>, queued: usize) {
        if let Some(p) = p90 {
            self.p90.set(p.as_secs_f64());
        }
        self.queued.set(queued as f64);
    }
}

/// `# HELP` texts of the server metrics (the README's Server metrics table).
fn describe() {
    describe_counter!(
        "sedaflow_server_requests_total",
        "Requests that reached matching."
    );
    describe_counter!(
        "sedaflow_server_answered_total",
        "Replies written (one per request)."
    );
    describe_counter!(
        "sedaflow_server_refused_total",
        "Requests or connections refused, by reason."
    );
    describe_gauge!("sedaflow_server_connections", "Open TCP connections.");
    describe_counter!(
        "sedaflow_server_responses_discarded_total",
        "Responses for connections that were gone."
    );
    describe_counter!(
        "sedaflow_server_slow_clients_closed_total",
        "Connections cut at the write hard cap."
    );
    describe_counter!(
        "sedaflow_server_frames_rejected_total",
        "Frames answered with an error or a reject, or cut as too long or timed out, by reason."
    );
    describe_counter!(
        "sedaflow_server_idle_closed_total",
        "Connections closed by the idle timeout."
    );
}
