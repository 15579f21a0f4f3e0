use std::time::Duration;

use super::*;

/// A stage that took 10, rejected 2, dropped 1 of each kind, panicked on 1, failed 1, and
/// processed or still holds the rest: balanced.
fn stage(name: &str) -> StageReport {
    StageReport {
        name: name.into(),
        domain: "in".into(),
        offered: 13,
        enqueued: 10,
        rejected: 2,
        dropped_newest: 1,
        dropped_oldest: 1,
        processed: 5,
        panicked: 1,
        failed: 1,
        queued: 2,
        peak_depth: 9,
        threads: 2,
        batch_limit: 64,
        service_p99: Some(Duration::from_micros(3)),
        queue_wait_p99: None,
        blocked: Duration::ZERO,
    }
}

fn report(stages: Vec<StageReport>) -> Report {
    Report {
        stages,
        dead_letters: vec![DeadLetterCount {
            event_type: "u64",
            reason: "no_subscriber",
            count: 3,
        }],
        drained: true,
        elapsed: Duration::ZERO,
    }
}

#[test]
fn a_stage_balances_when_every_offered_event_is_accounted_once() {
    assert!(stage("a").is_balanced());
}

#[test]
fn a_stage_does_not_balance_when_either_side_is_off_by_one() {
    let mut more_offered = stage("a");
    more_offered.offered += 1;
    assert!(!more_offered.is_balanced());
    let mut lost_in_queue = stage("a");
    lost_in_queue.queued -= 1;
    assert!(!lost_in_queue.is_balanced());
    let mut counted_twice = stage("a");
    counted_twice.processed += 1;
    counted_twice.queued -= 1;
    assert!(
        counted_twice.is_balanced(),
        "moves between outcomes keep the sum"
    );
    counted_twice.dropped_oldest += 1;
    assert!(!counted_twice.is_balanced());
    let mut failed_uncounted = stage("a");
    failed_uncounted.failed -= 1;
    assert!(!failed_uncounted.is_balanced());
}

#[test]
fn a_report_balances_only_if_every_stage_does() {
    let mut off = stage("b");
    off.rejected += 1;
    assert!(report(vec![stage("a"), stage("b")]).is_balanced());
    assert!(!report(vec![stage("a"), off]).is_balanced());
    assert!(report(Vec::new()).is_balanced());
}

#[test]
fn stage_finds_by_name() {
    let r = report(vec![stage("a"), stage("b")]);
    assert_eq!(r.stage("b").map(|s| s.name.as_str()), Some("b"));
    assert_eq!(r.stage("c"), None);
}

#[test]
fn display_prints_a_header_a_row_per_stage_and_the_dead_letters() {
    let mut b = stage("b");
    b.service_p99 = None;
    let text = report(vec![stage("a"), b]).to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(
        header,
        [
            "stage",
            "domain",
            "enqueued",
            "processed",
            "rejected",
            "dropped",
            "panicked",
            "failed",
            "queued",
            "peak",
            "thr",
            "p99",
            "service"
        ]
    );
    // Dropped is newest + oldest.
    let a: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(
        a,
        ["a", "in", "10", "5", "2", "2", "1", "1", "2", "9", "2", "3.0µs"]
    );
    assert!(lines[2].ends_with(" -"), "{}", lines[2]);
    assert_eq!(lines[3], "dead letters: 3 × u64 (no_subscriber)");
}
