//! The matching engine against a deliberately simple reference book
//! (`support/model.rs`): random sequences of every request the engine takes — limit (every
//! `tif`), market, cancel, amend, orders and cancel_all (with and without a symbol), each
//! new order with a random `stp` — over a few symbols and accounts must give the same
//! outcomes, the same report stream (audience and content), report for report, and the
//! same resting books after every step.
//!
//! Market data too: the engine's `BookDelta`s (sequence, changed level totals, trades) must
//! equal the model's, which it finds by comparing each book before and after; `cancel_all`
//! also runs as a disconnect (`cancel_all_each`, one delta per order); applying every delta
//! to an empty `market::Depth` per symbol must give the engine's aggregated book at its
//! sequence after every step, restores included; and plain `submit` must report and number
//! alike.

#[path = "support/model.rs"]
mod model;

use std::collections::BTreeMap;

use model::Model;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use sedaflow_stages::market::{BookDelta, Depth};
use sedaflow_stages::matching::{
    Book, Engine, OrderId, Owner, Price, Qty, Request, Side, Stp, Symbol, Tif,
};

/// How an op picks its id, resolved against the account's floor and the ids seen so far
/// so that accepted, duplicate, not increasing and unknown ids all occur.
#[derive(Clone, Copy, Debug)]
enum IdChoice {
    Fresh(u64),
    Stale(u64),
    Seen(usize),
}

/// Which books a symbol-less request may name: one of the two, or every book.
#[derive(Clone, Copy, Debug)]
enum Books {
    One(usize),
    All,
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
        stp: Stp,
    },
    Market {
        owner: Owner,
        book: usize,
        id: IdChoice,
        side: Side,
        qty: Qty,
        stp: Stp,
    },
    Cancel {
        owner: Owner,
        book: usize,
        id: IdChoice,
    },
    Amend {
        owner: Owner,
        book: usize,
        id: IdChoice,
        qty: Option<Qty>,
        ticks: Option<u64>,
    },
    Orders {
        owner: Owner,
        books: Books,
    },
    CancelAll {
        owner: Owner,
        books: Books,
        /// As cancel on disconnect: one sequence step per order.
        each: bool,
    },
}

fn id_choice() -> impl Strategy<Value = IdChoice> {
    prop_oneof![
        6 => (1u64..4).prop_map(IdChoice::Fresh),
        1 => (0u64..3).prop_map(IdChoice::Stale),
        3 => any::<usize>().prop_map(IdChoice::Seen),
    ]
}

fn side() -> impl Strategy<Value = Side> {
    prop_oneof![Just(Side::Buy), Just(Side::Sell)]
}

fn stp() -> impl Strategy<Value = Stp> {
    prop_oneof![
        4 => Just(Stp::None),
        1 => Just(Stp::CancelTaker),
        1 => Just(Stp::CancelMaker),
        1 => Just(Stp::CancelBoth),
    ]
}

fn tif() -> impl Strategy<Value = Tif> {
    prop_oneof![
        8 => Just(Tif::Gtc),
        2 => Just(Tif::Ioc),
        2 => Just(Tif::Fok),
        2 => Just(Tif::Post),
    ]
}

fn books() -> impl Strategy<Value = Books> {
    prop_oneof![(0usize..2).prop_map(Books::One), Just(Books::All)]
}

fn op() -> impl Strategy<Value = Op> {
    // Three accounts, so an account often meets its own orders.
    let owner = 1u64..4;
    let book = 0usize..2;
    let ticks = 96u64..105;
    prop_oneof![
        8 => (owner.clone(), book.clone(), id_choice(), side(), ticks.clone(), 1u64..20, tif(), stp())
            .prop_map(|(owner, book, id, side, ticks, qty, tif, stp)| {
                Op::Limit { owner, book, id, side, ticks, qty, tif, stp }
            }),
        1 => (owner.clone(), book.clone(), id_choice(), side(), 1u64..40, stp())
            .prop_map(|(owner, book, id, side, qty, stp)| {
                Op::Market { owner, book, id, side, qty, stp }
            }),
        2 => (owner.clone(), book.clone(), id_choice())
            .prop_map(|(owner, book, id)| Op::Cancel { owner, book, id }),
        3 => (owner.clone(), book, id_choice(), proptest::option::weighted(0.7, 1u64..20),
              proptest::option::weighted(0.6, ticks))
            .prop_map(|(owner, book, id, qty, ticks)| Op::Amend { owner, book, id, qty, ticks }),
        1 => (owner.clone(), books()).prop_map(|(owner, books)| Op::Orders { owner, books }),
        1 => (owner, books(), any::<bool>())
            .prop_map(|(owner, books, each)| Op::CancelAll { owner, books, each }),
    ]
}

