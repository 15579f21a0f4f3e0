//! Routing and replay of one partition's books.

use super::*;
use crate::accounts::AccountName;
use crate::matching::{DoneReason, Price, ReportKind, Request, Side, Symbol, Tif};

fn symbol() -> Symbol {
    Symbol::new("ACME").unwrap()
}

fn record(from: ConnRef, owner: Option<Owner>, seq: u64, req: Request) -> LogRecord {
    LogRecord {
        from,
        owner,
        seq,
        floor: 0,
        req,
    }
}

fn limit(id: u64, side: Side, qty: u64) -> Request {
    Request::Limit {
        id,
        symbol: symbol(),
        side,
        price: Price::from_ticks(100_500).unwrap(),
        qty,
        tif: Tif::Gtc,
        stp: Default::default(),
    }
}

fn conn(ingress: u64, conn: Owner) -> ConnRef {
    ConnRef { ingress, conn }
}

fn run(log: &[LogRecord]) -> (Vec<(Dest, ResponseBatch)>, usize) {
    let (out, _, resting) = run_with_deltas(log);
    (out, resting)
}

fn run_with_deltas(log: &[LogRecord]) -> (Vec<(Dest, ResponseBatch)>, Vec<BookDelta>, usize) {
    let entries: Vec<LogEntry> = log.iter().copied().map(LogEntry::Order).collect();
    run_entries(&entries)
}

fn run_entries(log: &[LogEntry]) -> (Vec<(Dest, ResponseBatch)>, Vec<BookDelta>, usize) {
    let mut shard = Shard::new(3);
    let (mut out, mut deltas) = (Vec::new(), Vec::new());
    for (i, entry) in log.iter().enumerate() {
        shard.apply(i as u64 + 1, entry, &mut out, &mut deltas);
    }
    (out, deltas, shard.resting())
}

#[test]
fn book_changes_are_numbered_by_the_book_and_a_replay_numbers_them_alike() {
    let (a, b) = (conn(10, 1), conn(20, 1));
    let log = [
        record(a, None, 1, limit(1, Side::Sell, 100)),
        record(b, None, 1, limit(2, Side::Buy, 40)),
        // Refused (no such order): no change, no number.
        record(
            b,
            None,
            2,
            Request::Cancel {
                id: 99,
                symbol: symbol(),
            },
        ),
        record(
            a,
            None,
            2,
            Request::Cancel {
                id: 1,
                symbol: symbol(),
            },
        ),
    ];
    let (_, deltas, _) = run_with_deltas(&log);
    let seqs: Vec<u64> = deltas.iter().map(|d| d.seq).collect();
    assert_eq!(seqs, [1, 2, 3]);
    assert_eq!(deltas[1].trades.len(), 1);
    assert_eq!(
        (deltas[1].trades[0].match_id, deltas[1].trades[0].qty),
        (1, 40)
    );
    assert_eq!(deltas[2].levels[0].total, 0);
    assert_eq!(run_with_deltas(&log).1, deltas);
}

#[test]
fn routes_each_anonymous_side_to_its_ingress_and_replays_identically() {
    let (a, b) = (conn(10, 1), conn(20, 1));
    let log = [
        record(a, None, 1, limit(1, Side::Sell, 100)),
        record(b, None, 1, limit(2, Side::Buy, 40)),
    ];
    let (out, resting) = run(&log);
    assert_eq!(resting, 1);
    // Entry 1: A's ack. Entry 2: B's ack, fill, done to ingress 20; A's fill to 10.
    assert_eq!(out.len(), 3);
    assert_eq!(out[0].0, Dest::Ingress(10));
    assert_eq!(out[1].0, Dest::Ingress(20));
    let reply = out[1].1.reply.as_ref().unwrap();
    assert!(reply.accepted);
    assert_eq!(reply.from, b);
    assert_eq!(reply.kinds.len(), 3);
    assert_eq!(reply.kinds[0], ReportKind::Ack { id: 2 });
    assert_eq!((out[2].0, out[2].1.position), (Dest::Ingress(10), 2));
    assert!(out[2].1.reply.is_none());
    assert!(matches!(
        out[2].1.notices[..],
        [WireNotice {
            to: 1,
            except: None,
            kind: ReportKind::Fill {
                id: 1,
                leaves: 60,
                ..
            }
        }]
    ));
    assert_eq!(run(&log), (out, resting));
}

#[test]
fn a_named_accounts_sessions_on_two_ingresses_share_its_orders() {
    let alice = AccountName::new("alice").unwrap().owner();
    let (on_10, on_20, other) = (conn(10, 1), conn(20, 7), conn(20, 8));
    let log = [
        record(on_10, Some(alice), 1, limit(1, Side::Sell, 100)),
        // Another session of alice's, on another ingress, cancels it.
        record(
            on_20,
            Some(alice),
            1,
            Request::Cancel {
                id: 1,
                symbol: symbol(),
            },
        ),
        // An anonymous connection cannot.
        record(other, None, 1, limit(2, Side::Sell, 5)),
        record(
            other,
            None,
            2,
            Request::Cancel {
                id: 1,
                symbol: symbol(),
            },
        ),
    ];
    let (out, resting) = run(&log);
    assert_eq!(resting, 1, "anonymous order 2 rests");
    // alice's ack goes to every ingress, for the ingress of `on_10` to pick up.
    assert_eq!(out[0].0, Dest::All);
    assert_eq!(out[0].1.reply.as_ref().unwrap().from, on_10);
    // The cancel: `done` in the canceller's reply, a copy for alice's other sessions.
    let (dest, cancel) = &out[1];
    assert_eq!(*dest, Dest::All);
    let done = ReportKind::Done {
        id: 1,
        reason: DoneReason::Cancelled,
        leaves: 100,
    };
    assert_eq!(cancel.reply.as_ref().unwrap().kinds, [done]);
    assert_eq!(
        cancel.notices,
        [WireNotice {
            to: alice,
            except: Some(on_20),
            kind: done
        }]
    );
    assert_eq!(out[2].0, Dest::Ingress(20));
    let refused = out[3].1.reply.as_ref().unwrap();
    assert!(matches!(
        refused.kinds[..],
        [ReportKind::Reject { id: 1, .. }]
    ));
    assert_eq!(out.len(), 4);
    assert_eq!(run(&log), (out, resting));
}

