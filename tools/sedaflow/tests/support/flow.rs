//! Reproducible mixed order flow: resting and crossing limits, `ioc`, `fok`, `post`, market
//! (some of orders already gone, some naming the wrong symbol), re-used and stale ids,
//! invalid fields and pings, with per-connection increasing ids; optionally with the *v2*
//! order management in the mix: amends (reduce, new price, increase), `orders` and
//! `cancel_all`, with and without a symbol.

use super::model::{Req, Side, Tif, MAX_QTY, TICKS};

/// splitmix64: small, seedable, good enough to shuffle a test's requests.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// How many recently entered orders cancels and id re-use pick from.
const RECENT: usize = 64;

/// Generates requests for one connection over a set of symbols.
pub struct Flow {
    rng: Rng,
    symbols: Vec<String>,
    next_id: u64,
    /// Recently entered orders: (id, index of its symbol).
    recent: Vec<(u64, usize)>,
    /// Middle of the price band, in ticks.
    mid: u64,
    /// Whether amends, `orders` and `cancel_all` are in the mix.
    managed: bool,
}

impl Flow {
    /// A flow over `symbols` whose fresh ids start at `first_id`.
    ///
    /// # Panics
    /// If `symbols` is empty.
    pub fn new(seed: u64, symbols: Vec<String>, first_id: u64) -> Flow {
        assert!(!symbols.is_empty(), "a flow needs at least one symbol");
        Flow {
            rng: Rng::new(seed),
            symbols,
            next_id: first_id,
            recent: Vec::new(),
            mid: 100 * TICKS,
            managed: false,
        }
    }

    /// The same flow with amends, `orders` and `cancel_all` in the mix (on top of its orders).
    pub fn managed(mut self) -> Flow {
        self.managed = true;
        self
    }

    /// Requests until `orders` `limit`/`market` orders are among them (cancels and pings come
    /// on top).
    pub fn orders(&mut self, orders: usize) -> Vec<Req> {
        let mut out = Vec::with_capacity(orders + orders / 8);
        let mut count = 0;
        while count < orders {
            let req = self.next_req();
            count += usize::from(req.is_order());
            out.push(req);
        }
        out
    }

    /// One request of the mix.
    pub fn next_req(&mut self) -> Req {
        if self.managed {
            if let Some(req) = self.management() {
                return req;
            }
        }
        let roll = self.rng.below(100);
        let sym = self.rng.below(self.symbols.len() as u64) as usize;
        match roll {
            0..=5 if !self.recent.is_empty() => self.cancel(),
            6..=7 => Req::Ping,
            8..=9 if !self.recent.is_empty() => self.reused_id(),
            10..=12 => self.invalid(sym),
            13..=18 => {
                let id = self.fresh_id(sym);
                let qty = self.qty();
                Req::Market {
                    id,
                    symbol: self.symbols[sym].clone(),
                    side: self.side(),
                    qty,
                }
            }
            _ => {
                let tif = match roll {
                    ..=26 => Tif::Ioc,
                    27..=30 => Tif::Fok,
                    31..=34 => Tif::Post,
                    _ => Tif::Gtc,
                };
                let id = self.fresh_id(sym);
                let (side, price, qty) = (self.side(), self.price(), self.qty());
                Req::Limit {
                    id,
                    symbol: self.symbols[sym].clone(),
                    side,
                    price,
                    qty,
                    tif,
                }
            }
        }
    }

    /// One request in ten, an order-management one: amends (8%), `orders` on a symbol (2%),
    /// `cancel_all` on a symbol (1%), `orders` (0.5%) and `cancel_all` (0.25%) over all.
    fn management(&mut self) -> Option<Req> {
        let roll = self.rng.below(400);
        let symbol = self.symbols[self.rng.below(self.symbols.len() as u64) as usize].clone();
        Some(match roll {
            0..32 if !self.recent.is_empty() => self.amend(),
            32..40 => Req::Orders {
                symbol: Some(symbol),
            },
            40..44 => Req::CancelAll {
                symbol: Some(symbol),
            },
            44..46 => Req::Orders { symbol: None },
            46 => Req::CancelAll { symbol: None },
            _ => return None,
        })
    }