fn price(ticks: u64) -> Price {
    Price::from_ticks(ticks * 2_500).expect("test prices are valid")
}

/// The request `op` stands for, with `id` resolved.
fn request(op: Op, id: OrderId, symbols: &[Symbol; 2]) -> Request {
    let books = |books| match books {
        Books::One(book) => Some(symbols[book]),
        Books::All => None,
    };
    match op {
        Op::Limit {
            book,
            side,
            ticks,
            qty,
            tif,
            stp,
            ..
        } => Request::Limit {
            id,
            symbol: symbols[book],
            side,
            price: price(ticks),
            qty,
            tif,
            stp,
        },
        Op::Market {
            book,
            side,
            qty,
            stp,
            ..
        } => Request::Market {
            id,
            symbol: symbols[book],
            side,
            qty,
            stp,
        },
        Op::Cancel { book, .. } => Request::Cancel {
            id,
            symbol: symbols[book],
        },
        Op::Amend {
            book, qty, ticks, ..
        } => Request::Amend {
            id,
            symbol: symbols[book],
            qty,
            price: ticks.map(price),
        },
        Op::Orders { books: b, .. } => Request::Orders { symbol: books(b) },
        Op::CancelAll { books: b, .. } => Request::CancelAll { symbol: books(b) },
    }
}

/// The engine rebuilt from its books' resting lists, as recovery does.
fn restored(engine: &Engine) -> Engine {
    let mut restored = Engine::new();
    for book in engine.books() {
        let rebuilt = Book::restore(book.symbol(), book.last_match(), book.seq(), book.resting());
        restored.insert_book(rebuilt.expect("a book's own list restores"));
    }
    restored
}

