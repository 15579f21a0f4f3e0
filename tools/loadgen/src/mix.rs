use super::resting::RestingSet;
use super::rng::Rng;
use sedaflow_stages::matching::{OrderId, Price, Request, Side, Symbol, Tif};

/// Price ticks (of 0.0001) in one step of the order mix's price ladder: 0.01.
const STEP_TICKS: u64 = 100;
/// Limit prices lie within this many steps either side of the symbol's mid price.
const SPREAD_STEPS: u64 = 10;
/// The share of limit orders sent as `ioc`, in percent.
const IOC_PCT: u8 = 20;
/// Largest quantity of one order.
const MAX_QTY: u64 = 100;

/// The parameters of one connection's order mix.
#[derive(Clone, Copy, Debug)]
pub(crate) struct MixParams {
    pub(crate) seed: u64,
    pub(crate) symbols: usize,
    pub(crate) connections: usize,
    pub(crate) connection: usize,
    pub(crate) cancel_pct: u8,
    pub(crate) amend_pct: u8,
    pub(crate) market_pct: u8,
    /// The first id of connection 0; connection `c` starts at `id_base + c`.
    pub(crate) id_base: OrderId,
}

/// One generated request, with the index of its symbol in the symbol set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Planned {
    pub(crate) request: Request,
    pub(crate) symbol: usize,
}

/// The symbol set shared by all connections: `SYM0`, `SYM1`, …, with mid prices 100, 101, ….
pub(crate) fn symbol_set(count: usize) -> Vec<(Symbol, u64)> {
    (0..count)
        .map(|index| {
            // "SYM" and a usize's digits stay within the 16 characters of a symbol.
            let symbol = Symbol::new(&format!("SYM{index}"))
                .unwrap_or_else(|_| unreachable!("SYM<digits> is a valid symbol"));
            let mid_ticks = (100 + index as u64) * 10_000;
            (symbol, mid_ticks)
        })
        .collect()
}

/// The requests of one connection, fixed by the seed and the cancel candidates offered.
///
/// New orders carry ids `id_base + connection + k * connections`: strictly increasing per
/// connection, as the protocol requires, and distinct across the run's connections, so one
/// connection's cancel can never hit another's order. Orders go to the symbols round-robin,
/// each connection starting at its own offset, so connections share books and trade with
/// each other.
#[derive(Debug)]
pub(crate) struct OrderMix {
    rng: Rng,
    symbols: Vec<(Symbol, u64)>,
    next_symbol: usize,
    next_id: OrderId,
    id_step: OrderId,
    cancel_pct: u8,
    amend_pct: u8,
    market_pct: u8,
}

impl OrderMix {
    pub(crate) fn new(params: MixParams) -> OrderMix {
        let symbols = symbol_set(params.symbols.max(1));
        OrderMix {
            // Each connection its own stream, still fixed by the one seed.
            rng: Rng::new(params.seed ^ (params.connection as u64).wrapping_mul(0x2545_f491)),
            next_symbol: params.connection % symbols.len(),
            symbols,
            next_id: params.id_base + params.connection as u64,
            id_step: params.connections.max(1) as u64,
            cancel_pct: params.cancel_pct,
            amend_pct: params.amend_pct,
            market_pct: params.market_pct,
        }
    }

    /// The generator behind the mix, for tests that play the tracker's part.
    #[cfg(test)]
    pub(crate) fn rng(&mut self) -> &mut Rng {
        &mut self.rng
    }

    /// The next request: a cancel of one of `resting` (taken out of it), an amend of one
    /// (it stays a candidate), a market order or a limit order. A cancel or amend is
    /// replaced by a limit order when nothing is known to rest.
    pub(crate) fn next(&mut self, resting: &mut RestingSet) -> Planned {
        let roll = self.rng.below(100);
        let (cancels, amends) = (
            u64::from(self.cancel_pct),
            u64::from(self.cancel_pct) + u64::from(self.amend_pct),
        );
        if roll < cancels {
            if let Some((id, symbol)) = resting.take_random(&mut self.rng) {
                let request = Request::Cancel {
                    id,
                    symbol: self.symbols[symbol].0,
                };
                return Planned { request, symbol };
            }
        } else if roll < amends {
            if let Some((id, symbol)) = resting.pick_random(&mut self.rng) {
                return self.amend(id, symbol);
            }
        }
        let market = roll >= amends && roll < amends + u64::from(self.market_pct);
        let symbol = self.next_symbol;
        self.next_symbol = (self.next_symbol + 1) % self.symbols.len();
        let (name, mid) = self.symbols[symbol];
        let id = self.next_id;
        self.next_id += self.id_step;
        let side = if self.rng.below(2) == 0 {
            Side::Buy
        } else {
            Side::Sell
        };
        let qty = self.rng.between(1, MAX_QTY);
        let request = if market {
            Request::Market {
                id,
                symbol: name,
                side,
                qty,
                stp: Default::default(),
            }
        } else {
            let tif = if self.rng.percent(IOC_PCT) {
                Tif::Ioc
            } else {
                Tif::Gtc
            };
            Request::Limit {
                id,
                symbol: name,
                side,
                price: self.ladder_price(mid),
                qty,
                tif,
                stp: Default::default(),
            }
        };
        Planned { request, symbol }
    }

    /// An amend of resting order `id`: half the time a new price on the ladder (which may
    /// cross and trade), else a new quantity (which may keep its priority or lose it).
    fn amend(&mut self, id: OrderId, symbol: usize) -> Planned {
        let (name, mid) = self.symbols[symbol];
        let (qty, price) = match self.rng.below(2) {
            0 => (None, Some(self.ladder_price(mid))),
            _ => (Some(self.rng.between(1, MAX_QTY)), None),
        };
        let request = Request::Amend {
            id,
            symbol: name,
            qty,
            price,
        };
        Planned { request, symbol }
    }

