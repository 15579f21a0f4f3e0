//! The event-loop group: loops started and retired by the sizing controller, sessions moved
//! between loops, and the loops running now. Counted when the group changes, never per read.

use metrics::{counter, describe_counter, describe_gauge, gauge, Counter, Gauge};

/// Cheap to clone: every field is a shared handle.
#[derive(Clone)]
pub(crate) struct LoopMetrics {
    started: Counter,
    retired: Counter,
    moved: Counter,
    active: Gauge,
    threads: Gauge,
    backlogged: Gauge,
}

impl LoopMetrics {
    pub(crate) fn register() -> Self {
        describe_counter!(
            "sedaflow_net_loops_started_total",
            "Event loops started (the minimum at start, then each growth)."
        );
        describe_counter!(
            "sedaflow_net_loops_retired_total",
            "Event loops retired by the sizing controller (their sessions move away)."
        );
        describe_counter!(
            "sedaflow_net_sessions_moved_total",
            "TCP sessions moved from one event loop to another (retirement or rebalancing)."
        );
        describe_gauge!(
            "sedaflow_net_loops",
            "Event loops taking sessions now (state=active), and loop threads still running \
             (state=threads: retiring ones included)."
        );
        describe_gauge!(
            "sedaflow_net_read_backlogged_connections",
            "TCP connections whose last read filled the read buffer: input waiting for their \
             event loop (read each sizing tick)."
        );
        LoopMetrics {
            started: counter!("sedaflow_net_loops_started_total"),
            retired: counter!("sedaflow_net_loops_retired_total"),
            moved: counter!("sedaflow_net_sessions_moved_total"),
            active: gauge!("sedaflow_net_loops", "state" => "active"),
            threads: gauge!("sedaflow_net_loops", "state" => "threads"),
            backlogged: gauge!("sedaflow_net_read_backlogged_connections"),
        }
    }

    pub(crate) fn started(&self) {
        self.started.increment(1);
    }

    pub(crate) fn retired(&self) {
        self.retired.increment(1);
    }

    pub(crate) fn moved(&self) {
        self.moved.increment(1);
    }

    pub(crate) fn backlogged(&self, connections: usize) {
        self.backlogged.set(connections as f64);
    }

    pub(crate) fn loops(&self, active: usize, threads: usize) {
        self.active.set(active as f64);
        self.threads.set(threads as f64);
    }
}
