//! The matching engine against a deliberately simple reference book: random sequences of
//! limit (every `tif`), market and cancel requests over a few symbols and connections must
//! give the same outcomes and the same report stream, report for report.

use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use sedaflow_stages::matching::{
    DoneReason, Engine, OrderId, Outcome, Owner, Price, Qty, RejectReason, Report, ReportKind,
    Request, Side, Symbol, Tif, To,
};

/// A resting order in the reference book.
#[derive(Clone, Copy, Debug)]
struct Resting {
    id: OrderId,
    owner: Owner,
    side: Side,
    price: Price,
    leaves: Qty,
    arrival: u64,
}

/// One symbol's book as a plain list, searched in full for every trade.
#[derive(Default)]
struct ModelBook {
    resting: Vec<Resting>,
    arrivals: u64,
    matches: u64,
}

#[derive(Default)]
struct Model {
    books: BTreeMap<Symbol, ModelBook>,
}

impl Model {
    fn submit(
        &mut self,
        owner: Owner,
        req: &Request,
        floor: OrderId,
        out: &mut Vec<Report>,
    ) -> Outcome {
        let Some(symbol) = req.symbol() else {
            return Outcome::Ignored;
        };
        let book = self.books.entry(symbol).or_default();
        let report = |out: &mut Vec<Report>, to, kind| out.push(Report { to, kind });
        let (id, side, qty, limit, tif) = match *req {
            Request::Limit {
                id,
                side,
                price,
                qty,
                tif,
                ..
            } => (id, side, qty, Some(price), tif),
            Request::Market { id, side, qty, .. } => (id, side, qty, None, Tif::Ioc),
            Request::Cancel { id, .. } => {
                let mine = |o: &Resting| o.id == id && o.owner == owner;
                let Some(position) = book.resting.iter().position(mine) else {
                    let reason = RejectReason::UnknownOrder;
                    report(out, To::Sender, ReportKind::Reject { id, reason });
                    return Outcome::Rejected;
                };
                let order = book.resting.remove(position);
                let done = ReportKind::Done {
                    id,
                    reason: DoneReason::Cancelled,
                    leaves: order.leaves,
                };
                report(out, To::Owner(owner), done);
                return Outcome::Cancelled;
            }
            _ => return Outcome::Ignored,
        };
        let crosses = |o: &Resting| {
            o.side != side
                && match (side, limit) {
                    (_, None) => true,
                    (Side::Buy, Some(limit)) => o.price <= limit,
                    (Side::Sell, Some(limit)) => o.price >= limit,
                }
        };
        let crossing: Qty = book
            .resting
            .iter()
            .filter(|o| crosses(o))
            .map(|o| o.leaves)
            .sum();
        let refusal = if book.resting.iter().any(|o| o.id == id) {
            Some(RejectReason::DuplicateId)
        } else if id <= floor {
            Some(RejectReason::IdNotIncreasing)
        } else if tif == Tif::Post && crossing > 0 {
            Some(RejectReason::WouldCross)
        } else {
            None
        };
        if let Some(reason) = refusal {
            report(out, To::Sender, ReportKind::Reject { id, reason });
            return Outcome::Rejected;
        }
        report(out, To::Sender, ReportKind::Ack { id });
        if tif == Tif::Fok && crossing < qty {
            let leaves = qty;
            let reason = DoneReason::Expired;
            report(out, To::Sender, ReportKind::Done { id, reason, leaves });
            return Outcome::Accepted;
        }
        let mut leaves = qty;
        while leaves > 0 {
            // Best price for the aggressor, then earliest arrival.
            let best = book
                .resting
                .iter()
                .enumerate()
                .filter(|(_, o)| crosses(o))
                .min_by_key(|(_, o)| {
                    let price = o.price.ticks() as i64;
                    (if side == Side::Buy { price } else { -price }, o.arrival)
                })
                .map(|(position, _)| position);
            let Some(position) = best else { break };
            let resting = &mut book.resting[position];
            let traded = leaves.min(resting.leaves);
            leaves -= traded;
            resting.leaves -= traded;
            book.matches += 1;
            let fill = |id, side, leaves| ReportKind::Fill {
                id,
                symbol,
                side,
                price: resting.price,
                qty: traded,
                leaves,
                match_id: book.matches,
            };
            report(out, To::Sender, fill(id, side, leaves));
            report(
                out,
                To::Owner(resting.owner),
                fill(resting.id, resting.side, resting.leaves),
            );
            if resting.leaves == 0 {
                let done = ReportKind::Done {
                    id: resting.id,
                    reason: DoneReason::Filled,
                    leaves: 0,
                };
                report(out, To::Owner(resting.owner), done);
                book.resting.remove(position);
            }
        }
        if leaves == 0 {
            report(
                out,
                To::Sender,
                ReportKind::Done {
                    id,
                    reason: DoneReason::Filled,
                    leaves: 0,
                },
            );
        } else if let (Some(price), Tif::Gtc | Tif::Post) = (limit, tif) {
            book.arrivals += 1;
            let arrival = book.arrivals;
            book.resting.push(Resting {
                id,
                owner,
                side,
                price,
                leaves,
                arrival,
            });
        } else {
            report(
                out,
                To::Sender,
                ReportKind::Done {
                    id,
                    reason: DoneReason::Expired,
                    leaves,
                },
            );
        }
        Outcome::Accepted
    }

