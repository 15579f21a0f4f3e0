//! NATS in trouble in the middle of 20,000 orders through one ingress and two matchers:
//! stopped for longer than JetStream's publish confirmation waits (5 s), or killed and started
//! again on the same store. Either way every connection still gets, order by order, the
//! responses the single process gives, and no partition stops or changes hands (leases of
//! 10 s outlast the trouble): what was not confirmed went out again under its message id,
//! an unanswered lease renewal was read back, and the consumers lost with the server were
//! made again after the last message read.

mod support;

use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::Duration;

use support::{
    assert_same_responses, drive, drive_interrupted, exact_config, Cluster, Server, Session,
    PARTITIONS,
};

const CLIENTS: usize = 8;
const ORDERS: usize = 2_500;
const SYMBOLS: usize = 8;

/// Longer than the client's confirmation timeout, shorter than the leases.
const STOP: Duration = Duration::from_secs(6);

#[test]
fn a_stopped_nats_delays_the_log_without_a_fail_over() {
    without_a_fail_over(|cluster| cluster.pause_nats(STOP));
}

#[test]
fn a_restarted_nats_delays_the_log_without_a_fail_over() {
    without_a_fail_over(Cluster::restart_nats);
}

/// Runs the orders through the deployment, with `trouble` done to it a quarter of the way.
fn without_a_fail_over(trouble: impl FnOnce(&mut Cluster)) {
    let flows = |s: &Session| Session::orders(s.index, ORDERS, SYMBOLS);
    let reference = {
        let config = exact_config("");
        let single = Server::start(&["--config", config.to_str().expect("utf-8 path")]);
        let progress = Arc::new(AtomicUsize::new(0));
        drive(Session::open(single.tcp, CLIENTS), flows, &progress)
    };
    let quarter = reference.iter().map(|s| s.seen.len()).sum::<usize>() / 4;

    let mut cluster = Cluster::start_leased(2, ("10s", "1s"));
    let sessions = Session::open(cluster.ingress.tcp, CLIENTS);
    let sessions = drive_interrupted(sessions, flows, quarter, || trouble(&mut cluster));
    assert_same_responses(&reference, &sessions);

    for (i, m) in cluster.matchers.iter().enumerate() {
        assert_eq!(
            m.metric("sedaflow_cluster_log_entries_replayed_total"),
            0.0,
            "matcher {i} replayed a partition: one stopped or changed hands"
        );
        assert_eq!(
            m.metric("sedaflow_cluster_fenced_total"),
            0.0,
            "matcher {i}"
        );
        assert_eq!(
            m.metric("sedaflow_cluster_partitions_owned"),
            f64::from(PARTITIONS / 2),
            "matcher {i}"
        );
    }
}