#[test]
fn a_named_resting_order_filled_by_another_account_reaches_every_ingress() {
    let alice = AccountName::new("alice").unwrap().owner();
    let taker = conn(20, 3);
    let log = [
        record(conn(10, 1), Some(alice), 1, limit(1, Side::Sell, 10)),
        record(taker, None, 1, limit(1, Side::Buy, 10)),
    ];
    let (out, _) = run(&log);
    assert_eq!(out.len(), 3);
    assert_eq!(out[1].0, Dest::Ingress(20));
    assert_eq!(out[2].0, Dest::All);
    let kinds: Vec<_> = out[2].1.notices.iter().map(|n| (n.to, n.except)).collect();
    assert_eq!(kinds, [(alice, None), (alice, None)], "fill, then done");
}

#[test]
fn a_request_on_every_book_covers_this_partitions_books() {
    let alice = AccountName::new("alice").unwrap().owner();
    let (a, b) = (conn(10, 1), conn(20, 2));
    let other = Symbol::new("ZETA").unwrap();
    let mut on_other = limit(2, Side::Buy, 3);
    if let Request::Limit { symbol, .. } = &mut on_other {
        *symbol = other;
    }
    let log = [
        record(a, Some(alice), 1, limit(1, Side::Sell, 10)),
        record(a, Some(alice), 2, on_other),
        record(b, Some(alice), 1, Request::Orders { symbol: None }),
        record(b, Some(alice), 2, Request::CancelAll { symbol: None }),
    ];
    let (out, resting) = run(&log);
    assert_eq!(resting, 0);
    let listed = &out[2].1.reply.as_ref().unwrap().kinds;
    assert_eq!(listed.len(), 3);
    assert_eq!(listed[2], ReportKind::OrdersEnd { count: 2 });
    let cancelled = &out[3].1;
    assert_eq!(
        cancelled.reply.as_ref().unwrap().kinds.last(),
        Some(&ReportKind::CancelAllDone { count: 2 })
    );
    assert_eq!(
        cancelled.notices.len(),
        2,
        "a copy of each done for session a"
    );
    assert!(cancelled.notices.iter().all(|n| n.except == Some(b)));
}

#[test]
fn an_account_is_cancelled_when_its_last_session_over_every_ingress_closes() {
    let alice = AccountName::new("alice").unwrap().owner();
    let (a, b) = (conn(10, 1), conn(20, 1));
    let rest = LogEntry::Order(record(a, Some(alice), 1, limit(1, Side::Sell, 5)));
    let opened = |session| LogEntry::Opened {
        session,
        owner: alice,
    };
    let closed = |session| LogEntry::Closed {
        session,
        owner: alice,
    };
    let (_, _, resting) = run_entries(&[opened(a), opened(b), rest, closed(a)]);
    assert_eq!(resting, 1, "the session on ingress 20 is still live");
    let (out, deltas, resting) = run_entries(&[opened(a), opened(b), rest, closed(a), closed(b)]);
    assert_eq!(resting, 0, "the last session closed");
    // The cancel steps the book's sequence, as in one process, for market data.
    let seqs: Vec<u64> = deltas.iter().map(|d| d.seq).collect();
    assert_eq!(seqs, [1, 2]);
    assert_eq!(
        out.len(),
        1,
        "only the order's own reply: nobody is left to tell"
    );
    // Ingress 20 gone: its session counts as closed; its later entries change nothing.
    let gone = LogEntry::IngressGone { ingress: 20 };
    let late = LogEntry::Order(record(b, Some(alice), 2, limit(2, Side::Sell, 5)));
    let (out, _, resting) =
        run_entries(&[opened(a), opened(b), rest, closed(a), gone, late, opened(b)]);
    assert_eq!(resting, 0);
    assert_eq!(out.len(), 1, "the fenced ingress's order is not answered");
}

#[test]
fn an_anonymous_close_cancels_its_orders_one_book_change_each() {
    let (a, b) = (conn(10, 1), conn(10, 2));
    let log = [
        LogEntry::Order(record(a, None, 1, limit(1, Side::Sell, 5))),
        LogEntry::Order(record(a, None, 2, limit(2, Side::Sell, 7))),
        LogEntry::Order(record(b, None, 1, limit(3, Side::Sell, 1))),
        LogEntry::Closed {
            session: a,
            owner: 0,
        },
    ];
    let (out, deltas, resting) = run_entries(&log);
    assert_eq!(resting, 1, "only the other connection's order is left");
    assert_eq!(out.len(), 3, "the close itself is answered to nobody");
    let seqs: Vec<u64> = deltas.iter().map(|d| d.seq).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5], "one step per cancelled order");
}
