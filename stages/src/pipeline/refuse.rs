//! Frames answered at the read, without entering the stages: new orders beyond admission's
//! room, and frames the pipeline refused (it is closing, or decode rejects when full). Each
//! answer takes its request's sequence slot, so the connection's response order holds.

use std::sync::Arc;
use std::time::Instant;

use super::client::Client;
use super::events::{DecodeIn, Span};
use crate::admission::Admission;
use crate::codec::{decode_request, new_order_id, Response};
use crate::internal_events::ServerMetrics;
use crate::matching::{OrderId, RejectReason, ReportKind, Request};

/// Admission control: new orders beyond the controller's room are answered `overloaded`
/// here instead of entering the queues. Only the frames beyond the room are read, and only
/// for their op and id ([`new_order_id`]): refusing must cost a small part of serving, so a
/// new order refused here is `overloaded` whatever its other fields hold. The limit admits
/// a batch's first orders. (Shedding at the read, which refuses a read's oldest orders, is
/// the network's: it refuses before it makes events.) Returns how many it refused.
pub(crate) fn admit(admission: &Admission, batch: &mut Vec<DecodeIn>) -> u64 {
    let wanted = batch.iter().map(DecodeIn::requests).sum();
    let room = admission.room(wanted);
    let mut refused = 0;
    if room < wanted {
        let mut next = 0;
        for event in batch.iter_mut() {
            let DecodeIn::Read(frames) = event else {
                continue;
            };
            let (conn, bytes, read_at) = (&frames.conn, &frames.bytes, frames.read_at);
            frames.spans.retain(|(seq, span)| {
                let at = next;
                next += 1;
                // The frames at these positions are admitted whatever they are.
                if at < room {
                    return true;
                }
                match new_order_id(&bytes[span.clone()]) {
                    Some(id) => {
                        refused += 1;
                        answer(conn, *seq, read_at, overloaded(id));
                        false
                    }
                    None => true,
                }
            });
        }
        batch.retain(|e| !matches!(e, DecodeIn::Read(frames) if frames.spans.is_empty()));
    }
    admission.counted(wanted - refused, refused);
    refused as u64
}

/// Shedding at the read, over a read's frames before they are events (`spans` of `bytes`,
/// each with its sequence number, oldest first): the new orders among all but the last
/// `room` move to `refused` with their ids, to be answered `overloaded`; the rest stay.
/// The oldest waited longest in the socket. Frames that are not new orders are never
/// refused here, and a refused frame is read only for its op and id ([`new_order_id`]).
pub(crate) fn shed_oldest(
    spans: &mut Vec<Span>,
    bytes: &[u8],
    room: usize,
    refused: &mut Vec<(u64, OrderId)>,
) {
    let beyond = spans.len().saturating_sub(room);
    if beyond == 0 {
        // The usual read: all admitted, nothing to look at.
        return;
    }
    let mut at = 0;
    spans.retain(|(seq, span)| {
        at += 1;
        let id = (at <= beyond).then(|| new_order_id(&bytes[span.clone()]));
        match id.flatten() {
            Some(id) => refused.push((*seq, id)),
            None => return true,
        }
        false
    });
}

/// Answers each frame the pipeline refused: `pong`, `overloaded`, or the frame's error;
/// `admission` counts them out of decode's queue, which never took them.
pub(crate) fn refuse(events: Vec<DecodeIn>, admission: &Admission, metrics: &ServerMetrics) {
    for event in events {
        let DecodeIn::Read(frames) = event else {
            continue;
        };
        admission.left_decode(frames.spans.len());
        for (seq, frame) in frames.iter() {
            let response = match decode_request(frame) {
                Ok(Request::Ping) => Response::Pong,
                Ok(req) => {
                    metrics.refused(RejectReason::Overloaded.as_str());
                    overloaded(req.id().unwrap_or_default())
                }
                Err(e) => e.into(),
            };
            answer(&frames.conn, seq, frames.read_at, response);
        }
    }
}

