//! Journal metrics: group commits, their bytes and sync time, snapshots.

use std::time::Duration;

use metrics::{counter, describe_counter, describe_histogram, histogram, Counter, Histogram};

/// Cheap to clone: every field is a shared handle.
#[derive(Clone)]
pub(crate) struct JournalMetrics {
    writes: Counter,
    bytes: Counter,
    sync: Histogram,
    snapshots: Counter,
    snapshot_failures: Counter,
}

impl JournalMetrics {
    pub(crate) fn register() -> Self {
        describe_counter!(
            "sedaflow_journal_writes_total",
            "Group commits: one write and one fdatasync per journal-stage batch."
        );
        describe_counter!(
            "sedaflow_journal_bytes_total",
            "Bytes of records made durable."
        );
        describe_histogram!(
            "sedaflow_journal_sync_seconds",
            "Time of one group commit's write and fdatasync."
        );
        describe_counter!(
            "sedaflow_journal_snapshots_total",
            "Snapshots written, by result."
        );
        let snapshots =
            |result: &'static str| counter!("sedaflow_journal_snapshots_total", "result" => result);
        JournalMetrics {
            writes: counter!("sedaflow_journal_writes_total"),
            bytes: counter!("sedaflow_journal_bytes_total"),
            sync: histogram!("sedaflow_journal_sync_seconds"),
            snapshots: snapshots("ok"),
            snapshot_failures: snapshots("failed"),
        }
    }

    /// A group commit made `bytes` durable in `took`.
    pub(crate) fn committed(&self, bytes: usize, took: Duration) {
        self.writes.increment(1);
        self.bytes.increment(bytes as u64);
        self.sync.record(took.as_secs_f64());
    }

    /// A background snapshot finished (`ok`) or failed.
    pub(crate) fn snapshot(&self, ok: bool) {
        match ok {
            true => self.snapshots.increment(1),
            false => self.snapshot_failures.increment(1),
        }
    }
}
