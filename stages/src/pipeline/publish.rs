//! The `publish` stage of an ingress: takes matching's place and hands each validated order
//! to the order log ([`IngressLink`]); the matchers' answers come back through
//! [`answered`], which settles them as matching would have.

use std::sync::Arc;

use sedaflow::{Batch, Context, Handler};

use super::client::{ClientRef, Notice};
use super::events::{EncodeIn, Order};
use crate::accounts::is_named;
use crate::cluster::ingress::{Forward, IngressLink};
use crate::cluster::Answer;
use crate::codec::Response;
use crate::matching::{RejectReason, ReportKind};

pub(crate) struct Publish {
    pub(crate) link: Arc<IngressLink<ClientRef>>,
}

impl Handler for Publish {
    type In = Order;

    fn handle(&mut self, batch: &mut Batch<'_, Order>, ctx: &mut Context<'_>) {
        for o in batch {
            let owner = o.conn.owner();
            // A session's close is logged for the matchers (a named account's counts its
            // sessions; an anonymous one's cancels at once); nothing answers it, so it settles
            // here, once for all its parts.
            let close_session = o.is_disconnect();
            if close_session && o.route == 0 {
                o.conn.orders().settle();
            }
            let forward = Forward {
                conn: o.conn.id(),
                seq: o.seq,
                owner: is_named(owner).then_some(owner),
                floor: o.floor,
                req: o.req,
                to: o.conn.clone(),
                read_at: o.read_at,
                part: o.part.clone().map(|gather| (o.route, gather)),
                close_session,
            };
            let key = (forward.conn, forward.seq);
            if !self.link.forward(forward) {
                // Answered here rather than lost (a part, once the other parts answered).
                if let Some(answer) = o.refused(RejectReason::Overloaded) {
                    self.link.forget(key);
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
            refused,
            read_at,
        } => {
            if let (true, Some(ReportKind::Ack { id })) = (accepted, kinds.first()) {
                conn.orders().accepted(*id);
            }
            conn.orders().settle();
            let mut responses: Vec<Response> = kinds.into_iter().map(Response::Report).collect();
            // Only requests on every book (which carry no id) end with a refusal here.
            responses.extend(refused.map(Response::Refused));
            EncodeIn::Reply {
                conn,
                seq,
                responses,
                read_at,
            }
        }
        Answer::Notice {
            to,
            except,
            elsewhere,
            kind,
        } => EncodeIn::Notify(Notice {
            to,
            except,
            elsewhere,
            kind,
        }),
    }
}
