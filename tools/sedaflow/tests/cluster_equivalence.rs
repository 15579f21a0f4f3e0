//! 20,000 orders over 64 symbols from eight connections (half of them logged-in accounts,
//! half anonymous), with amends, `orders` and `cancel_all` in the mix, through one ingress
//! and two matchers: every connection gets, order by order, the responses the single process
//! gives the same flows, and its books end as the reference's (listed, then cancelled).

mod support;

use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

use support::{assert_same_responses, drive, exact_config, Cluster, Server, Session};

/// Connections, each trading symbols of its own, so the outcome does not depend on how the
/// connections interleave.
const CLIENTS: usize = 8;
/// Orders per connection (20,000 in all).
const ORDERS: usize = 2_500;
/// Symbols per connection (64 in all).
const SYMBOLS: usize = 8;

#[test]
fn twenty_thousand_orders_match_the_single_process() {
    let progress = Arc::new(AtomicUsize::new(0));
    let flows = |s: &Session| Session::orders(s.index, ORDERS, SYMBOLS);

    let config = exact_config("");
    let single = Server::start(&["--config", config.to_str().expect("utf-8 path")]);
    let reference = drive(Session::open(single.tcp, CLIENTS), flows, &progress);
    let reference = drive(reference, Session::sweep, &progress);

    let cluster = Cluster::start(2);
    let got = drive(
        Session::open(cluster.ingress.tcp, CLIENTS),
        flows,
        &progress,
    );
    // Every order the reference leaves resting rests here too, with the same quantity.
    let got = drive(got, Session::sweep, &progress);

    assert_same_responses(&reference, &got);
    // The mix did what it is for: each v2 answer came, and amends that moved orders traded.
    let kinds = support::tally(&got);
    eprintln!("responses by type: {kinds:?}");
    for kind in [
        "amended",
        "order",
        "orders_end",
        "cancel_all_done",
        "fill",
        "done",
    ] {
        assert!(kinds.get(kind).is_some_and(|&n| n > 0), "no {kind} at all");
    }
    for m in &cluster.matchers {
        assert!(
            m.metric("sedaflow_cluster_log_entries_applied_total") > 0.0,
            "both matchers matched"
        );
    }
}
