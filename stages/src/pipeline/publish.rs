//! The `publish` stage of an ingress: takes matching's place and hands each validated order
//! to the order log ([`IngressLink`]); the matchers' answers come back through
//! [`answered`], which settles them as matching would have.

use std::sync::Arc;

use sedaflow::{Batch, Context, Handler};

use super::client::{ClientRef, Notice};
use super::events::{EncodeIn, Order};
use crate::cluster::ingress::{Answer, IngressLink};
use crate::codec::Response;
use crate::matching::{RejectReason, ReportKind};

pub(crate) struct Publish {
    pub(crate) link: Arc<IngressLink<ClientRef>>,
}

impl Handler for Publish {
    type In = Order;

    fn handle(&mut self, batch: &mut Batch<'_, Order>, ctx: &mut Context<'_>) {
        for o in batch {
            let from = (o.conn.id(), o.seq);
            if !self
                .link
                .forward(from, o.floor, &o.req, o.conn.clone(), o.read_at)
            {
                // Answered here rather than lost.
                if let Some(answer) = o.refused(RejectReason::Overloaded) {
                    ctx.emit(answer);
                }
            }
        }
    }
}

/// A matcher's answer, for encode: a reply settles its order (and raises the connection's
/// accepted maximum) as local matching does.
pub(crate) fn answered(answer: Answer<ClientRef>) -> EncodeIn {
    match answer {
        Answer::Reply {
            to: conn,
            seq,
            kinds,
            accepted,
            read_at,
        } => {
            if let (true, Some(ReportKind::Ack { id })) = (accepted, kinds.first()) {
                conn.orders().accepted(*id);
            }
            conn.orders().settle();
            EncodeIn::Reply {
                conn,
                seq,
                responses: kinds.into_iter().map(Response::Report).collect(),
                read_at,
            }
        }
        Answer::Notice { to, kind } => EncodeIn::Notify(Notice {
            to,
            except: None,
            kind,
        }),
    }
}
