use std::collections::VecDeque;

use super::answer::Answer;
use super::error::ProtocolViolation;
use super::mix::Planned;
use super::resting::RestingSet;
use super::rng::Rng;
use sedaflow_stages::matching::{OrderId, Request};

/// What an outstanding request is waiting for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PendingKind {
    /// A new order: answered by `ack` or `reject`; `rests` for a `gtc` limit, which is a
    /// cancel candidate once acked.
    Order { rests: bool, symbol: usize },
    /// A cancel: answered by `done`/`cancelled` or `reject`.
    Cancel,
    /// An amend: answered by `amended` or `reject` (`unknown order` when the order left the
    /// book meanwhile).
    Amend,
}

/// One request sent and not yet answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Pending {
    pub(crate) id: OrderId,
    pub(crate) kind: PendingKind,
    /// When it was meant to be sent, in nanoseconds since the run's start: latency counts
    /// from here, even when the sender fell behind.
    pub(crate) intended_ns: u64,
    /// Sent after the warm-up, so it counts in the summary.
    pub(crate) measured: bool,
}

/// How an answer completed its request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome<'a> {
    Acked,
    Cancelled,
    Amended,
    Rejected(&'a str),
}

/// What one response meant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Event<'a> {
    /// The answer to the oldest outstanding request.
    Answered {
        pending: Pending,
        outcome: Outcome<'a>,
    },
    /// A trade of one of this connection's orders.
    Fill,
    /// One of this connection's orders left the book (not an answer).
    Left,
    Pong,
    Error(&'a str),
}

/// One connection's outstanding requests, in send order, and its orders known to rest.
///
/// The protocol answers the requests of a connection in the order they were sent, exactly
/// once each, so the oldest outstanding request is the only one an answer may complete.
#[derive(Debug)]
pub(crate) struct Tracker {
    inflight: VecDeque<Pending>,
    resting: RestingSet,
    rng: Rng,
}

impl Tracker {
    pub(crate) fn new(seed: u64) -> Tracker {
        Tracker {
            inflight: VecDeque::new(),
            resting: RestingSet::default(),
            rng: Rng::new(seed),
        }
    }

    /// The cancel candidates, for the order mix to draw from.
    pub(crate) fn resting(&mut self) -> &mut RestingSet {
        &mut self.resting
    }

    pub(crate) fn outstanding(&self) -> usize {
        self.inflight.len()
    }

    /// Records a request about to be written. Pings are not tracked.
    pub(crate) fn sent(&mut self, planned: &Planned, intended_ns: u64, measured: bool) {
        let kind = match planned.request {
            Request::Limit { tif, .. } => PendingKind::Order {
                rests: tif.rests(),
                symbol: planned.symbol,
            },
            Request::Market { .. } => PendingKind::Order {
                rests: false,
                symbol: planned.symbol,
            },
            Request::Cancel { .. } => PendingKind::Cancel,
            Request::Amend { .. } => PendingKind::Amend,
            _ => return,
        };
        if let Some(id) = planned.request.id() {
            self.inflight.push_back(Pending {
                id,
                kind,
                intended_ns,
                measured,
            });
        }
    }

