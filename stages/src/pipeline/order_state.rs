//! An account's order state: the one home of PROTOCOL.md's id rule ("an order's id must be
//! above every id this account has had accepted before, over all its sessions").
//!
//! # The rule across threads
//! Decode is keyed by account and matching by symbol, so an account's earlier orders may
//! still be in flight on other symbols' lanes when a later one is decoded. The cheap case
//! needs no wait: an id above every id the account *sent* is above every id it had
//! *accepted*. Otherwise the answer depends on whether the in-flight orders are accepted, so
//! the account **stalls**: decode holds its frames here (from any of its sessions, in order)
//! until the last in-flight order settles, then one of its sessions' tasks republishes
//! [`DecodeIn::Resume`] and decode takes the held frames back, with the accepted maximum as
//! the order's floor.
//!
//! Who writes what: only the account's decode lane writes `max_sent` and `held`; matching
//! (or an ingress's router) writes `max_accepted` and settles `in_flight`.

use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::sync::atomic::{AtomicBool, AtomicU64};

use parking_lot::Mutex;
use tokio::sync::futures::Notified;
use tokio::sync::Notify;

use super::events::DecodeIn;
use crate::matching::{OrderId, Request};

/// One account's id-rule state, shared by its sessions, its decode lane and the stages that
/// settle its orders.
#[derive(Debug, Default)]
pub(crate) struct OrderState {
    max_sent: AtomicU64,
    max_accepted: AtomicU64,
    in_flight: AtomicU64,
    stalled: AtomicBool,
    held: Mutex<Vec<DecodeIn>>,
    /// Signalled when a stalled connection's last in-flight order settled.
    settled: Notify,
}

/// What decode does with a request, by the id rule.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Admit {
    /// On to matching; orders with an id at or below `floor` are `id not increasing` (0: no
    /// constraint left).
    Pass { floor: OrderId },
    /// Earlier orders are still in flight: hold the frame ([`OrderState::hold`]) until they
    /// settle.
    Stall,
}

impl OrderState {
    /// The state of an account whose highest accepted id is `floor` (recovered from a
    /// journal; 0 for none).
    pub(crate) fn starting_at(floor: OrderId) -> OrderState {
        OrderState {
            max_sent: AtomicU64::new(floor),
            max_accepted: AtomicU64::new(floor),
            ..OrderState::default()
        }
    }

    /// Decides `req`'s way and, when it passes, counts it in flight.
    pub(crate) fn admit(&self, req: &Request) -> Admit {
        let floor = match *req {
            Request::Limit { id, .. } | Request::Market { id, .. } => {
                if id > self.max_sent.load(Relaxed) {
                    0
                } else {
                    // Stall, then look again: a settling order either sees the flag and wakes
                    // the connection, or settled before we set it and we see zero in flight.
                    self.stalled.store(true, SeqCst);
                    if self.in_flight.load(SeqCst) > 0 {
                        return Admit::Stall;
                    }
                    self.stalled.store(false, SeqCst);
                    self.max_accepted.load(SeqCst)
                }
            }
            _ => 0,
        };
        if let Request::Limit { id, .. } | Request::Market { id, .. } = *req {
            // Its one writer, the account's decode lane, is the one reader too: a plain store.
            if id > self.max_sent.load(Relaxed) {
                self.max_sent.store(id, Relaxed);
            }
        }
        self.in_flight.fetch_add(1, SeqCst);
        Admit::Pass { floor }
    }

    /// Matching accepted order `id`.
    pub(crate) fn accepted(&self, id: OrderId) {
        self.max_accepted.fetch_max(id, SeqCst);
    }

    /// One of the connection's orders left matching (answered, refused or rejected); wakes a
    /// stalled connection when it was the last (through the connection's task, never by
    /// blocking on decode's queue).
    pub(crate) fn settle(&self) {
        self.settle_many(1);
    }

    /// `n` of its orders left matching, as `n` [`settle`](Self::settle)s.
    pub(crate) fn settle_many(&self, n: u64) {
        if self.in_flight.fetch_sub(n, SeqCst) == n && self.stalled.load(SeqCst) {
            self.settled.notify_one();
        }
    }

    /// Waits until a stall is over ([`settle`](Self::settle) woke it).
    pub(crate) fn settled(&self) -> Notified<'_> {
        self.settled.notified()
    }

    pub(crate) fn is_stalled(&self) -> bool {
        self.stalled.load(SeqCst)
    }

    /// Keeps a frame of a stalled connection, behind those already held.
    pub(crate) fn hold(&self, frame: DecodeIn) {
        self.held.lock().push(frame);
    }

    /// Ends the stall and hands back the held frames, oldest first.
    pub(crate) fn resume(&self) -> Vec<DecodeIn> {
        self.stalled.store(false, SeqCst);
        std::mem::take(&mut *self.held.lock())
    }

    /// Holds `rest` again, in order, after a held frame stalled the connection anew.
    pub(crate) fn hold_all(&self, rest: impl IntoIterator<Item = DecodeIn>) {
        self.held.lock().extend(rest);
    }
}

#[cfg(test)]
pub(super) mod tests {
    use futures_util::FutureExt;

    use super::*;
    use crate::matching::{Side, Symbol};

    /// A market order with id `id`.
    pub(in crate::pipeline) fn order(id: OrderId) -> Request {
        Request::Market {
            id,
            symbol: Symbol::new("AAPL").expect("valid symbol"),
            side: Side::Buy,
            qty: 1,
            stp: Default::default(),
        }
    }

    #[test]
    fn an_id_above_every_id_sent_passes_without_a_floor() {
        let s = OrderState::default();
        assert_eq!(s.admit(&order(5)), Admit::Pass { floor: 0 });
        assert_eq!(s.admit(&order(6)), Admit::Pass { floor: 0 });
    }

    #[test]
    fn a_lower_id_stalls_while_earlier_orders_are_in_flight() {
        let s = OrderState::default();
        assert_eq!(s.admit(&order(5)), Admit::Pass { floor: 0 });
        assert_eq!(s.admit(&order(3)), Admit::Stall);
        assert!(s.is_stalled());
    }

    #[test]
    fn once_settled_a_lower_id_gets_the_accepted_maximum_as_floor() {
        let s = OrderState::default();
        s.admit(&order(5));
        s.admit(&order(7));
        s.accepted(5);
        s.settle();
        s.settle();
        assert_eq!(s.admit(&order(6)), Admit::Pass { floor: 5 });
        assert!(!s.is_stalled());
    }

    #[test]
    fn only_the_last_settle_of_a_stalled_connection_wakes_it() {
        let s = OrderState::default();
        s.admit(&order(5));
        s.admit(&order(6));
        s.settle();
        assert!(s.settled().now_or_never().is_none(), "not stalled: no wake");
        s.admit(&order(7));
        assert_eq!(s.admit(&order(1)), Admit::Stall);
        s.settle();
        assert!(s.settled().now_or_never().is_none(), "one still in flight");
        s.settle();
        assert!(s.settled().now_or_never().is_some());
    }

    #[test]
    fn a_recovered_floor_bounds_the_first_order() {
        let s = OrderState::starting_at(9);
        assert_eq!(s.admit(&order(4)), Admit::Pass { floor: 9 });
        assert_eq!(s.admit(&order(10)), Admit::Pass { floor: 0 });
    }

    #[test]
    fn resume_ends_the_stall() {
        let s = OrderState::default();
        s.admit(&order(5));
        assert_eq!(s.admit(&order(1)), Admit::Stall);
        assert!(s.resume().is_empty());
        assert!(!s.is_stalled());
    }
}
