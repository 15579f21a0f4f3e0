//! Matching engine throughput on a realistic mix: limit orders around a mid price so that
//! about 45% of them trade, 10% cancels of recent ids, 5% market orders, 16 accounts,
//! and the caller's id-floor bookkeeping, as the matching stage does it.
//!
//! `mixed_*` keep the book a few thousand orders deep; `deep_book` places orders over a
//! wider band, so fewer trade and the book grows to ~80k resting orders per batch.
//! `mixed_tifs` is `mixed_1_symbol` with a tenth of the limits `fok` and a tenth `post`
//! (the same random stream, so the other workloads stay comparable across versions).
//! `amend_stp` is the v2 order-management mix: 4 accounts, so an order often meets its own
//! account's; every `tif`; half the new orders with self-trade prevention (the three modes
//! alike); 10% cancels and 10% amends (new quantity, new price or both) of recent orders,
//! sent by the order's account.
//!
//! `*_deltas` run the same requests through `Engine::submit_with_deltas`, as a matching
//! stage feeding market data does: every request that changes a book also puts its delta
//! in a `Deltas`, handed on (here: cleared) every 64 requests, as a batch of the stage's.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use sedaflow_stages::market::Deltas;
use sedaflow_stages::matching::{
    Engine, OrderId, Outcome, Owner, Price, Report, Request, Side, Stp, Symbol, Tif,
};

/// Requests per measured batch; each batch starts from empty books.
const ORDERS: usize = 200_000;
const OWNERS: usize = 16;
/// Mid price in ticks: 100.0000.
const MID: u64 = 1_000_000;
/// Tick step between price levels: 0.01.
const STEP: u64 = 100;

/// xorshift64*: deterministic and dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Where limit prices fall: a buy goes `below` levels under mid plus `0..width` levels up,
/// a sell mirrors it.
#[derive(Clone, Copy)]
struct Band {
    below: u64,
    width: u64,
}

/// About 45% of the orders trade and the book stays a few thousand orders deep (wider
/// bands pile up, narrower ones empty the book).
const NEAR: Band = Band {
    below: 4,
    width: 10,
};
/// About 20% trade; the book grows by ~0.4 orders per request.
const WIDE: Band = Band {
    below: 12,
    width: 16,
};

/// The `tif` of a limit order, by a roll of `0..10`.
type TifMix = [Tif; 10];

/// One limit in ten is `ioc`.
const IOC: TifMix = {
    let mut mix = [Tif::Gtc; 10];
    mix[0] = Tif::Ioc;
    mix
};
/// One limit in ten each `ioc`, `fok` and `post`.
const EVERY_TIF: TifMix = {
    let mut mix = IOC;
    mix[1] = Tif::Fok;
    mix[2] = Tif::Post;
    mix
};

/// Self-trade prevention of a v2 new order, by a roll of `0..6`: half of them `none`.
const STPS: [Stp; 6] = [
    Stp::None,
    Stp::None,
    Stp::None,
    Stp::CancelTaker,
    Stp::CancelMaker,
    Stp::CancelBoth,
];

/// A workload's shape.
#[derive(Clone, Copy)]
struct Mix {
    band: Band,
    tifs: TifMix,
    /// The v2 order-management mix: 4 accounts, cancels and amends by the order's account,
    /// amends and `stp` (see the module docs). Otherwise the v1 stream: 16 accounts,
    /// cancels from any of them (most are `unknown order` now that only the owner cancels).
    v2: bool,
}

const fn mix(band: Band, tifs: TifMix) -> Mix {
    Mix {
        band,
        tifs,
        v2: false,
    }
}

/// An amend of `id` by its account: a new quantity, a new price a level or two away, or both.
fn amend(rng: &mut Rng, id: OrderId, symbol: Symbol) -> Request {
    let qty = 1 + rng.below(100);
    let ticks = MID - 2 * STEP + rng.below(5) * STEP;
    let price = Price::from_ticks(ticks).expect("bench prices are valid");
    let (qty, price) = match rng.below(3) {
        0 => (Some(qty), None),
        1 => (None, Some(price)),
        _ => (Some(qty), Some(price)),
    };
    Request::Amend {
        id,
        symbol,
        qty,
        price,
    }
}