    fn resting(&self) -> usize {
        self.books.values().map(|book| book.resting.len()).sum()
    }
}

/// How an op picks its id, resolved against the connection's floor and the ids seen so far
/// so that accepted, duplicate, not increasing and unknown ids all occur.
#[derive(Clone, Copy, Debug)]
enum IdChoice {
    Fresh(u64),
    Stale(u64),
    Seen(usize),
}

#[derive(Clone, Copy, Debug)]
enum Op {
    Limit {
        owner: Owner,
        book: usize,
        id: IdChoice,
        side: Side,
        ticks: u64,
        qty: Qty,
        tif: Tif,
    },
    Market {
        owner: Owner,
        book: usize,
        id: IdChoice,
        side: Side,
        qty: Qty,
    },
    Cancel {
        owner: Owner,
        book: usize,
        id: IdChoice,
    },
}

fn id_choice() -> impl Strategy<Value = IdChoice> {
    prop_oneof![
        6 => (1u64..4).prop_map(IdChoice::Fresh),
        1 => (0u64..3).prop_map(IdChoice::Stale),
        2 => any::<usize>().prop_map(IdChoice::Seen),
    ]
}

fn side() -> impl Strategy<Value = Side> {
    prop_oneof![Just(Side::Buy), Just(Side::Sell)]
}

fn op() -> impl Strategy<Value = Op> {
    let owner = 1u64..4;
    let book = 0usize..2;
    prop_oneof![
        8 => (owner.clone(), book.clone(), id_choice(), side(), 96u64..105, 1u64..20,
              prop_oneof![
                  8 => Just(Tif::Gtc),
                  2 => Just(Tif::Ioc),
                  1 => Just(Tif::Fok),
                  1 => Just(Tif::Post),
              ])
            .prop_map(|(owner, book, id, side, ticks, qty, tif)| {
                Op::Limit { owner, book, id, side, ticks, qty, tif }
            }),
        1 => (owner.clone(), book.clone(), id_choice(), side(), 1u64..40)
            .prop_map(|(owner, book, id, side, qty)| Op::Market { owner, book, id, side, qty }),
        2 => (owner, book, id_choice())
            .prop_map(|(owner, book, id)| Op::Cancel { owner, book, id }),
    ]
}

/// Runs `ops` through both implementations, comparing every step.
fn run(ops: &[Op]) -> Result<(), TestCaseError> {
    let symbols = [Symbol::new("AAA").unwrap(), Symbol::new("B.B").unwrap()];
    let mut engine = Engine::new();
    let mut model = Model::default();
    let mut floors: BTreeMap<Owner, OrderId> = BTreeMap::new();
    let mut seen: Vec<OrderId> = Vec::new();
    let (mut got, mut want) = (Vec::new(), Vec::new());
    for &op in ops {
        let (owner, choice) = match op {
            Op::Limit { owner, id, .. }
            | Op::Market { owner, id, .. }
            | Op::Cancel { owner, id, .. } => (owner, id),
        };
        let floor = floors.get(&owner).copied().unwrap_or(0);
        let id = match choice {
            IdChoice::Fresh(step) => floor + step,
            IdChoice::Stale(back) => floor.saturating_sub(back).max(1),
            IdChoice::Seen(index) if !seen.is_empty() => seen[index % seen.len()],
            IdChoice::Seen(_) => 1,
        };
        seen.push(id);
        let req = match op {
            Op::Limit {
                book,
                side,
                ticks,
                qty,
                tif,
                ..
            } => Request::Limit {
                id,
                symbol: symbols[book],
                side,
                price: Price::from_ticks(ticks * 2_500).unwrap(),
                qty,
                tif,
                stp: Default::default(),
            },
            Op::Market {
                book, side, qty, ..
            } => Request::Market {
                id,
                symbol: symbols[book],
                side,
                qty,
                stp: Default::default(),
            },
            Op::Cancel { book, .. } => Request::Cancel {
                id,
                symbol: symbols[book],
            },
        };
        got.clear();
        want.clear();
        let outcome = engine.submit(owner, &req, floor, &mut got);
        let expected = model.submit(owner, &req, floor, &mut want);
        prop_assert_eq!(outcome, expected, "outcome of {:?}", req);
        prop_assert_eq!(&got, &want, "reports of {:?} from {}", req, owner);
        if outcome.is_accepted() {
            floors.insert(owner, id);
        }
        prop_assert_eq!(engine.resting(), model.resting());
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn engine_agrees_with_the_reference_book(ops in proptest::collection::vec(op(), 1..300)) {
        run(&ops)?;
    }
}

#[test]
fn long_random_session_agrees() {
    // One long deterministic run, deeper books than the shrinking-friendly cases above.
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let ops = proptest::collection::vec(op(), 20_000)
        .new_tree(&mut runner)
        .unwrap()
        .current();
    run(&ops).unwrap();
}
