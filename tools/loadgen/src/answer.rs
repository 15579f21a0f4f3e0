use serde::Deserialize;

use sedaflow_stages::codec::scan_flat;
use sedaflow_stages::matching::OrderId;

/// The parts of a response the load generator looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Answer<'a> {
    Ack { id: OrderId },
    Amended { id: OrderId },
    Fill { id: OrderId },
    Done { id: OrderId, reason: &'a str },
    Reject { id: OrderId, reason: &'a str },
    Pong,
    Error { reason: &'a str },
}

/// Only these fields are read; the rest of a `fill` is skipped unparsed.
#[derive(Deserialize)]
struct Wire<'a> {
    #[serde(rename = "type", borrow)]
    kind: &'a str,
    id: Option<OrderId>,
    #[serde(borrow)]
    reason: Option<&'a str>,
}

/// Reads one response line; `None` when it is not a response the protocol defines (not
/// JSON, an unknown `type`, or a field it needs missing).
pub(crate) fn parse_answer(line: &[u8]) -> Option<Answer<'_>> {
    // The server's lines are flat objects: scanned in one pass, with serde for anything else
    // (the reading is the same; the scan is several times cheaper, and at full load the
    // load generator reads two lines per request).
    let wire = std::str::from_utf8(line)
        .ok()
        .and_then(scan)
        .or_else(|| serde_json::from_slice(line).ok())?;
    Some(match wire.kind {
        "ack" => Answer::Ack { id: wire.id? },
        "amended" => Answer::Amended { id: wire.id? },
        "fill" => Answer::Fill { id: wire.id? },
        "done" => Answer::Done {
            id: wire.id?,
            reason: wire.reason?,
        },
        "reject" => Answer::Reject {
            id: wire.id?,
            reason: wire.reason?,
        },
        "pong" => Answer::Pong,
        "error" => Answer::Error {
            reason: wire.reason?,
        },
        _ => return None,
    })
}

/// The fields of a flat response line; `None` leaves the line to serde: a repeated field,
/// or a value serde would read differently (an `id` that is not a plain integer, a
/// non-string `type` or `reason`).
fn scan(text: &str) -> Option<Wire<'_>> {
    let (mut kind, mut id, mut reason) = (None, None, None);
    scan_flat(text, |key, raw| {
        let slot = match key {
            "type" => &mut kind,
            "id" => &mut id,
            "reason" => &mut reason,
            _ => return Some(()),
        };
        match slot.replace(raw) {
            Some(_) => None,
            None => Some(()),
        }
    })?;
    fn string(raw: Option<&str>) -> Option<Option<&str>> {
        match raw {
            None | Some("null") => Some(None),
            Some(raw) => Some(Some(raw.strip_prefix('"')?.strip_suffix('"')?)),
        }
    }
    let id = match id {
        None | Some("null") => None,
        Some(digits) => Some(digits.parse::<OrderId>().ok()?),
    };
    Some(Wire {
        kind: string(kind)??,
        id,
        reason: string(reason)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sedaflow_stages::codec::{encode_response, Response};
    use sedaflow_stages::matching::{DoneReason, Price, RejectReason, ReportKind, Side, Symbol};

    fn encoded(response: impl Into<Response>) -> Vec<u8> {
        let mut out = Vec::new();
        encode_response(&response.into(), &mut out);
        out
    }

    #[test]
    fn reads_what_the_server_encodes() {
        let fill = ReportKind::Fill {
            id: 4,
            symbol: Symbol::new("SYM0").unwrap(),
            side: Side::Buy,
            price: Price::parse("99.9").unwrap(),
            qty: 5,
            leaves: 2,
            match_id: 9,
        };
        let cases = [
            (encoded(ReportKind::Ack { id: 1 }), Answer::Ack { id: 1 }),
            (encoded(fill), Answer::Fill { id: 4 }),
            (
                encoded(ReportKind::Done {
                    id: 4,
                    reason: DoneReason::Cancelled,
                    leaves: 2,
                }),
                Answer::Done {
                    id: 4,
                    reason: "cancelled",
                },
            ),
            (
                encoded(ReportKind::Reject {
                    id: 6,
                    reason: RejectReason::UnknownOrder,
                }),
                Answer::Reject {
                    id: 6,
                    reason: "unknown order",
                },
            ),
            (encoded(Response::Pong), Answer::Pong),
            (
                encoded(Response::Error(
                    sedaflow_stages::codec::ErrorReason::InvalidJson,
                )),
                Answer::Error {
                    reason: "invalid json",
                },
            ),
        ];
        for (line, answer) in cases {
            assert_eq!(parse_answer(&line), Some(answer));
        }
    }

    #[test]
    fn field_order_does_not_matter() {
        assert_eq!(
            parse_answer(br#"{"id":3,"extra":[1],"type":"ack"}"#),
            Some(Answer::Ack { id: 3 })
        );
    }

    #[test]
    fn the_scan_reads_what_serde_reads() {
        fn fields(w: Wire<'_>) -> (&str, Option<OrderId>, Option<&str>) {
            (w.kind, w.id, w.reason)
        }
        for line in [
            r#"{"type":"ack","id":1}"#,
            r#"{"type":"reject","id":2,"reason":"overloaded"}"#,
            r#"{"type":"ack","id":null}"#,
            r#"{"type":"ack","id":"1"}"#,
            r#"{"type":"ack","id":1.0}"#,
            r#"{"type":"ack","id":18446744073709551616}"#,
            r#"{"type":"ack","id":1,"id":2}"#,
            r#"{"type":null,"id":1}"#,
            r#"{"type":7,"id":1}"#,
            r#"{"type":"done","id":1,"reason":5}"#,
            r#"{"type":"done","id":1,"reason":null}"#,
            r#"{"type":"error","reason":"invalid json","x":true}"#,
        ] {
            let serde: Option<Wire<'_>> = serde_json::from_str(line).ok();
            if let Some(scanned) = scan(line) {
                assert_eq!(Some(fields(scanned)), serde.map(fields), "{line}");
            }
        }
    }

    #[test]
    fn refuses_what_is_not_a_response() {
        for line in [
            &b"not json"[..],
            br#"{"type":"ack"}"#,
            br#"{"type":"hello","id":1}"#,
            br#"{"type":"reject","id":1}"#,
            br#"{"id":1}"#,
            br#"{"type":"ack","id":-1}"#,
        ] {
            assert_eq!(
                parse_answer(line),
                None,
                "{}",
                String::from_utf8_lossy(line)
            );
        }
    }
}