fn workload(symbols: &[Symbol], mix: Mix) -> Vec<(u64, Request)> {
    let Mix { band, tifs, v2 } = mix;
    let owners = if v2 { 4 } else { OWNERS as u64 };
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut next_id: OrderId = 0;
    // Recent orders and their accounts.
    let mut recent: Vec<(OrderId, u64)> = Vec::with_capacity(ORDERS);
    (0..ORDERS)
        .map(|_| {
            let owner = rng.below(owners);
            let symbol = symbols[rng.below(symbols.len() as u64) as usize];
            let roll = rng.below(100);
            if (roll < 10 || (v2 && (15..25).contains(&roll))) && !recent.is_empty() {
                // Cancel or amend one of the last thousand orders; some have traded already.
                let back = (rng.below(1_000) as usize).min(recent.len() - 1);
                let (id, placed_by) = recent[recent.len() - 1 - back];
                return match (v2, roll < 10) {
                    (false, _) => (owner, Request::Cancel { id, symbol }),
                    (true, true) => (placed_by, Request::Cancel { id, symbol }),
                    (true, false) => (placed_by, amend(&mut rng, id, symbol)),
                };
            }
            next_id += 1;
            recent.push((next_id, owner));
            let stp = if v2 {
                STPS[rng.below(STPS.len() as u64) as usize]
            } else {
                Stp::None
            };
            let side = if rng.below(2) == 0 {
                Side::Buy
            } else {
                Side::Sell
            };
            let qty = 1 + rng.below(100);
            if roll < 15 {
                return (
                    owner,
                    Request::Market {
                        id: next_id,
                        symbol,
                        side,
                        qty,
                        stp,
                    },
                );
            }
            let offset = rng.below(band.width) * STEP;
            let ticks = match side {
                Side::Buy => MID - band.below * STEP + offset,
                Side::Sell => MID + band.below * STEP - offset,
            };
            let tif = tifs[rng.below(10) as usize];
            let price = Price::from_ticks(ticks).expect("bench prices are valid");
            (
                owner,
                Request::Limit {
                    id: next_id,
                    symbol,
                    side,
                    price,
                    qty,
                    tif,
                    stp,
                },
            )
        })
        .collect()
}

/// How a workload submits: `Engine::submit`, or with deltas.
#[derive(Clone, Copy)]
enum Path {
    Plain,
    Deltas,
}

fn plain(
    engine: &mut Engine,
    owner: Owner,
    req: &Request,
    floor: OrderId,
    out: &mut Vec<Report>,
) -> Outcome {
    engine.submit(owner, req, floor, out)
}

fn with_deltas(
    engine: &mut Engine,
    owner: Owner,
    req: &Request,
    floor: OrderId,
    out: &mut Vec<Report>,
    deltas: &mut Deltas,
) -> Outcome {
    let outcome = engine.submit_with_deltas(owner, req, floor, out, deltas);
    if deltas.len() == 64 {
        black_box(&*deltas);
        deltas.clear();
    }
    outcome
}

fn run(engine: &mut Engine, requests: &[(u64, Request)], path: Path) -> usize {
    // Dispatched once per batch, so each path's loop calls its `submit` directly.
    match path {
        Path::Plain => run_with(engine, requests, plain),
        Path::Deltas => {
            let mut deltas = Deltas::default();
            run_with(engine, requests, |engine, owner, req, floor, out| {
                with_deltas(engine, owner, req, floor, out, &mut deltas)
            })
        }
    }
}

fn run_with(
    engine: &mut Engine,
    requests: &[(u64, Request)],
    mut submit: impl FnMut(&mut Engine, Owner, &Request, OrderId, &mut Vec<Report>) -> Outcome,
) -> usize {
    let mut floors = [0; OWNERS];
    let mut out = Vec::with_capacity(256);
    let mut reports = 0;
    for (owner, request) in requests {
        let floor = &mut floors[*owner as usize];
        let outcome = submit(engine, *owner, request, *floor, &mut out);
        if outcome.is_accepted() {
            *floor = request.id().unwrap_or(*floor);
        }
        reports += out.len();
        out.clear();
    }
    reports
}

fn bench_matching(c: &mut Criterion) {
    let mut group = c.benchmark_group("matching");
    group.throughput(Throughput::Elements(ORDERS as u64));
    let one = &["ACME"][..];
    let eight = &["A", "B", "C", "D", "E", "F", "G", "H"][..];
    let v2 = Mix {
        v2: true,
        ..mix(NEAR, EVERY_TIF)
    };
    for (name, symbols, mix, path) in [
        ("mixed_1_symbol", one, mix(NEAR, IOC), Path::Plain),
        ("mixed_8_symbols", eight, mix(NEAR, IOC), Path::Plain),
        ("deep_book", one, mix(WIDE, IOC), Path::Plain),
        ("mixed_tifs", one, mix(NEAR, EVERY_TIF), Path::Plain),
        ("amend_stp", one, v2, Path::Plain),
        ("mixed_1_symbol_deltas", one, mix(NEAR, IOC), Path::Deltas),
        ("amend_stp_deltas", one, v2, Path::Deltas),
    ] {
        let symbols: Vec<Symbol> = symbols
            .iter()
            .map(|s| Symbol::new(s).expect("bench symbols are valid"))
            .collect();
        let requests = workload(&symbols, mix);
        let mut probe = Engine::new();
        let reports = run(&mut probe, &requests, path);
        eprintln!(
            "{name}: {ORDERS} requests -> {reports} reports, {} resting at the end",
            probe.resting()
        );
        group.bench_function(name, |b| {
            b.iter_batched_ref(
                Engine::new,
                |engine| black_box(run(engine, black_box(&requests), path)),
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, bench_matching);
criterion_main!(benches);
