//! The matching stage: adapts the pure [`Engine`] to the pipeline. Keyed by symbol, so each
//! lane's engine owns its symbols' books and touches them from one thread at a time.

use std::sync::atomic::Ordering::SeqCst;

use sedaflow::{Batch, Context, Handler};

use super::{Engine, RejectReason, Report, ReportKind, Request};
use crate::codec::Response;
use crate::pipeline::{settle, EncodeIn, Order};

#[derive(Default)]
pub(crate) struct MatchStage {
    engine: Engine,
    reports: Vec<Report>,
}

impl Handler for MatchStage {
    type In = Order;

    fn handle(&mut self, batch: &mut Batch<'_, Order>, ctx: &mut Context<'_>) {
        for o in batch {
            self.reports.clear();
            let outcome = self
                .engine
                .submit(o.conn.id, &o.req, o.floor, &mut self.reports);
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
