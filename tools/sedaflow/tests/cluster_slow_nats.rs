//! NATS stopped for longer than JetStream's publish confirmation waits (5 s), in the middle of
//! 20,000 orders through one ingress and two matchers: every connection still gets, order by
//! order, the responses the single process gives, and no partition changes hands (leases of
//! 10 s outlast the stop): the unconfirmed orders, responses and book changes went out again
//! under their message ids instead of failing their partitions over.

mod support;

use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::Duration;

use support::{
    assert_same_responses, drive, drive_interrupted, exact_config, Cluster, Server, Session,
};

const CLIENTS: usize = 8;
const ORDERS: usize = 2_500;
const SYMBOLS: usize = 8;

/// Longer than the client's confirmation timeout, shorter than the leases.
const STOP: Duration = Duration::from_secs(6);

#[test]
fn a_stopped_nats_delays_the_log_without_a_fail_over() {
    let flows = |s: &Session| Session::orders(s.index, ORDERS, SYMBOLS);
    let reference = {
        let config = exact_config("");
        let single = Server::start(&["--config", config.to_str().expect("utf-8 path")]);
        let progress = Arc::new(AtomicUsize::new(0));
        drive(Session::open(single.tcp, CLIENTS), flows, &progress)
    };
    let quarter = reference.iter().map(|s| s.seen.len()).sum::<usize>() / 4;

    let cluster = Cluster::start_leased(2, ("10s", "1s"));
    let sessions = Session::open(cluster.ingress.tcp, CLIENTS);
    let sessions = drive_interrupted(sessions, flows, quarter, || cluster.pause_nats(STOP));
    assert_same_responses(&reference, &sessions);

    for (i, m) in cluster.matchers.iter().enumerate() {
        assert_eq!(
            m.metric("sedaflow_cluster_log_entries_replayed_total"),
            0.0,
            "matcher {i} replayed a partition: one changed hands"
        );
        assert_eq!(
            m.metric("sedaflow_cluster_fenced_total"),
            0.0,
            "matcher {i}"
        );
        assert!(
            m.metric("sedaflow_cluster_log_entries_applied_total") > 0.0,
            "matcher {i} matched nothing"
        );
    }
}
