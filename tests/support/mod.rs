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
