//! Encode: responses → JSON lines → the owning connection's writer.

use std::sync::Arc;

use sedaflow::{Batch, Context, Handler};

use super::events::EncodeIn;
use crate::codec::{encode_line, Response};
use crate::internal_events::ServerMetrics;
use crate::matching::ReportKind;
use crate::net::{ConnId, Outgoing, Registry};

pub(crate) struct Encode {
    pub(crate) registry: Arc<Registry>,
    pub(crate) metrics: ServerMetrics,
    notices: Vec<(ConnId, ReportKind)>,
}

impl Encode {
    pub(crate) fn new(registry: Arc<Registry>, metrics: ServerMetrics) -> Self {
        Encode {
            registry,
            metrics,
            notices: Vec::new(),
        }
    }
}

impl Handler for Encode {
    type In = EncodeIn;

    fn handle(&mut self, batch: &mut Batch<'_, EncodeIn>, _ctx: &mut Context<'_>) {
        for event in batch {
            match event {
                EncodeIn::Reply {
                    conn,
                    seq,
                    responses,
                    read_at,
                } => {
                    let mut lines = Vec::with_capacity(64 * responses.len());
                    for r in &responses {
                        encode_line(r, &mut lines);
                    }
                    conn.send(Outgoing::Reply {
                        seq,
                        lines,
                        read_at,
                    });
                }
                EncodeIn::Notify { to, kind } => self.notices.push((to, kind)),
            }
        }
        if self.notices.is_empty() {
            return;
        }
        // One registry lookup pass per batch for reports to other owners.
        let notices = std::mem::take(&mut self.notices);
        let metrics = &self.metrics;
        self.registry.with(|conns| {
            for (to, kind) in &notices {
                match conns.get(to) {
                    Some(conn) => {
                        let mut lines = Vec::with_capacity(128);
                        encode_line(&Response::Report(*kind), &mut lines);
                        conn.send(Outgoing::Notify { lines });
                    }
                    None => metrics.discarded(1),
                }
            }
        });
        self.notices = notices;
        self.notices.clear();
    }
}
