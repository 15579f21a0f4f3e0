//! The matching stage: adapts the pure [`Engine`] to the pipeline. Keyed by symbol, so each
//! lane's engine owns its symbols' books and touches them from one thread at a time.

use std::sync::atomic::Ordering::SeqCst;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sedaflow::{Batch, Context, Handler};

use super::{Engine, RejectReason, Report, ReportKind, Request};
use crate::admission::Admission;
use crate::codec::Response;
use crate::journal::{Journal, Lane};
use crate::pipeline::{settle, EncodeIn, Order};

pub(crate) struct MatchStage {
    engine: Engine,
    reports: Vec<Report>,
    /// When each order of the batch was read, for the admission controller.
    read_at: Vec<Instant>,
    admission: Arc<Admission>,
    pace: Pace,
    journal: Option<Lane>,
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
            journal: journal.map(Lane::new),
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
        // Journaling: each request that changed a book is recorded, and the batch committed
        // below (or, if a handler panic unwinds, when `journal` drops), before the reports
        // emitted here leave the stage.
        let mut journal = self.journal.as_mut().map(Lane::batch);
        for o in batch {
            self.read_at.push(o.read_at);
            self.reports.clear();
            let (owner, floor, out) = (o.conn.id, o.floor, &mut self.reports);
            let outcome = match &mut journal {
                Some(j) => j.submit(&mut self.engine, owner, &o.req, floor, out),
                None => self.engine.submit(owner, &o.req, floor, out),
            };
            if outcome.is_accepted() {
                if let Some(id) = o.req.id() {
                    o.conn.max_accepted.fetch_max(id, SeqCst);
                }
            }
            let mut mine = Vec::with_capacity(self.reports.len());
            for r in &self.reports {
                if r.to == o.conn.id {
                    mine.push(Response::Report(r.kind));
                } else {
                    ctx.emit(EncodeIn::Notify {
                        to: r.to,
                        kind: r.kind,
                    });
                }
            }
            settle(&o.conn);
            ctx.emit(EncodeIn::Reply {
                conn: o.conn,
                seq: o.seq,
                responses: mine,
                read_at: o.read_at,
            });
        }
        if let Some(j) = journal {
            j.commit();
        }
        self.pace.after(self.read_at.len());
        self.admission.matched(&self.read_at);
    }

    /// A handler panic left this symbol's book in an unknown state: refuse its orders.
    fn quarantined(&mut self, o: Order, ctx: &mut Context<'_>) {
        let id = match o.req {
            Request::Ping => 0,
            req => req.id().unwrap_or_default(),
        };
        settle(&o.conn);
        ctx.emit(EncodeIn::Reply {
            conn: o.conn,
            seq: o.seq,
            responses: vec![ReportKind::Reject {
                id,
                reason: RejectReason::SymbolUnavailable,
            }
            .into()],
            read_at: o.read_at,
        });
    }
}
