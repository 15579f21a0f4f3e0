//! Encode: responses → JSON lines → the owning connection's writer.

use std::sync::Arc;

use sedaflow::{Batch, Context, Handler};

use super::events::EncodeIn;
use crate::codec::Response;
use crate::internal_events::ServerMetrics;
use crate::matching::ReportKind;
use crate::net::{collecting, write_collected, ConnId, Registry};

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

    fn handle(&mut self, batch: &mut Batch<'_, EncodeIn>, ctx: &mut Context<'_>) {
        // Each connection's output is written once, after the batch, with the lane released:
        // another thread can encode the next batch during the `send`s.
        let ((), conns) = collecting(|| self.encode(batch));
        if !conns.is_empty() {
            ctx.after_release(move || write_collected(conns));
        }
    }
}

impl Encode {
    fn encode(&mut self, batch: &mut Batch<'_, EncodeIn>) {
        for event in batch {
            match event {
                EncodeIn::Reply {
                    conn,
                    seq,
                    responses,
                    read_at,
                } => conn.reply(seq, read_at, &responses),
                EncodeIn::Notify { to, kind } => self.notices.push((to, kind)),
            }
        }
        if !self.notices.is_empty() {
            // One registry lookup pass per batch for reports to other owners.
            let mut notices = std::mem::take(&mut self.notices);
            let registry = self.registry.clone();
            registry.with(|conns| {
                for (to, kind) in notices.drain(..) {
                    match conns.get(&to) {
                        Some(conn) => conn.notify(&Response::Report(kind)),
                        None => self.metrics.discarded(1),
                    }
                }
            });
            self.notices = notices;
        }
    }
}
