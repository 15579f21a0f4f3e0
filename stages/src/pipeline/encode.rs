//! Encode: responses → JSON lines → the owning connection's output.

use std::sync::Arc;

use sedaflow::{Batch, Context, Handler};

use super::client::{ClientRef, Clients, Notice, Reply};
use super::events::EncodeIn;
use super::responses;
use crate::internal_events::ServerMetrics;

pub(crate) struct Encode {
    clients: Arc<dyn Clients>,
    metrics: ServerMetrics,
    notices: Vec<Notice>,
    /// The batch's latest answers to one client, filed together.
    run: Vec<Reply>,
}

impl Encode {
    pub(crate) fn new(clients: Arc<dyn Clients>, metrics: ServerMetrics) -> Self {
        Encode {
            clients,
            metrics,
            notices: Vec::new(),
            run: Vec::new(),
        }
    }
}

/// Files `run`'s answers with their client, and keeps their vectors for matching to reuse.
fn answer(conn: Option<ClientRef>, run: &mut Vec<Reply>) {
    if let Some(conn) = conn {
        conn.reply_run(run);
    }
    for reply in run.drain(..) {
        responses::give(reply.responses);
    }
}

impl Handler for Encode {
    type In = EncodeIn;

    fn handle(&mut self, batch: &mut Batch<'_, EncodeIn>, ctx: &mut Context<'_>) {
        let Encode {
            clients,
            metrics,
            notices,
            run,
        } = self;
        // Answers a panic in the last batch left unfiled: counted, never sent to another client.
        let stale: usize = run.drain(..).map(|r| r.responses.len()).sum();
        if stale > 0 {
            metrics.discarded(stale as u64);
        }
        // Each connection's output is written once, after the batch.
        clients.encode_then_write(ctx, &mut || {
            // A read's answers come one after another: filed as one run per client.
            let mut to: Option<ClientRef> = None;
            for event in &mut *batch {
                match event {
                    EncodeIn::Reply {
                        conn,
                        seq,
                        responses,
                        read_at,
                    } => {
                        if to.as_ref().is_some_and(|c| !Arc::ptr_eq(c, &conn)) {
                            answer(to.take(), run);
                        }
                        to.get_or_insert(conn);
                        run.push(Reply {
                            seq,
                            read_at,
                            responses,
                        });
                    }
                    EncodeIn::Notify(notice) => notices.push(notice),
                }
            }
            answer(to, run);
            if !notices.is_empty() {
                // One lookup pass per batch for reports to accounts' sessions.
                metrics.discarded(clients.notify(notices));
            }
        });
    }
}
