//! Frames answered at the read, without entering the stages: new orders beyond admission's
//! room, and frames the pipeline refused (it is closing, or decode rejects when full). Each
//! answer takes its request's sequence slot, so the connection's response order holds.

use std::sync::Arc;
use std::time::Instant;

use super::client::Client;
use super::events::DecodeIn;
use crate::admission::Admission;
use crate::codec::{decode_request, new_order_id, Response};
use crate::internal_events::ServerMetrics;
use crate::matching::{OrderId, RejectReason, ReportKind, Request};

/// Admission control: new orders beyond the controller's room, or beyond `read_room` (what
/// the connection's shedding at the read admits of this batch), are answered `overloaded`
/// here instead of entering the queues. Only the frames beyond the room are read, and only
/// for their op and id ([`new_order_id`]): refusing must cost a small part of serving, so a
/// new order refused here is `overloaded` whatever its other fields hold.
pub(crate) fn admit(admission: &Admission, batch: &mut Vec<DecodeIn>, read_room: usize) {
    let limit_room = admission.room(batch.len());
    let room = limit_room.min(read_room);
    let mut refused = 0;
    if room < batch.len() {
        let mut seen = 0;
        batch.retain(|f| {
            seen += 1;
            let DecodeIn::Frame {
                conn,
                seq,
                frame,
                read_at,
            } = f
            else {
                return true;
            };
            if seen <= room {
                return true;
            }
            match new_order_id(frame) {
                Some(id) => {
                    refused += 1;
                    answer(conn, *seq, *read_at, overloaded(id));
                    false
                }
                None => true,
            }
        });
    }
    admission.counted(batch.len(), refused, read_room < limit_room);
}

/// Answers each frame the pipeline refused: `pong`, `overloaded`, or the frame's error.
pub(crate) fn refuse(frames: Vec<DecodeIn>, metrics: &ServerMetrics) {
    for f in frames {
        if let DecodeIn::Frame {
            conn,
            seq,
            frame,
            read_at,
        } = f
        {
            let response = match decode_request(&frame) {
                Ok(Request::Ping) => Response::Pong,
                Ok(req) => {
                    metrics.refused(RejectReason::Overloaded.as_str());
                    overloaded(req.id().unwrap_or_default())
                }
                Err(e) => e.into(),
            };
            answer(&conn, seq, read_at, response);
        }
    }
}

fn overloaded(id: OrderId) -> Response {
    ReportKind::Reject {
        id,
        reason: RejectReason::Overloaded,
    }
    .into()
}

/// Answers request `seq` of `conn` with one response, in its sequence slot, without the
/// stages (also the network's answer to a frame too long to read).
pub(crate) fn answer<C: Client + ?Sized>(
    conn: &Arc<C>,
    seq: u64,
    read_at: Instant,
    response: Response,
) {
    Client::reply(conn.clone(), seq, read_at, std::slice::from_ref(&response));
}
