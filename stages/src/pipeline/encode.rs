//! Encode: responses → JSON lines → the owning connection's output.

use std::sync::Arc;

use sedaflow::{Batch, Context, Handler};

use super::client::{Clients, Notice};
use super::events::EncodeIn;
use super::responses;
use crate::internal_events::ServerMetrics;

pub(crate) struct Encode {
    clients: Arc<dyn Clients>,
    metrics: ServerMetrics,
    notices: Vec<Notice>,
}

impl Encode {
    pub(crate) fn new(clients: Arc<dyn Clients>, metrics: ServerMetrics) -> Self {
        Encode {
            clients,
            metrics,
            notices: Vec::new(),
        }
    }
}

impl Handler for Encode {
    type In = EncodeIn;

    fn handle(&mut self, batch: &mut Batch<'_, EncodeIn>, ctx: &mut Context<'_>) {
        let Encode {
            clients,
            metrics,
            notices,
        } = self;
        // Each connection's output is written once, after the batch.
        clients.encode_then_write(ctx, &mut || {
            for event in &mut *batch {
                match event {
                    EncodeIn::Reply {
                        conn,
                        seq,
                        responses,
                        read_at,
                    } => {
                        conn.reply(seq, read_at, &responses);
                        responses::give(responses);
                    }
                    EncodeIn::Notify(notice) => notices.push(notice),
                }
            }
            if !notices.is_empty() {
                // One lookup pass per batch for reports to accounts' sessions.
                metrics.discarded(clients.notify(notices));
            }
        });
    }
}