/// The answer to new order `id` refused for overload.
pub(crate) fn overloaded(id: OrderId) -> Response {
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

#[cfg(test)]
mod tests {
    use parking_lot::Mutex;

    use super::super::client::Reply;
    use super::super::events::Frames;
    use super::super::order_state::OrderState;
    use super::*;
    use crate::admission::AdmissionConfig;
    use crate::internal_events::AdmissionMetrics;

    /// A connection that records the answers filed for it.
    #[derive(Debug, Default)]
    struct Recorder {
        orders: OrderState,
        answered: Mutex<Vec<(u64, Vec<Response>)>>,
    }

    impl Client for Recorder {
        fn id(&self) -> u64 {
            1
        }
        fn owner(&self) -> crate::matching::Owner {
            1
        }
        fn orders(&self) -> &OrderState {
            &self.orders
        }
        fn shares_account(&self) -> bool {
            false
        }
        fn reply(self: Arc<Self>, seq: u64, _: Instant, responses: &[Response]) {
            self.answered.lock().push((seq, responses.to_vec()));
        }
        fn reply_run(self: Arc<Self>, run: &[Reply]) {
            for r in run {
                self.answered.lock().push((r.seq, r.responses.clone()));
            }
        }
    }

    /// A batch of two reads of `lines` (the first `split` in the first), request `i` with
    /// sequence number `i`.
    fn batch(conn: &Arc<Recorder>, lines: &[&str], split: usize) -> Vec<DecodeIn> {
        let now = Instant::now();
        let read = |first: u64, lines: &[&str]| {
            let bytes = lines.concat();
            DecodeIn::Read(Frames {
                conn: conn.clone(),
                spans: spans(first, lines),
                bytes: bytes.into(),
                read_at: now,
            })
        };
        vec![
            read(0, &lines[..split]),
            read(split as u64, &lines[split..]),
        ]
    }

    /// The spans of `lines` laid end to end, the first with sequence number `first`.
    fn spans(first: u64, lines: &[&str]) -> Vec<Span> {
        let mut spans: Vec<Span> = Vec::new();
        for (seq, line) in (first..).zip(lines) {
            let at = spans.last().map_or(0, |(_, span)| span.end);
            spans.push((seq, at..at + line.len()));
        }
        spans
    }

    /// Each read's sequence numbers.
    fn seqs(batch: &[DecodeIn]) -> Vec<Vec<u64>> {
        batch
            .iter()
            .map(|f| match f {
                DecodeIn::Read(frames) => frames.spans.iter().map(|(seq, _)| *seq).collect(),
                _ => unreachable!("reads only"),
            })
            .collect()
    }

    const LINES: [&str; 5] = [
        r#"{"op":"limit","id":1,"symbol":"A","side":"buy","price":"1","qty":1}"#,
        r#"{"op":"cancel","id":1,"symbol":"A"}"#,
        r#"{"op":"limit","id":3,"symbol":"A","side":"buy","price":"1","qty":1}"#,
        r#"{"op":"market","id":4,"symbol":"A","side":"buy","qty":1}"#,
        r#"{"op":"limit","id":5,"symbol":"A","side":"buy","price":"1","qty":1}"#,
    ];

    fn answers(conn: &Recorder) -> Vec<(u64, Response)> {
        conn.answered
            .lock()
            .iter()
            .map(|(seq, r)| (*seq, r[0]))
            .collect()
    }

    #[test]
    fn shedding_at_the_read_refuses_the_oldest_orders_and_the_limit_the_newest() {
        // The read admits two: the last two; before them the orders are refused, the cancel
        // goes on.
        let bytes = LINES.concat();
        let mut spans = spans(0, &LINES);
        let mut refused = Vec::new();
        shed_oldest(&mut spans, bytes.as_bytes(), 2, &mut refused);
        assert_eq!(
            spans.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(),
            [1, 3, 4]
        );
        assert_eq!(&bytes[spans[0].1.clone()], LINES[1]);
        assert_eq!(refused, [(0, 1), (2, 3)]);
        shed_oldest(&mut spans, bytes.as_bytes(), 3, &mut refused);
        assert_eq!(spans.len(), 3, "room for all");

        // A limit of two admits the first two; after them the orders are refused.
        let config = AdmissionConfig {
            max_limit: 2,
            min_limit: 1,
            ..AdmissionConfig::default()
        };
        let admission = Admission::new(&config, AdmissionMetrics::register(config.target));
        let conn = Arc::new(Recorder::default());
        let mut frames = batch(&conn, &LINES, 1);
        assert_eq!(admit(&admission, &mut frames), 3);
        assert_eq!(seqs(&frames), [vec![0], vec![1]]);
        assert_eq!(
            answers(&conn),
            [(2, overloaded(3)), (3, overloaded(4)), (4, overloaded(5))]
        );
        // Admitted requests count against the limit until decode takes them.
        assert_eq!(admission.room(5), 0);
        admission.left_decode(2);
        assert_eq!(admission.room(5), 2);
        // A read the limit refused whole leaves the batch.
        conn.answered.lock().clear();
        let mut frames = batch(&conn, &LINES, 2);
        assert_eq!(admit(&admission, &mut frames), 3);
        assert_eq!(seqs(&frames), [vec![0, 1]]);
        assert_eq!(answers(&conn).len(), 3);
    }
}
