//! The matching stage: adapts the pure [`Engine`] to the pipeline. Keyed by symbol, so each
//! lane's engine owns its symbols' books and touches them from one thread at a time.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sedaflow::{Batch, Context, Handler};

use sedaflow::key_digest;

use super::client::{ClientRef, Notice};
use super::events::{refusal, EncodeIn, Order};
use super::journal::ToJournal;
use super::market::{DeltaBuffers, Direct, MarketIn, LANES as MARKET_LANES};
use super::responses;
use crate::admission::Admission;
use crate::codec::Response;
use crate::journal::format::Record;
use crate::journal::Journal;
use crate::market::{DeltaRef, DeltaSink, Deltas};
use crate::matching::{
    Book, Engine, OrderId, Outcome, Owner, RejectReason, Report, ReportKind, Request, Symbol, To,
};

pub(crate) struct MatchStage {
    engine: Engine,
    reports: Vec<Report>,
    /// When each order of the batch was read, for the admission controller.
    read_at: Vec<Instant>,
    admission: Arc<Admission>,
    pace: Pace,
    /// With a journal, output goes through the journal stage, records first.
    journal: Option<Arc<Journal>>,
    /// This stage's lanes (known once the pipeline is built).
    lanes: Arc<AtomicUsize>,
    /// Scratch: the books of a request on every book.
    symbols: Vec<Symbol>,
    /// The batch's book changes, by market-data lane.
    market: ToMarket,
    /// Where the next batch's change vectors come from.
    buffers: Arc<DeltaBuffers>,
}

impl MatchStage {
    pub(crate) fn new(
        admission: Arc<Admission>,
        delay: Duration,
        journal: Option<Arc<Journal>>,
        lanes: Arc<AtomicUsize>,
        buffers: Arc<DeltaBuffers>,
        direct: Option<Direct>,
    ) -> Self {
        MatchStage {
            engine: Engine::default(),
            reports: Vec::new(),
            read_at: Vec::new(),
            admission,
            pace: Pace {
                delay,
                free_at: Instant::now(),
            },
            journal,
            lanes,
            symbols: Vec::new(),
            market: ToMarket {
                lanes: Default::default(),
                now_ms: None,
                direct,
            },
            buffers,
        }
    }

    /// Applies a request on one book, journaling it when it changed the book, its book
    /// changes filed for market data.
    fn apply(&mut self, o: &Order, owner: Owner, settling: &mut Settling, ctx: &mut Context<'_>) {
        if let (Some(j), Some(symbol)) = (&self.journal, o.req.symbol()) {
            j.adopt(symbol, &mut self.engine);
        }
        let (r, d) = (&mut self.reports, &mut self.market);
        let outcome = self.engine.submit_with_deltas(owner, &o.req, o.floor, r, d);
        self.journaled(outcome, owner, o.floor, &o.req, ctx);
        if outcome.is_accepted() {
            if let Some(id) = o.req.id() {
                let run = settling.run(&o.conn);
                run.accepted = run.accepted.max(id);
            }
        }
    }

    /// This lane's part of a request on every book: the request once per book the lane holds
    /// (each journaled with its symbol, so a replay by one engine cancels exactly these). A
    /// disconnect's cancels step each book's sequence once per order, so they are journaled
    /// as one `cancel` each, which a replay steps the same way.
    fn apply_on_every_book(&mut self, o: &Order, owner: Owner, ctx: &mut Context<'_>) {
        if let Some(j) = &self.journal {
            let (lane, lanes) = (o.route, self.lanes.load(Ordering::Acquire).max(1) as u64);
            j.adopt_where(&mut self.engine, |symbol| {
                key_digest(&symbol) % lanes == lane
            });
        }
        self.symbols.clear();
        self.symbols.extend(self.engine.books().map(Book::symbol));
        for i in 0..self.symbols.len() {
            let symbol = self.symbols[i];
            if o.is_disconnect() {
                let from = self.reports.len();
                let (r, d) = (&mut self.reports, &mut self.market);
                let _ = self.engine.cancel_all_each(owner, Some(symbol), r, d);
                for k in from..self.reports.len() {
                    if let ReportKind::Done { id, .. } = self.reports[k].kind {
                        let cancel = Request::Cancel { id, symbol };
                        self.journaled(Outcome::Cancelled, owner, 0, &cancel, ctx);
                    }
                }
                continue;
            }
            let req = match o.req {
                Request::Orders { .. } => Request::Orders {
                    symbol: Some(symbol),
                },
                _ => Request::CancelAll {
                    symbol: Some(symbol),
                },
            };
            let (r, d) = (&mut self.reports, &mut self.market);
            let outcome = self.engine.submit_with_deltas(owner, &req, 0, r, d);
            self.journaled(outcome, owner, 0, &req, ctx);
        }
    }