    /// A random price within ten steps of `mid` (ticks).
    fn ladder_price(&mut self, mid: u64) -> Price {
        let steps = self.rng.between(0, 2 * SPREAD_STEPS);
        // mid - 10 steps ..= mid + 10 steps; mid is at least 100, so this stays > 0.
        let ticks = mid - SPREAD_STEPS * STEP_TICKS + steps * STEP_TICKS;
        Price::from_ticks(ticks).unwrap_or_else(|| unreachable!("prices stay near 100 and above 0"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sedaflow_stages::codec::{decode_request, encode_request};

    fn params(connection: usize) -> MixParams {
        MixParams {
            seed: 42,
            symbols: 4,
            connections: 3,
            connection,
            cancel_pct: 10,
            amend_pct: 10,
            market_pct: 5,
            id_base: 1,
        }
    }

    /// Runs a mix, acking every gtc limit as resting so cancels have candidates.
    fn run(params: MixParams, count: usize) -> Vec<Planned> {
        let mut mix = OrderMix::new(params);
        let mut resting = RestingSet::default();
        (0..count)
            .map(|_| {
                let planned = mix.next(&mut resting);
                if let Request::Limit {
                    id, tif: Tif::Gtc, ..
                } = planned.request
                {
                    resting.insert(id, planned.symbol, mix.rng());
                }
                planned
            })
            .collect()
    }

    #[test]
    fn same_seed_same_orders() {
        assert_eq!(run(params(1), 2000), run(params(1), 2000));
        assert_ne!(run(params(1), 200), run(params(2), 200));
        let other_seed = MixParams {
            seed: 43,
            ..params(1)
        };
        assert_ne!(run(params(1), 200), run(other_seed, 200));
    }

    #[test]
    fn new_order_ids_increase_and_connections_never_share_ids() {
        let mut all = Vec::new();
        for connection in 0..3 {
            let ids: Vec<OrderId> = run(params(connection), 3000)
                .iter()
                .filter(|p| p.request.is_new_order())
                .filter_map(|p| p.request.id())
                .collect();
            assert!(ids.windows(2).all(|w| w[0] < w[1]));
            assert!(ids.iter().all(|id| id % 3 == (1 + connection as u64) % 3));
            all.extend(ids);
        }
        let count = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), count);
    }

    #[test]
    fn mix_has_the_configured_shares_and_prices_near_mid() {
        let orders = run(params(0), 20_000);
        let count = |pred: fn(&Request) -> bool| {
            orders.iter().filter(|p| pred(&p.request)).count() * 100 / orders.len()
        };
        let cancels = count(|r| matches!(r, Request::Cancel { .. }));
        let markets = count(|r| matches!(r, Request::Market { .. }));
        let iocs = count(|r| matches!(r, Request::Limit { tif: Tif::Ioc, .. }));
        assert!((8..=11).contains(&cancels), "cancels {cancels}%");
        assert!((4..=6).contains(&markets), "markets {markets}%");
        assert!((14..=19).contains(&iocs), "iocs {iocs}%");
        let set = symbol_set(4);
        for planned in &orders {
            let (symbol, mid) = set[planned.symbol];
            assert_eq!(planned.request.symbol(), Some(symbol));
            if let Request::Limit { price, qty, .. } = planned.request {
                assert!(price.ticks().abs_diff(mid) <= 1000);
                assert_eq!(price.ticks() % 100, 0);
                assert!((1..=100).contains(&qty));
            }
        }
    }

    #[test]
    fn cancels_name_resting_orders_once() {
        let orders = run(params(2), 5000);
        let mut cancelled = std::collections::HashSet::new();
        let mut rested = std::collections::HashMap::new();
        for planned in &orders {
            match planned.request {
                Request::Limit {
                    id,
                    tif: Tif::Gtc,
                    symbol,
                    ..
                } => {
                    rested.insert(id, symbol);
                }
                Request::Cancel { id, symbol } => {
                    assert_eq!(rested.get(&id), Some(&symbol));
                    assert!(cancelled.insert(id), "cancelled {id} twice");
                }
                _ => {}
            }
        }
        assert!(!cancelled.is_empty());
    }

    #[test]
    fn symbols_go_round_robin_from_the_connection_offset() {
        let mut mix = OrderMix::new(MixParams {
            cancel_pct: 0,
            ..params(1)
        });
        let mut resting = RestingSet::default();
        let symbols: Vec<usize> = (0..6).map(|_| mix.next(&mut resting).symbol).collect();
        assert_eq!(symbols, [1, 2, 3, 0, 1, 2]);
    }

    #[test]
    fn every_generated_request_decodes_to_itself() {
        let mut mix = OrderMix::new(MixParams {
            seed: 5,
            symbols: 3,
            connections: 2,
            connection: 1,
            cancel_pct: 30,
            amend_pct: 20,
            market_pct: 20,
            id_base: 1 << 60,
        });
        let mut resting = RestingSet::default();
        let mut requests = vec![Request::Ping];
        for id in 1..50 {
            resting.insert(id, 0, mix.rng());
        }
        requests.extend((0..500).map(|_| mix.next(&mut resting).request));
        let amends = requests
            .iter()
            .filter(|r| matches!(r, Request::Amend { .. }))
            .count();
        assert!(amends > 10, "{amends} amends in 500 requests");
        for request in requests {
            let mut out = Vec::new();
            encode_request(&request, &mut out);
            let line = out.strip_suffix(b"\n").unwrap();
            assert_eq!(decode_request(line), Ok(request));
        }
    }
}
