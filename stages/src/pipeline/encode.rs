//! Encode: responses → JSON lines → the owning connection's writer.

use std::sync::Arc;

use sedaflow::{Batch, Context, Handler};

use super::events::EncodeIn;
use crate::codec::{encode_line, Response};
use crate::internal_events::ServerMetrics;
use crate::matching::ReportKind;
use crate::net::{Conn, ConnId, Outgoing, Registry};

pub(crate) struct Encode {
    pub(crate) registry: Arc<Registry>,
    pub(crate) metrics: ServerMetrics,
    notices: Vec<(ConnId, ReportKind)>,
    /// This batch's output per connection, sent as one message each at the end.
    outputs: Vec<(Arc<Conn>, Vec<Outgoing>)>,
}

impl Encode {
    pub(crate) fn new(registry: Arc<Registry>, metrics: ServerMetrics) -> Self {
        Encode {
            registry,
            metrics,
            notices: Vec::new(),
            outputs: Vec::new(),
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
                    self.queue(
                        conn,
                        Outgoing::Reply {
                            seq,
                            lines,
                            read_at,
                        },
                    );
                }
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
                        Some(conn) => {
                            let mut lines = Vec::with_capacity(128);
                            encode_line(&Response::Report(kind), &mut lines);
                            self.queue(conn.clone(), Outgoing::Notify { lines });
                        }
                        None => self.metrics.discarded(1),
                    }
                }
            });
            self.notices = notices;
        }
        for (conn, mut out) in self.outputs.drain(..) {
            let msg = match out.len() {
                1 => out.pop().expect("one message"),
                _ => Outgoing::Many(out),
            };
            conn.send(msg);
        }
    }
}

impl Encode {
    /// Adds output for `conn` to this batch (few connections per batch: a linear scan).
    fn queue(&mut self, conn: Arc<Conn>, msg: Outgoing) {
        match self.outputs.iter_mut().find(|(c, _)| c.id == conn.id) {
            Some((_, out)) => out.push(msg),
            None => self.outputs.push((conn, vec![msg])),
        }
    }
}