    /// Hands the batch's book changes to market data: one event per lane that has some.
    fn send_deltas(&mut self, ctx: &mut Context<'_>) {
        for (lane, deltas) in self.market.lanes.iter_mut().enumerate() {
            if deltas.is_empty() {
                continue;
            }
            // The next batch's room, sized by this one's: no doubling of large deltas on the
            // way up.
            let room = self.buffers.take(deltas);
            let event = MarketIn::Deltas {
                lane: lane as u64,
                deltas: std::mem::replace(deltas, room),
            };
            match self.journal {
                Some(_) => ctx.emit(ToJournal::Market(event)),
                None => ctx.emit(event),
            }
        }
    }

    fn journaled(
        &self,
        outcome: Outcome,
        owner: Owner,
        floor: OrderId,
        req: &Request,
        ctx: &mut Context<'_>,
    ) {
        if self.journal.is_some() {
            if let Some(r) = Record::applied(outcome, owner, floor, req) {
                ctx.emit(ToJournal::Record(r));
            }
        }
    }

    /// Splits the reports: the requester's answer (returned), and notices for the account's
    /// other sessions and for other accounts.
    fn route_reports(&self, o: &Order, owner: Owner, ctx: &mut Context<'_>) -> Vec<Response> {
        let mut mine = responses::take(self.reports.len());
        for r in &self.reports {
            let (to, except) = match r.to {
                To::Owner(to) if to != owner => (to, None),
                to => {
                    mine.push(Response::Report(r.kind));
                    // A report of the account's resting order: its other sessions get a copy.
                    if to == To::Sender || !o.conn.shares_account() {
                        continue;
                    }
                    (owner, Some(o.conn.id()))
                }
            };
            let (kind, elsewhere) = (r.kind, false);
            let notice = Notice {
                to,
                except,
                elsewhere,
                kind,
            };
            self.emit(ctx, EncodeIn::Notify(notice));
        }
        mine
    }

    /// Settles the request and sends its answer; a part of a request on every book adds its
    /// answer to the others', and the last part sends the whole.
    fn answer(
        &self,
        o: Order,
        mut mine: Vec<Response>,
        settling: &mut Settling,
        ctx: &mut Context<'_>,
    ) {
        if let Some(part) = &o.part {
            let kinds: Vec<ReportKind> = mine
                .iter()
                .filter_map(|r| match r {
                    Response::Report(kind) => Some(*kind),
                    _ => None,
                })
                .collect();
            let Some(merged) = part.add(&kinds) else {
                return;
            };
            mine = merged.kinds.into_iter().map(Response::Report).collect();
            if let Some(reason) = merged.refused {
                mine.push(refusal(&o.req, reason));
            }
        }
        settling.run(&o.conn).settled += 1;
        let reply = EncodeIn::Reply {
            conn: o.conn,
            seq: o.seq,
            responses: mine,
            read_at: o.read_at,
        };
        self.emit(ctx, reply);
    }

    /// Matches and answers each order of the batch, then hands its book changes on.
    fn match_batch(&mut self, batch: &mut Batch<'_, Order>, ctx: &mut Context<'_>) {
        self.read_at.clear();
        // The batch's trades get the time of its first.
        self.market.now_ms = None;
        let mut settling = Settling::default();
        for o in batch {
            self.read_at.push(o.read_at);
            self.reports.clear();
            let owner = o.conn.owner();
            match &o.part {
                None => self.apply(&o, owner, &mut settling, ctx),
                Some(_) => self.apply_on_every_book(&o, owner, ctx),
            }
            let mine = self.route_reports(&o, owner, ctx);
            self.answer(o, mine, &mut settling, ctx);
        }
        drop(settling);
        // Before pacing and handing on: the market stage need not wait for those.
        self.market.release();
        self.send_deltas(ctx);
        self.pace.after(self.read_at.len());
        self.admission.matched(&self.read_at);
    }

