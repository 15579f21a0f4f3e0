//! The matching stage: adapts the pure [`Engine`] to the pipeline. Keyed by symbol, so each
//! lane's engine owns its symbols' books and touches them from one thread at a time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sedaflow::{Batch, Context, Handler};

use super::events::{EncodeIn, Order};
use super::journal::ToJournal;
use crate::admission::Admission;
use crate::codec::Response;
use crate::journal::format::Record;
use crate::journal::Journal;
use crate::matching::{Engine, RejectReason, Report, To};

pub(crate) struct MatchStage {
    engine: Engine,
    reports: Vec<Report>,
    /// When each order of the batch was read, for the admission controller.
    read_at: Vec<Instant>,
    admission: Arc<Admission>,
    pace: Pace,
    /// With a journal, output goes through the journal stage, records first.
    journal: Option<Arc<Journal>>,
}

impl MatchStage {
    pub(crate) fn new(
        admission: Arc<Admission>,
        delay: Duration,
        journal: Option<Arc<Journal>>,
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
        }
    }

    /// Sends output on to encode, through the journal stage when there is one.
    fn emit(&self, ctx: &mut Context<'_>, out: EncodeIn) {
        match self.journal {
            Some(_) => ctx.emit(ToJournal::Out(out)),
            None => ctx.emit(out),
        }
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
        self.read_at.clear();
        for o in batch {
            self.read_at.push(o.read_at);
            self.reports.clear();
            if let (Some(j), Some(symbol)) = (&self.journal, o.req.symbol()) {
                j.adopt(symbol, &mut self.engine);
            }
            let outcome = self
                .engine
                .submit(o.conn.id(), &o.req, o.floor, &mut self.reports);
            if self.journal.is_some() {
                if let Some(r) = Record::applied(outcome, o.conn.id(), o.floor, &o.req) {
                    ctx.emit(ToJournal::Record(r));
                }
            }
            if outcome.is_accepted() {
                if let Some(id) = o.req.id() {
                    o.conn.orders().accepted(id);
                }
            }
            let mut mine = Vec::with_capacity(self.reports.len());
            for r in &self.reports {
                match r.to {
                    To::Owner(to) if to != o.conn.id() => {
                        let notify = EncodeIn::Notify { to, kind: r.kind };
                        self.emit(ctx, notify);
                    }
                    _ => mine.push(Response::Report(r.kind)),
                }
            }
            o.conn.orders().settle();
            let reply = EncodeIn::Reply {
                conn: o.conn,
                seq: o.seq,
                responses: mine,
                read_at: o.read_at,
            };
            self.emit(ctx, reply);
        }
        self.pace.after(self.read_at.len());
        self.admission.matched(&self.read_at);
    }

    /// A handler panic left this symbol's book in an unknown state: refuse its orders.
    fn quarantined(&mut self, o: Order, ctx: &mut Context<'_>) {
        ctx.emit(o.refused(RejectReason::SymbolUnavailable));
    }
}
