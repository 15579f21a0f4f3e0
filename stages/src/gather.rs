//! A request on every book (`orders` or `cancel_all` without a symbol) answered by all of
//! matching's lanes (or, scaled out, every partition): decode sends one part to each, behind
//! its earlier requests, each answers for the books it holds, and the last part to finish
//! merges the answers
//! into one: the reports ascending by id (then symbol), then one end marker with the total.
//! When a lane refused its part (its queue was full, its symbol quarantined), the answer
//! still lists what the other lanes did, then ends with the refusal instead of the marker.

use parking_lot::Mutex;

use crate::matching::{RejectReason, ReportKind};

/// The parts' answers so far.
#[derive(Debug)]
pub(crate) struct Gather {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    left: usize,
    kinds: Vec<ReportKind>,
    count: u64,
    /// A `cancel_all`, else an `orders`: which end marker closes the answer.
    cancels: bool,
    refused: Option<RejectReason>,
}

impl Gather {
    /// A gather of `parts` parts (at least one) of a `cancel_all` (`cancels`) or an
    /// `orders`.
    pub(crate) fn new(parts: usize, cancels: bool) -> Gather {
        Gather {
            state: Mutex::new(State {
                left: parts.max(1),
                kinds: Vec::new(),
                count: 0,
                cancels,
                refused: None,
            }),
        }
    }

    /// Adds one lane's answer (its reports then its end marker); returns the whole answer
    /// when this was the last part.
    pub(crate) fn add(&self, answer: &[ReportKind]) -> Option<Merged> {
        let mut s = self.state.lock();
        for kind in answer {
            match *kind {
                ReportKind::OrdersEnd { count } | ReportKind::CancelAllDone { count } => {
                    s.count += count;
                }
                other => s.kinds.push(other),
            }
        }
        s.finish()
    }

    /// One part was refused (overload, an unavailable symbol); returns the whole answer when
    /// this was the last part.
    pub(crate) fn refused(&self, reason: RejectReason) -> Option<Merged> {
        let mut s = self.state.lock();
        s.refused.get_or_insert(reason);
        s.finish()
    }
}

/// The merged answer of all parts.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Merged {
    /// The reports, ascending by id, ending with the end marker unless `refused`.
    pub(crate) kinds: Vec<ReportKind>,
    /// The first part's refusal, which then ends the answer.
    pub(crate) refused: Option<RejectReason>,
}

impl State {
    fn finish(&mut self) -> Option<Merged> {
        self.left -= 1;
        if self.left > 0 {
            return None;
        }
        let mut kinds = std::mem::take(&mut self.kinds);
        kinds.sort_by(|a, b| sort_key(a).cmp(&sort_key(b)));
        let count = self.count;
        if self.refused.is_none() {
            kinds.push(match self.cancels {
                true => ReportKind::CancelAllDone { count },
                false => ReportKind::OrdersEnd { count },
            });
        }
        Some(Merged {
            kinds,
            refused: self.refused,
        })
    }
}

fn sort_key(kind: &ReportKind) -> (u64, &str) {
    match kind {
        ReportKind::Order { id, symbol, .. } => (*id, symbol.as_str()),
        ReportKind::Done { id, .. } => (*id, ""),
        _ => (0, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::{DoneReason, Price, Side, Symbol, Tif};

    fn order(id: u64, symbol: &str) -> ReportKind {
        ReportKind::Order {
            id,
            symbol: Symbol::new(symbol).unwrap(),
            side: Side::Buy,
            price: Price::from_ticks(10_000).unwrap(),
            leaves: 1,
            tif: Tif::Gtc,
        }
    }

    fn done(id: u64) -> ReportKind {
        ReportKind::Done {
            id,
            reason: DoneReason::Cancelled,
            leaves: 1,
        }
    }

    #[test]
    fn the_last_part_merges_by_id_and_totals_the_count() {
        let g = Gather::new(3, false);
        assert_eq!(
            g.add(&[
                order(5, "B"),
                order(9, "B"),
                ReportKind::OrdersEnd { count: 2 }
            ]),
            None
        );
        assert_eq!(g.add(&[ReportKind::OrdersEnd { count: 0 }]), None);
        let merged = g.add(&[
            order(7, "A"),
            order(5, "A"),
            ReportKind::OrdersEnd { count: 2 },
        ]);
        let expected = vec![
            order(5, "A"),
            order(5, "B"),
            order(7, "A"),
            order(9, "B"),
            ReportKind::OrdersEnd { count: 4 },
        ];
        assert_eq!(
            merged,
            Some(Merged {
                kinds: expected,
                refused: None
            })
        );
    }

    #[test]
    fn cancel_all_keeps_its_marker() {
        let g = Gather::new(3, true);
        assert_eq!(g.add(&[]), None, "a lane without books answers nothing");
        assert_eq!(
            g.add(&[done(3), ReportKind::CancelAllDone { count: 1 }]),
            None
        );
        let merged = g
            .add(&[done(1), ReportKind::CancelAllDone { count: 1 }])
            .unwrap();
        assert_eq!(
            merged.kinds,
            [done(1), done(3), ReportKind::CancelAllDone { count: 2 }]
        );
    }

    #[test]
    fn a_refused_part_ends_the_answer_with_its_reason() {
        let g = Gather::new(2, true);
        assert_eq!(g.refused(RejectReason::Overloaded), None);
        let merged = g
            .add(&[done(1), ReportKind::CancelAllDone { count: 1 }])
            .unwrap();
        assert_eq!(merged.kinds, [done(1)]);
        assert_eq!(merged.refused, Some(RejectReason::Overloaded));
    }
}