    /// Sends output on to encode, through the journal stage when there is one.
    fn emit(&self, ctx: &mut Context<'_>, out: EncodeIn) {
        match self.journal {
            Some(_) => ctx.emit(ToJournal::Out(out)),
            None => ctx.emit(out),
        }
    }
}

/// The id rule's counters of a run of one account's orders ([`OrderState`]), updated once
/// for the run: each update is a locked read-modify-write on memory decode's thread shares,
/// and a read's orders reach a lane in runs. Written when the account changes and when it
/// is dropped, at the batch's end or as a panicking handler unwinds: an order left unsettled
/// would stall its account for good.
///
/// [`OrderState`]: super::OrderState
#[derive(Default)]
struct Settling {
    run: Option<Run>,
}

/// A run's account (through one of its sessions), and what its orders did.
struct Run {
    conn: ClientRef,
    /// The highest id accepted (0: none).
    accepted: OrderId,
    /// Orders answered.
    settled: u64,
}

impl Settling {
    /// The run of `conn`'s account, the one before written first if it was another's.
    fn run(&mut self, conn: &ClientRef) -> &mut Run {
        let same = matches!(&self.run, Some(r) if std::ptr::eq(r.conn.orders(), conn.orders()));
        if !same {
            self.write();
        }
        self.run.get_or_insert_with(|| Run {
            conn: conn.clone(),
            accepted: 0,
            settled: 0,
        })
    }

    /// Writes the run: the accepted maximum first, so a decode that then finds nothing in
    /// flight reads it.
    fn write(&mut self) {
        if let Some(run) = self.run.take() {
            let orders = run.conn.orders();
            if run.accepted > 0 {
                orders.accepted(run.accepted);
            }
            if run.settled > 0 {
                orders.settle_many(run.settled);
            }
        }
    }
}

impl Drop for Settling {
    fn drop(&mut self) {
        self.write();
    }
}

/// The synthetic per-order delay: this lane is busy until `free_at`. Kept as a deadline
/// rather than one sleep per order, so timer slack does not add up and capacity stays
/// exactly lanes / delay.
struct Pace {
    delay: Duration,
    free_at: Instant,
}

impl Pace {
    fn after(&mut self, orders: usize) {
        if self.delay.is_zero() || orders == 0 {
            return;
        }
        let now = Instant::now();
        self.free_at = self.free_at.max(now) + self.delay * orders as u32;
        std::thread::sleep(self.free_at - now);
    }
}

impl Handler for MatchStage {
    type In = Order;

    fn handle(&mut self, batch: &mut Batch<'_, Order>, ctx: &mut Context<'_>) {
        // However the batch ends: a panic unwinding from it would otherwise keep the market
        // stage waiting for the feeds it locked.
        let stage = Unlocking(self);
        stage.0.match_batch(batch, ctx);
    }

    /// A handler panic left this symbol's book in an unknown state: refuse its orders.
    fn quarantined(&mut self, o: Order, ctx: &mut Context<'_>) {
        if let Some(answer) = o.refused(RejectReason::SymbolUnavailable) {
            self.emit(ctx, answer);
        }
    }
}

/// Unlocks the feeds matching updated in a batch, when dropped.
struct Unlocking<'a>(&'a mut MatchStage);

impl Drop for Unlocking<'_> {
    fn drop(&mut self) {
        self.0.market.release();
    }
}

/// A batch's book changes, by market-data lane, as matching makes them, but for those it
/// applies itself ([`Direct`]); trades get the batch's time (read once, at its first trade).
struct ToMarket {
    lanes: [Deltas; MARKET_LANES],
    now_ms: Option<u64>,
    /// Without a journal: the feeds matching updates itself.
    direct: Option<Direct>,
}

