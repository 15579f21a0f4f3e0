//! Shared fixtures for the engine's black-box tests.
#![allow(dead_code)]

use std::time::Duration;

use sedaflow::Report;

/// Generous: only reached if something hangs.
pub const DRAIN: Duration = Duration::from_secs(30);

/// Asserts a drained, balanced report and returns it.
pub fn assert_clean(report: Report) -> Report {
    assert!(report.drained, "pipeline did not drain:\n{report}");
    for s in &report.stages {
        assert!(s.is_balanced(), "stage {} does not balance: {s:?}", s.name);
    }
    report
}

/// A gate a handler waits on until the test opens it.
pub fn gate() -> (
    crossbeam_channel::Sender<()>,
    crossbeam_channel::Receiver<()>,
) {
    crossbeam_channel::unbounded()
}

/// The value of the one sample `series` (name and labels) in the exposition `text`.
pub fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no series {series} in\n{text}"))
}

/// An event of key `key`, the `seq`-th published: for tests of per-key order.
#[derive(Debug, Clone, Copy)]
pub struct Keyed {
    pub key: u32,
    pub seq: u64,
}

/// Each key's sequence numbers, in the order a handler saw them.
pub type Seen = std::sync::Arc<std::sync::Mutex<std::collections::HashMap<u32, Vec<u64>>>>;

/// Notes `events` (as a handler sees them) in `seen`.
pub fn note(seen: &Seen, events: impl IntoIterator<Item = Keyed>) {
    let mut seen = seen.lock().unwrap();
    for e in events {
        seen.entry(e.key).or_default().push(e.seq);
    }
}

/// Publishes events `0..events` over `keys` keys (scattered), `batch` at a time.
pub fn publish_keyed(input: &sedaflow::Publisher<Keyed>, events: u64, keys: u32, batch: usize) {
    let mut pending = Vec::with_capacity(batch);
    for seq in 0..events {
        let key = (seq.wrapping_mul(2_654_435_761) % u64::from(keys)) as u32;
        pending.push(Keyed { key, seq });
        if pending.len() == batch {
            input.blocking_publish_batch(&mut pending).unwrap();
        }
    }
    input.blocking_publish_batch(&mut pending).unwrap();
}

/// Asserts that `seen` holds each of `events` once, each key's in publishing order.
pub fn assert_each_once_in_key_order(seen: &Seen, events: u64) {
    let seen = seen.lock().unwrap();
    let total: usize = seen.values().map(Vec::len).sum();
    assert_eq!(total as u64, events, "each event once");
    for (key, seqs) in seen.iter() {
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "key {key} out of order"
        );
    }
}