/// Runs `ops` through both implementations, comparing every step; every `restore_every`
/// steps the engine is swapped for one restored from its books, which must carry on alike.
fn run(ops: &[Op], restore_every: usize) -> Result<(), TestCaseError> {
    let symbols = [Symbol::new("AAA").unwrap(), Symbol::new("B.B").unwrap()];
    let mut engine = Engine::new();
    // The same requests through plain `submit`, never restored.
    let mut plain = Engine::new();
    let mut model = Model::default();
    let mut depths: BTreeMap<Symbol, Depth> = BTreeMap::new();
    let mut floors: BTreeMap<Owner, OrderId> = BTreeMap::new();
    let mut seen: Vec<OrderId> = Vec::new();
    let (mut got, mut want) = (Vec::new(), Vec::new());
    for (step, &op) in ops.iter().enumerate() {
        if step % restore_every == restore_every - 1 {
            engine = restored(&engine);
        }
        let (owner, choice) = match op {
            Op::Limit { owner, id, .. }
            | Op::Market { owner, id, .. }
            | Op::Cancel { owner, id, .. }
            | Op::Amend { owner, id, .. } => (owner, Some(id)),
            Op::Orders { owner, .. } | Op::CancelAll { owner, .. } => (owner, None),
        };
        let floor = floors.get(&owner).copied().unwrap_or(0);
        let id = match choice {
            Some(IdChoice::Fresh(step)) => floor + step,
            Some(IdChoice::Stale(back)) => floor.saturating_sub(back).max(1),
            Some(IdChoice::Seen(index)) if !seen.is_empty() => seen[index % seen.len()],
            _ => 1,
        };
        seen.push(id);
        let req = request(op, id, &symbols);
        got.clear();
        want.clear();
        let (mut got_deltas, mut want_deltas) = (Vec::new(), Vec::new());
        let mut plain_out = Vec::new();
        let (outcome, expected, plain_outcome) = match (op, req) {
            (Op::CancelAll { each: true, .. }, Request::CancelAll { symbol }) => (
                engine.cancel_all_each(owner, symbol, &mut got, &mut got_deltas),
                model.cancel_all_each(owner, symbol, &mut want, &mut want_deltas),
                plain.cancel_all_each(owner, symbol, &mut plain_out, &mut Vec::new()),
            ),
            _ => (
                engine.submit_with_deltas(owner, &req, floor, &mut got, &mut got_deltas),
                model.submit_with_deltas(owner, &req, floor, &mut want, &mut want_deltas),
                plain.submit(owner, &req, floor, &mut plain_out),
            ),
        };
        prop_assert_eq!(outcome, expected, "outcome of {:?} from {}", req, owner);
        prop_assert_eq!(&got, &want, "reports of {:?} from {}", req, owner);
        prop_assert_eq!(plain_outcome, outcome);
        prop_assert_eq!(&plain_out, &got, "plain reports of {:?}", req);
        prop_assert_eq!(
            &got_deltas,
            &want_deltas,
            "deltas of {:?} from {}",
            req,
            owner
        );
        check_depths(&engine, &plain, &mut depths, &got_deltas)?;
        if outcome.is_accepted() {
            floors.insert(owner, id);
        }
        let books: BTreeMap<Symbol, Vec<_>> = engine
            .books()
            .map(|book| (book.symbol(), book.resting().collect::<Vec<_>>()))
            .filter(|(_, orders)| !orders.is_empty())
            .collect();
        prop_assert_eq!(books, model.resting(), "books after {:?}", req);
        prop_assert!(engine
            .books()
            .all(|book| !book.is_empty() || book.seq() > 0));
        for symbol in symbols {
            let seq = engine.book(symbol).map_or(0, Book::seq);
            prop_assert_eq!(seq, model.seq(symbol), "seq of {}", symbol);
        }
    }
    Ok(())
}

/// Applies `deltas` to the per-symbol depths, which must then show every book of `engine`
/// aggregated per level at the book's sequence, and `plain` must have the same sequences.
fn check_depths(
    engine: &Engine,
    plain: &Engine,
    depths: &mut BTreeMap<Symbol, Depth>,
    deltas: &[BookDelta],
) -> Result<(), TestCaseError> {
    for delta in deltas {
        let depth = depths.entry(delta.symbol).or_default();
        let applied = depth.apply(delta.seq, &delta.levels);
        prop_assert!(applied.is_ok(), "{:?}: {:?}", delta, applied);
    }
    for book in engine.books() {
        let mut bids: BTreeMap<Price, Qty> = BTreeMap::new();
        let mut asks: BTreeMap<Price, Qty> = BTreeMap::new();
        for o in book.resting() {
            let side = if o.side == Side::Buy {
                &mut bids
            } else {
                &mut asks
            };
            *side.entry(o.price).or_default() += o.leaves;
        }
        let depth = depths.get(&book.symbol()).cloned().unwrap_or_default();
        prop_assert_eq!(depth.seq(), book.seq());
        prop_assert_eq!(
            depth.bids().collect::<Vec<_>>(),
            bids.into_iter().rev().collect::<Vec<_>>()
        );
        prop_assert_eq!(
            depth.asks().collect::<Vec<_>>(),
            asks.into_iter().collect::<Vec<_>>()
        );
        let plain_seq = plain.book(book.symbol()).map(Book::seq);
        prop_assert_eq!(
            plain_seq,
            Some(book.seq()),
            "plain seq of {}",
            book.symbol()
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn engine_agrees_with_the_reference_book(ops in proptest::collection::vec(op(), 1..300)) {
        run(&ops, 100)?;
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
    run(&ops, 5_000).unwrap();
}
