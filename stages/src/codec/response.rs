use super::{DecodeError, ErrorReason, FrameError};
use crate::accounts::AccountName;
use crate::matching::{Price, RejectReason, ReportKind, Side, Symbol};

/// Anything the server sends a client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Response {
    /// `ack`, `fill`, `done` or `reject`.
    Report(ReportKind),
    /// The answer to `ping`.
    Pong,
    /// A `login` succeeded.
    Login(AccountName),
    /// A request without an id (`orders`, `cancel_all`) refused for a reason that would be a
    /// `reject` for one with an id (`overloaded`): an `error` with that reason.
    Refused(RejectReason),
    /// A frame that could not be read as a request.
    Error(ErrorReason),
}

impl From<ReportKind> for Response {
    fn from(kind: ReportKind) -> Response {
        Response::Report(kind)
    }
}

impl From<DecodeError> for Response {
    fn from(error: DecodeError) -> Response {
        match error {
            DecodeError::Error { reason } => Response::Error(reason),
            DecodeError::Reject { id, reason } => {
                Response::Report(ReportKind::Reject { id, reason })
            }
        }
    }
}

impl From<FrameError> for Response {
    fn from(error: FrameError) -> Response {
        Response::Error(error.into())
    }
}

/// Appends `response` as one JSON object, fields in protocol order, without a newline.
///
/// Written directly, without a JSON value in between: symbols and reasons never need
/// escaping.
///
/// # Examples
///
/// ```
/// use sedaflow_stages::codec::{encode_response, Response};
/// use sedaflow_stages::matching::ReportKind;
///
/// let mut out = Vec::new();
/// encode_response(&ReportKind::Ack { id: 1 }.into(), &mut out);
/// assert_eq!(out, br#"{"type":"ack","id":1}"#);
/// ```
pub fn encode_response(response: &Response, out: &mut Vec<u8>) {
    let mut numbers = itoa::Buffer::new();
    let mut number = |out: &mut Vec<u8>, value: u64| {
        out.extend_from_slice(numbers.format(value).as_bytes());
    };
    match *response {
        Response::Report(ReportKind::Ack { id }) => {
            out.extend_from_slice(br#"{"type":"ack","id":"#);
            number(out, id);
        }
        Response::Report(ReportKind::Fill {
            id,
            symbol,
            side,
            price,
            qty,
            leaves,
            match_id,
        }) => {
            out.extend_from_slice(br#"{"type":"fill","id":"#);
            number(out, id);
            symbol_side_price(out, symbol, side, price);
            out.extend_from_slice(br#"","qty":"#);
            number(out, qty);
            out.extend_from_slice(br#","leaves":"#);
            number(out, leaves);
            out.extend_from_slice(br#","match":"#);
            number(out, match_id);
        }
        Response::Report(ReportKind::Done { id, reason, leaves }) => {
            out.extend_from_slice(br#"{"type":"done","id":"#);
            number(out, id);
            out.extend_from_slice(br#","reason":""#);
            out.extend_from_slice(reason.as_str().as_bytes());
            out.extend_from_slice(br#"","leaves":"#);
            number(out, leaves);
        }
        Response::Report(ReportKind::Amended { id, price, leaves }) => {
            out.extend_from_slice(br#"{"type":"amended","id":"#);
            number(out, id);
            out.extend_from_slice(br#","price":""#);
            out.extend_from_slice(price.text().as_bytes());
            out.extend_from_slice(br#"","leaves":"#);
            number(out, leaves);
        }
        Response::Report(ReportKind::Order {
            id,
            symbol,
            side,
            price,
            leaves,
            tif,
        }) => {
            out.extend_from_slice(br#"{"type":"order","id":"#);
            number(out, id);
            symbol_side_price(out, symbol, side, price);
            out.extend_from_slice(br#"","leaves":"#);
            number(out, leaves);
            out.extend_from_slice(br#","tif":""#);
            out.extend_from_slice(tif.as_str().as_bytes());
            out.push(b'"');
        }
        Response::Report(ReportKind::OrdersEnd { count }) => {
            out.extend_from_slice(br#"{"type":"orders_end","count":"#);
            number(out, count);
        }
        Response::Report(ReportKind::CancelAllDone { count }) => {
            out.extend_from_slice(br#"{"type":"cancel_all_done","count":"#);
            number(out, count);
        }
        Response::Login(account) => {
            // Account names are `A–Z a–z 0–9 . _ -` only: nothing to escape.
            out.extend_from_slice(br#"{"type":"login","account":""#);
            out.extend_from_slice(account.as_str().as_bytes());
            out.push(b'"');
        }
        Response::Report(ReportKind::Reject { id, reason }) => {
            out.extend_from_slice(br#"{"type":"reject","id":"#);
            number(out, id);
            out.extend_from_slice(br#","reason":""#);
            out.extend_from_slice(reason.as_str().as_bytes());
            out.push(b'"');
        }
        Response::Pong => out.extend_from_slice(br#"{"type":"pong""#),
        Response::Error(reason) => error(out, reason.as_str()),
        Response::Refused(reason) => error(out, reason.as_str()),
    }
    out.push(b'}');
}

/// `,"symbol":"…","side":"…","price":"…` of a fill or an order (the price's closing quote
/// is the next field's to write).
fn symbol_side_price(out: &mut Vec<u8>, symbol: Symbol, side: Side, price: Price) {
    out.extend_from_slice(br#","symbol":""#);
    out.extend_from_slice(symbol.as_bytes());
    out.extend_from_slice(br#"","side":""#);
    out.extend_from_slice(side.as_str().as_bytes());
    out.extend_from_slice(br#"","price":""#);
    out.extend_from_slice(price.text().as_bytes());
}

/// An `error` object without its closing brace; reasons never need escaping.
fn error(out: &mut Vec<u8>, reason: &str) {
    out.extend_from_slice(br#"{"type":"error","reason":""#);
    out.extend_from_slice(reason.as_bytes());
    out.push(b'"');
}

/// Appends `response` as a JSON line: the object and `\n`.
pub fn encode_line(response: &Response, out: &mut Vec<u8>) {
    encode_response(response, out);
    out.push(b'\n');
}

/// Appends `responses` as one JSON array (an HTTP response body), without a newline.
///
/// # Examples
///
/// ```
/// use sedaflow_stages::codec::{encode_array, Response};
///
/// let mut out = Vec::new();
/// encode_array(&[Response::Pong, Response::Pong], &mut out);
/// assert_eq!(out, br#"[{"type":"pong"},{"type":"pong"}]"#);
/// ```
pub fn encode_array<'a>(responses: impl IntoIterator<Item = &'a Response>, out: &mut Vec<u8>) {
    out.push(b'[');
    for (index, response) in responses.into_iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        encode_response(response, out);
    }
    out.push(b']');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::{
        DoneReason, Engine, Owner, Price, RejectReason, Report, Request, Side, Symbol, Tif, To,
    };

    fn line(response: impl Into<Response>) -> String {
        let mut out = Vec::new();
        encode_line(&response.into(), &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn protocol_example_is_byte_exact() {
        const A: Owner = 1;
        const B: Owner = 2;
        let acme = Symbol::new("ACME").unwrap();
        let mut engine = Engine::new();
        let mut out: Vec<Report> = Vec::new();
        let requests = [
            (
                A,
                Request::Limit {
                    id: 1,
                    symbol: acme,
                    side: Side::Sell,
                    price: Price::parse("10.05").unwrap(),
                    qty: 100,
                    tif: Tif::Gtc,
                    stp: Default::default(),
                },
            ),
            (
                B,
                Request::Limit {
                    id: 2,
                    symbol: acme,
                    side: Side::Buy,
                    price: Price::parse("10.10").unwrap(),
                    qty: 40,
                    tif: Tif::Gtc,
                    stp: Default::default(),
                },
            ),
            (
                A,
                Request::Cancel {
                    id: 1,
                    symbol: acme,
                },
            ),
        ];
        let mut floors = [0; 3];
        let mut senders = Vec::new();
        for (owner, request) in &requests {
            let floor = &mut floors[*owner as usize];
            if engine
                .submit(*owner, request, *floor, &mut out)
                .is_accepted()
            {
                *floor = request.id().unwrap();
            }
            senders.resize(out.len(), *owner);
        }
        let transcript: Vec<String> = out
            .iter()
            .zip(senders)
            .map(|(report, sender)| {
                let to = match report.to {
                    To::Sender => sender,
                    To::Owner(owner) => owner,
                };
                let who = if to == A { "A" } else { "B" };
                format!("{who} ← {}", line(report.kind).trim_end())
            })
            .collect();
        assert_eq!(
            transcript,
            [
                r#"A ← {"type":"ack","id":1}"#,
                r#"B ← {"type":"ack","id":2}"#,
                r#"B ← {"type":"fill","id":2,"symbol":"ACME","side":"buy","price":"10.05","qty":40,"leaves":0,"match":1}"#,
                r#"A ← {"type":"fill","id":1,"symbol":"ACME","side":"sell","price":"10.05","qty":40,"leaves":60,"match":1}"#,
                r#"B ← {"type":"done","id":2,"reason":"filled","leaves":0}"#,
                r#"A ← {"type":"done","id":1,"reason":"cancelled","leaves":60}"#,
            ]
        );
    }

    #[test]
    fn every_response_kind() {
        assert_eq!(line(Response::Pong), "{\"type\":\"pong\"}\n");
        assert_eq!(
            line(Response::Error(ErrorReason::InvalidJson)),
            "{\"type\":\"error\",\"reason\":\"invalid json\"}\n"
        );
        assert_eq!(
            line(ReportKind::Reject {
                id: 9_223_372_036_854_775_807,
                reason: RejectReason::IdNotIncreasing
            }),
            "{\"type\":\"reject\",\"id\":9223372036854775807,\"reason\":\"id not increasing\"}\n"
        );
        assert_eq!(
            line(ReportKind::Done {
                id: 3,
                reason: DoneReason::Expired,
                leaves: 1_000_000_000
            }),
            "{\"type\":\"done\",\"id\":3,\"reason\":\"expired\",\"leaves\":1000000000}\n"
        );
        let fill = ReportKind::Fill {
            id: 1,
            symbol: Symbol::new("BRK.B").unwrap(),
            side: Side::Sell,
            price: Price::parse("7.000").unwrap(),
            qty: 5,
            leaves: 0,
            match_id: 12,
        };
        assert_eq!(
            line(fill),
            "{\"type\":\"fill\",\"id\":1,\"symbol\":\"BRK.B\",\"side\":\"sell\",\"price\":\"7\",\"qty\":5,\"leaves\":0,\"match\":12}\n"
        );
    }

    #[test]
    fn every_v2_response_kind() {
        let acme = Symbol::new("ACME").unwrap();
        let cases = [
            (
                ReportKind::Amended {
                    id: 4,
                    price: Price::parse("10.50").unwrap(),
                    leaves: 60,
                }
                .into(),
                r#"{"type":"amended","id":4,"price":"10.5","leaves":60}"#,
            ),
            (
                ReportKind::Order {
                    id: 5,
                    symbol: acme,
                    side: Side::Buy,
                    price: Price::parse("7").unwrap(),
                    leaves: 1,
                    tif: Tif::Post,
                }
                .into(),
                r#"{"type":"order","id":5,"symbol":"ACME","side":"buy","price":"7","leaves":1,"tif":"post"}"#,
            ),
            (
                ReportKind::OrdersEnd { count: 0 }.into(),
                r#"{"type":"orders_end","count":0}"#,
            ),
            (
                ReportKind::CancelAllDone { count: 12 }.into(),
                r#"{"type":"cancel_all_done","count":12}"#,
            ),
            (
                ReportKind::Done {
                    id: 6,
                    reason: DoneReason::SelfTrade,
                    leaves: 3,
                }
                .into(),
                r#"{"type":"done","id":6,"reason":"self trade","leaves":3}"#,
            ),
            (
                Response::Login(AccountName::new("a.b_C-9").unwrap()),
                r#"{"type":"login","account":"a.b_C-9"}"#,
            ),
            (
                ReportKind::Reject {
                    id: 7,
                    reason: RejectReason::NothingToAmend,
                }
                .into(),
                r#"{"type":"reject","id":7,"reason":"nothing to amend"}"#,
            ),
            (
                ReportKind::Reject {
                    id: 8,
                    reason: RejectReason::InvalidStp,
                }
                .into(),
                r#"{"type":"reject","id":8,"reason":"invalid stp"}"#,
            ),
            (
                Response::Error(ErrorReason::InvalidSymbol),
                r#"{"type":"error","reason":"invalid symbol"}"#,
            ),
            (
                Response::Error(ErrorReason::LoginNotFirst),
                r#"{"type":"error","reason":"login not first"}"#,
            ),
        ];
        for (response, expected) in cases {
            assert_eq!(line(response), format!("{expected}\n"));
            serde_json::from_str::<serde_json::Value>(expected).unwrap();
        }
    }

    #[test]
    fn errors_convert_to_responses() {
        assert_eq!(
            line(FrameError::TooLong),
            "{\"type\":\"error\",\"reason\":\"frame too long\"}\n"
        );
        let reject = DecodeError::Reject {
            id: 4,
            reason: RejectReason::InvalidSide,
        };
        assert_eq!(
            line(reject),
            "{\"type\":\"reject\",\"id\":4,\"reason\":\"invalid side\"}\n"
        );
        let error = DecodeError::Error {
            reason: ErrorReason::MissingId,
        };
        assert_eq!(
            line(error),
            "{\"type\":\"error\",\"reason\":\"missing id\"}\n"
        );
    }

    #[test]
    fn output_is_valid_json() {
        let responses = [
            Response::Pong,
            ReportKind::Ack { id: 5 }.into(),
            Response::Error(ErrorReason::NotAnObject),
        ];
        let mut out = Vec::new();
        encode_array(&responses, &mut out);
        let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(value[1]["type"], "ack");
        assert_eq!(value[1]["id"], 5);
        out.clear();
        encode_array(&[], &mut out);
        assert_eq!(out, b"[]");
    }
}