impl ToMarket {
    /// Unlocks the feeds matching updated in this batch.
    fn release(&mut self) {
        if let Some(direct) = &mut self.direct {
            direct.release();
        }
    }
}

impl DeltaSink for ToMarket {
    fn put(&mut self, delta: DeltaRef<'_>) {
        let time_ms = match delta.trades.is_empty() {
            true => 0,
            false => *self.now_ms.get_or_insert_with(epoch_ms),
        };
        if let Some(direct) = &mut self.direct {
            if direct.apply(delta, time_ms) {
                return;
            }
        }
        self.lanes[MarketIn::lane_of(delta.symbol) as usize].push_at(delta, time_ms);
    }
}

/// Now, in milliseconds since the Unix epoch: trades' time.
fn epoch_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use std::panic::{catch_unwind, AssertUnwindSafe};

    use super::super::client::{Client, Reply};
    use super::super::order_state::tests::order;
    use super::super::order_state::Admit;
    use super::super::OrderState;
    use super::*;

    /// A session of its own account.
    #[derive(Debug, Default)]
    struct Session {
        orders: OrderState,
    }

    impl Client for Session {
        fn id(&self) -> u64 {
            1
        }
        fn owner(&self) -> Owner {
            1
        }
        fn orders(&self) -> &OrderState {
            &self.orders
        }
        fn shares_account(&self) -> bool {
            false
        }
        fn reply(self: Arc<Self>, _: u64, _: Instant, _: &[Response]) {}
        fn reply_run(self: Arc<Self>, _: &[Reply]) {}
    }

    #[test]
    fn a_run_is_settled_when_the_account_changes_and_when_a_panic_unwinds() {
        let (a, b) = (Arc::new(Session::default()), Arc::new(Session::default()));
        let (a_ref, b_ref): (ClientRef, ClientRef) = (a.clone(), b.clone());
        for id in [5, 7] {
            assert_eq!(a.orders.admit(&order(id)), Admit::Pass { floor: 0 });
        }
        b.orders.admit(&order(9));
        let unwound = catch_unwind(AssertUnwindSafe(|| {
            let mut settling = Settling::default();
            for id in [5, 7] {
                let run = settling.run(&a_ref);
                run.accepted = run.accepted.max(id);
                run.settled += 1;
            }
            // Another account's order: `a`'s run is written now.
            settling.run(&b_ref).settled += 1;
            assert_eq!(a.orders.admit(&order(6)), Admit::Pass { floor: 7 });
            panic!("a handler bug");
        }));
        assert!(unwound.is_err());
        // `b`'s run was written as the panic unwound: nothing in flight, no stall.
        assert_eq!(b.orders.admit(&order(8)), Admit::Pass { floor: 0 });
        assert!(!b.orders.is_stalled());
    }

    #[test]
    fn a_batch_that_panics_lets_go_of_the_feeds_it_locked() {
        use super::super::market::Feeds;
        use crate::admission::AdmissionConfig;
        use crate::internal_events::{AdmissionMetrics, MarketMetrics};
        use crate::market::BookDelta;

        let config = AdmissionConfig::default();
        let admission = Arc::new(Admission::new(
            &config,
            AdmissionMetrics::register(config.target),
        ));
        let feeds = Arc::new(Feeds::default());
        let direct = Direct::new(feeds.clone(), MarketMetrics::register());
        let lanes = Arc::new(AtomicUsize::new(1));
        let mut stage = MatchStage::new(
            admission,
            Duration::ZERO,
            None,
            lanes,
            Arc::default(),
            Some(direct),
        );
        let symbol = Symbol::new("ACME").unwrap();
        let delta = BookDelta {
            symbol,
            seq: 1,
            levels: Default::default(),
            trades: Default::default(),
        };
        let unwound = catch_unwind(AssertUnwindSafe(|| {
            let stage = Unlocking(&mut stage);
            stage.0.market.put(delta.view());
            let feed = feeds.get(symbol).unwrap();
            assert!(feed.try_lock().is_none(), "held for the batch");
            panic!("a handler bug");
        }));
        assert!(unwound.is_err());
        let feed = feeds.get(symbol).unwrap();
        assert_eq!(feed.try_lock().map(|s| s.feed.depth().seq()), Some(1));
    }
}
