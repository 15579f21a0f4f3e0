//! `kill -9` of one of two matchers in the middle of 20,000 orders with amends, `orders` and
//! `cancel_all` in the mix, from logged-in accounts and anonymous connections: every request
//! still gets exactly the responses the single process gives, no fill arrives twice, the
//! survivor ends up owning every partition, and its books equal the reference's: the same
//! orders, owners, prices and amended quantities, listed by `orders` after the take-over.

mod support;

use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

use support::{
    assert_same_responses, drive, drive_interrupted, exact_config, wait_until, Cluster, Server,
    Session, PARTITIONS,
};

const CLIENTS: usize = 8;
const ORDERS: usize = 2_500;
const SYMBOLS: usize = 8;

#[test]
fn a_killed_matcher_loses_and_doubles_nothing() {
    let flows = |s: &Session| Session::orders(s.index, ORDERS, SYMBOLS);
    let reference = {
        let config = exact_config("");
        let single = Server::start(&["--config", config.to_str().expect("utf-8 path")]);
        let progress = Arc::new(AtomicUsize::new(0));
        let sessions = drive(Session::open(single.tcp, CLIENTS), flows, &progress);
        drive(sessions, Session::sweep, &progress)
    };
    let half = reference.iter().map(|s| s.seen.len()).sum::<usize>() / 2;

    let mut cluster = Cluster::start(2);
    let sessions = Session::open(cluster.ingress.tcp, CLIENTS);
    // Kill a matcher once the connections are half way through their responses.
    let sessions = drive_interrupted(sessions, flows, half, || cluster.matchers[0].kill9());

    let survivor = &cluster.matchers[1];
    cluster.wait_owned_by(&[1]);
    assert_eq!(
        survivor.metric("sedaflow_cluster_partitions_owned"),
        f64::from(PARTITIONS)
    );
    // The survivor's books hold as many orders as the reference's...
    let resting: usize = sessions
        .iter()
        .map(|s| s.checker.model().all_resting().len())
        .sum();
    wait_until("the survivor's resting-order gauge settles", || {
        survivor.metric("sedaflow_cluster_resting_orders") == resting as f64
    });
    // ...and they are the same orders with the same owners, prices and open quantities (amends
    // included): `orders` lists them, and cancelling each answers, exactly as the reference.
    let progress = Arc::new(AtomicUsize::new(0));
    let sessions = drive(sessions, Session::sweep, &progress);
    assert_same_responses(&reference, &sessions);
    wait_until("the survivor's books empty after the sweep", || {
        survivor.metric("sedaflow_cluster_resting_orders") == 0.0
    });
    // The take-over rebuilt the dead matcher's books from the log without answering again.
    let replayed = survivor.metric("sedaflow_cluster_log_entries_replayed_total");
    assert!(replayed > 0.0, "the survivor replayed nothing");
    eprintln!(
        "survivor applied {} log entries, {replayed} of them replayed; the ingress dropped {} \
         re-published response batches",
        survivor.metric("sedaflow_cluster_log_entries_applied_total"),
        support::metric(
            cluster.ingress.metrics,
            "sedaflow_cluster_duplicate_responses_total"
        ),
    );
}