    /// An amend of a recent order, which may be gone already (one in five names another
    /// symbol): a reduce to 1, a new price (which may cross), an increase, both, or (one in
    /// twenty) neither.
    fn amend(&mut self) -> Req {
        let (id, symbol) = self.target();
        let (qty, price) = match self.rng.below(20) {
            0 => (None, None),
            1..=6 => (Some(1), None),
            7..=12 => (None, Some(self.price())),
            13..=16 => (Some(20 + self.rng.below(200)), None),
            _ => (Some(self.qty()), Some(self.price())),
        };
        Req::Amend {
            id,
            symbol,
            qty,
            price,
        }
    }

    /// A cancel of a recent order, which may be gone already; one in five names another symbol.
    fn cancel(&mut self) -> Req {
        let (id, symbol) = self.target();
        Req::Cancel { id, symbol }
    }

    /// A recent order's id and, one in five times, another symbol than its own.
    fn target(&mut self) -> (u64, String) {
        let (id, mut sym) = self.recent[self.rng.below(self.recent.len() as u64) as usize];
        if self.rng.below(5) == 0 {
            sym = self.rng.below(self.symbols.len() as u64) as usize;
        }
        (id, self.symbols[sym].clone())
    }

    /// A valid limit order re-using a recent id: `duplicate id` while that order rests on the
    /// symbol, `id not increasing` otherwise (half of them on another symbol).
    fn reused_id(&mut self) -> Req {
        let (id, mut sym) = self.recent[self.rng.below(self.recent.len() as u64) as usize];
        if self.rng.below(2) == 0 {
            sym = self.rng.below(self.symbols.len() as u64) as usize;
        }
        let (side, price, qty) = (self.side(), self.price(), self.qty());
        Req::Limit {
            id,
            symbol: self.symbols[sym].clone(),
            side,
            price,
            qty,
            tif: Tif::Gtc,
        }
    }

    /// A limit order with a fresh id and one invalid field (`price` 0 or `qty` out of range).
    fn invalid(&mut self, sym: usize) -> Req {
        let id = self.fresh_id(sym);
        let (side, mut price, mut qty) = (self.side(), self.price(), self.qty());
        match self.rng.below(3) {
            0 => price = 0,
            1 => qty = 0,
            _ => qty = MAX_QTY + 1,
        }
        Req::Limit {
            id,
            symbol: self.symbols[sym].clone(),
            side,
            price,
            qty,
            tif: Tif::Gtc,
        }
    }

    fn fresh_id(&mut self, sym: usize) -> u64 {
        let id = self.next_id;
        self.next_id += 1 + self.rng.below(3);
        if self.recent.len() == RECENT {
            let at = self.rng.below(RECENT as u64) as usize;
            self.recent[at] = (id, sym);
        } else {
            self.recent.push((id, sym));
        }
        id
    }

    fn side(&mut self) -> Side {
        if self.rng.below(2) == 0 {
            Side::Buy
        } else {
            Side::Sell
        }
    }

    /// Within ±0.05 of the middle in cent steps, one in eight with sub-cent ticks.
    fn price(&mut self) -> u64 {
        let cents = self.rng.below(11) * (TICKS / 100);
        let mut price = self.mid - 5 * (TICKS / 100) + cents;
        if self.rng.below(8) == 0 {
            price += self.rng.below(100);
        }
        price
    }

    /// Mostly small; one in ten large enough to sweep several levels.
    fn qty(&mut self) -> u64 {
        if self.rng.below(10) == 0 {
            1 + self.rng.below(200)
        } else {
            1 + self.rng.below(20)
        }
    }
}

/// `count` symbols named `<prefix>0`, `<prefix>1`, …
pub fn symbols(prefix: &str, count: usize) -> Vec<String> {
    (0..count).map(|i| format!("{prefix}{i}")).collect()
}
