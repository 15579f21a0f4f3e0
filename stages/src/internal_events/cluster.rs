//! Scale-out metrics: partitions owned, replay progress and consumer lag per partition,
//! orders appended and duplicate responses dropped.

use metrics::{counter, describe_counter, describe_gauge, gauge, Counter, Gauge};

/// Process-wide scale-out counts (ingress and matcher).
#[derive(Clone)]
pub(crate) struct ClusterMetrics {
    owned: Gauge,
    appended: Counter,
    duplicates: Counter,
}

impl ClusterMetrics {
    pub(crate) fn register() -> Self {
        describe();
        let m = ClusterMetrics {
            owned: gauge!("sedaflow_cluster_partitions_owned"),
            appended: counter!("sedaflow_cluster_orders_appended_total"),
            duplicates: counter!("sedaflow_cluster_duplicate_responses_total"),
        };
        m.owned.set(0.0);
        m
    }

    pub(crate) fn partitions_owned(&self, n: usize) {
        self.owned.set(n as f64);
    }

    /// `n` orders were confirmed by the log.
    pub(crate) fn orders_appended(&self, n: u64) {
        self.appended.increment(n);
    }

    /// A response batch already routed arrived again (a re-publication after fail-over).
    pub(crate) fn duplicate_response(&self) {
        self.duplicates.increment(1);
    }
}

/// One owned partition's series, labelled `partition`.
pub(crate) struct PartitionMetrics {
    applied: Counter,
    replayed: Counter,
    published: Counter,
    replay_remaining: Gauge,
    pending: Gauge,
    resting: Gauge,
    fenced: Counter,
    unanswered: Counter,
}

impl PartitionMetrics {
    pub(crate) fn register(p: u32) -> Self {
        let label = p.to_string();
        PartitionMetrics {
            applied: counter!("sedaflow_cluster_log_entries_applied_total", "partition" => label.clone()),
            replayed: counter!("sedaflow_cluster_log_entries_replayed_total", "partition" => label.clone()),
            published: counter!("sedaflow_cluster_responses_published_total", "partition" => label.clone()),
            replay_remaining: gauge!("sedaflow_cluster_replay_remaining", "partition" => label.clone()),
            pending: gauge!("sedaflow_cluster_consumer_pending", "partition" => label.clone()),
            resting: gauge!("sedaflow_cluster_resting_orders", "partition" => label.clone()),
            fenced: counter!("sedaflow_cluster_fenced_total", "partition" => label.clone()),
            unanswered: counter!("sedaflow_cluster_pulls_unanswered_total", "partition" => label),
        }
    }

    /// Log message `seq` was read; the replay runs to `replay_to`; `pending` messages wait.
    pub(crate) fn progress(&self, seq: u64, replay_to: u64, pending: u64) {
        self.replay_remaining
            .set(replay_to.saturating_sub(seq) as f64);
        self.pending.set(pending as f64);
    }

    /// A pull of `entries` was matched (`replayed` of them only to rebuild the books),
    /// causing `published` response messages; `resting` orders are on the books now.
    pub(crate) fn applied(&self, entries: u64, replayed: u64, published: u64, resting: usize) {
        self.applied.increment(entries);
        self.replayed.increment(replayed);
        self.published.increment(published);
        self.resting.set(resting as f64);
    }

    pub(crate) fn fenced(&self) {
        self.fenced.increment(1);
    }

    /// NATS left a pull unanswered past its expiry: a new consumer reads on.
    pub(crate) fn pull_unanswered(&self) {
        self.unanswered.increment(1);
    }

    /// This process no longer runs the partition: its gauges say nothing about it.
    pub(crate) fn gone(&self) {
        self.replay_remaining.set(0.0);
        self.pending.set(0.0);
        self.resting.set(0.0);
    }
}

fn describe() {
    describe_gauge!(
        "sedaflow_cluster_partitions_owned",
        "Order-log partitions this matcher holds the lease of."
    );
    describe_counter!(
        "sedaflow_cluster_orders_appended_total",
        "Orders this ingress appended to the log (confirmed by JetStream)."
    );
    describe_counter!(
        "sedaflow_cluster_duplicate_responses_total",
        "Response batches dropped at ingress as already routed."
    );
    describe_counter!(
        "sedaflow_cluster_log_entries_applied_total",
        "Log entries matched (replayed or new), per partition."
    );
    describe_counter!(
        "sedaflow_cluster_log_entries_replayed_total",
        "Log entries matched only to rebuild the books after a take-over (responses already published), per partition."
    );
    describe_counter!(
        "sedaflow_cluster_responses_published_total",
        "Messages published to ingresses, per partition: responses (one per ingress per pull) and book changes (one per pull that changed a book)."
    );
    describe_gauge!(
        "sedaflow_cluster_replay_remaining",
        "Log messages left to replay before this owner publishes again, per partition."
    );
    describe_gauge!(
        "sedaflow_cluster_consumer_pending",
        "Log messages not yet read by this owner (consumer lag), per partition."
    );
    describe_gauge!(
        "sedaflow_cluster_resting_orders",
        "Orders resting on the partition's books, per partition."
    );
    describe_counter!(
        "sedaflow_cluster_fenced_total",
        "Times this matcher found its lease superseded and dropped the partition."
    );
    describe_counter!(
        "sedaflow_cluster_pulls_unanswered_total",
        "Log pulls NATS left unanswered past their expiry, each given up for a new consumer reading on after the last entry applied, per partition."
    );
}