    /// Matches one response against the outstanding requests.
    ///
    /// # Errors
    ///
    /// A [`ProtocolViolation`] when an `ack` or `reject` does not answer the oldest
    /// outstanding request (or answers a cancel with `ack`).
    pub(crate) fn on_answer<'a>(
        &mut self,
        answer: Answer<'a>,
    ) -> Result<Event<'a>, ProtocolViolation> {
        let front = self.inflight.front().copied();
        let unexpected = |got| ProtocolViolation::UnexpectedAnswer {
            got,
            expected: front.map(|pending| pending.id),
        };
        Ok(match answer {
            Answer::Ack { id } => match front {
                Some(
                    pending @ Pending {
                        kind: PendingKind::Order { rests, symbol },
                        ..
                    },
                ) if pending.id == id => {
                    self.inflight.pop_front();
                    if rests {
                        self.resting.insert(id, symbol, &mut self.rng);
                    }
                    Event::Answered {
                        pending,
                        outcome: Outcome::Acked,
                    }
                }
                Some(pending) if pending.id == id => {
                    return Err(ProtocolViolation::AckForCancel(id));
                }
                _ => return Err(unexpected(id)),
            },
            Answer::Amended { id } => match front {
                Some(
                    pending @ Pending {
                        kind: PendingKind::Amend,
                        ..
                    },
                ) if pending.id == id => {
                    self.inflight.pop_front();
                    Event::Answered {
                        pending,
                        outcome: Outcome::Amended,
                    }
                }
                _ => return Err(unexpected(id)),
            },
            Answer::Reject { id, reason } => match front {
                Some(pending) if pending.id == id => {
                    self.inflight.pop_front();
                    Event::Answered {
                        pending,
                        outcome: Outcome::Rejected(reason),
                    }
                }
                _ => return Err(unexpected(id)),
            },
            Answer::Done { id, reason } => {
                self.resting.remove(id);
                match front {
                    Some(
                        pending @ Pending {
                            kind: PendingKind::Cancel,
                            ..
                        },
                    ) if pending.id == id && reason == "cancelled" => {
                        self.inflight.pop_front();
                        Event::Answered {
                            pending,
                            outcome: Outcome::Cancelled,
                        }
                    }
                    _ => Event::Left,
                }
            }
            Answer::Fill { .. } => Event::Fill,
            Answer::Pong => Event::Pong,
            Answer::Error { reason } => Event::Error(reason),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sedaflow_stages::matching::{Price, Side, Symbol, Tif};

    fn symbol() -> Symbol {
        Symbol::new("SYM0").unwrap()
    }

    fn limit(id: OrderId, tif: Tif) -> Planned {
        Planned {
            request: Request::Limit {
                id,
                symbol: symbol(),
                side: Side::Buy,
                price: Price::parse("100").unwrap(),
                qty: 1,
                tif,
                stp: Default::default(),
            },
            symbol: 0,
        }
    }

    fn cancel(id: OrderId) -> Planned {
        Planned {
            request: Request::Cancel {
                id,
                symbol: symbol(),
            },
            symbol: 0,
        }
    }

    fn answered(event: Event<'_>) -> (OrderId, u64, Outcome<'_>) {
        match event {
            Event::Answered { pending, outcome } => (pending.id, pending.intended_ns, outcome),
            other => panic!("not an answer: {other:?}"),
        }
    }

    #[test]
    fn answers_complete_requests_in_order() {
        let mut tracker = Tracker::new(1);
        tracker.sent(&limit(1, Tif::Gtc), 10, true);
        tracker.sent(&limit(2, Tif::Ioc), 20, true);
        tracker.sent(&cancel(1), 30, false);
        tracker.sent(&cancel(7), 40, true);
        tracker.sent(
            &Planned {
                request: Request::Ping,
                symbol: 0,
            },
            45,
            true,
        );
        assert_eq!(tracker.outstanding(), 4);

        let ack = tracker.on_answer(Answer::Ack { id: 1 }).unwrap();
        assert_eq!(answered(ack), (1, 10, Outcome::Acked));
        assert_eq!(tracker.resting().len(), 1);
        let ack = tracker.on_answer(Answer::Ack { id: 2 }).unwrap();
        assert_eq!(answered(ack), (2, 20, Outcome::Acked));
        // The ioc order does not rest; its expiry is no answer.
        assert_eq!(tracker.resting().len(), 1);
        let expired = Answer::Done {
            id: 2,
            reason: "expired",
        };
        assert_eq!(tracker.on_answer(expired), Ok(Event::Left));
        assert_eq!(tracker.on_answer(Answer::Fill { id: 1 }), Ok(Event::Fill));
        let cancelled = Answer::Done {
            id: 1,
            reason: "cancelled",
        };
        let done = tracker.on_answer(cancelled).unwrap();
        assert_eq!(answered(done), (1, 30, Outcome::Cancelled));
        assert_eq!(tracker.resting().len(), 0);
        let reject = Answer::Reject {
            id: 7,
            reason: "unknown order",
        };
        let rejected = tracker.on_answer(reject).unwrap();
        assert_eq!(
            answered(rejected),
            (7, 40, Outcome::Rejected("unknown order"))
        );
        assert_eq!(tracker.outstanding(), 0);
        assert_eq!(tracker.on_answer(Answer::Pong), Ok(Event::Pong));
    }

    #[test]
    fn a_filled_order_is_no_answer_to_its_cancel() {
        let mut tracker = Tracker::new(1);
        tracker.sent(&limit(3, Tif::Gtc), 0, true);
        let _ = tracker.on_answer(Answer::Ack { id: 3 }).unwrap();
        tracker.sent(&cancel(3), 0, true);
        let filled = Answer::Done {
            id: 3,
            reason: "filled",
        };
        assert_eq!(tracker.on_answer(filled), Ok(Event::Left));
        assert_eq!(tracker.resting().len(), 0);
        assert_eq!(tracker.outstanding(), 1);
        let reject = Answer::Reject {
            id: 3,
            reason: "unknown order",
        };
        assert!(matches!(
            tracker.on_answer(reject),
            Ok(Event::Answered { .. })
        ));
    }

    #[test]
    fn out_of_order_or_unknown_answers_are_violations() {
        let mut tracker = Tracker::new(1);
        assert_eq!(
            tracker.on_answer(Answer::Ack { id: 9 }),
            Err(ProtocolViolation::UnexpectedAnswer {
                got: 9,
                expected: None
            })
        );
        tracker.sent(&limit(1, Tif::Gtc), 0, true);
        tracker.sent(&limit(2, Tif::Gtc), 0, true);
        assert_eq!(
            tracker.on_answer(Answer::Reject {
                id: 2,
                reason: "overloaded"
            }),
            Err(ProtocolViolation::UnexpectedAnswer {
                got: 2,
                expected: Some(1)
            })
        );
        let _ = tracker.on_answer(Answer::Ack { id: 1 }).unwrap();
        let _ = tracker.on_answer(Answer::Ack { id: 2 }).unwrap();
        tracker.sent(&cancel(2), 0, true);
        assert_eq!(
            tracker.on_answer(Answer::Ack { id: 2 }),
            Err(ProtocolViolation::AckForCancel(2))
        );
        assert_eq!(
            tracker.on_answer(Answer::Error {
                reason: "invalid json"
            }),
            Ok(Event::Error("invalid json"))
        );
    }
}
