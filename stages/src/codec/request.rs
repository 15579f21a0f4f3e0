use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::{DecodeError, ErrorReason};
use crate::matching::{OrderId, Price, Qty, RejectReason, Request, Side, Stp, Symbol, Tif};

/// The highest order id: 2^63 - 1.
const MAX_ID: u64 = i64::MAX as u64;
/// The highest quantity.
const MAX_QTY: Qty = 1_000_000_000;

/// The request object as it arrives: every field optional and kept as raw JSON text, so a
/// wrong type is reported against its field rather than as unreadable JSON, and numbers
/// are judged on their exact text, never through a float.
#[derive(Deserialize)]
struct Wire<'a> {
    #[serde(borrow)]
    op: Option<&'a RawValue>,
    #[serde(borrow)]
    id: Option<&'a RawValue>,
    #[serde(borrow)]
    symbol: Option<&'a RawValue>,
    #[serde(borrow)]
    side: Option<&'a RawValue>,
    #[serde(borrow)]
    price: Option<&'a RawValue>,
    #[serde(borrow)]
    qty: Option<&'a RawValue>,
    #[serde(borrow)]
    tif: Option<&'a RawValue>,
}

#[derive(Clone, Copy)]
enum Op {
    Limit,
    Market,
    Cancel,
    Ping,
}

/// Reads one frame (a line without its ending) as a [`Request`], checking every field
/// against the protocol.
///
/// Fields are checked in this order, the first failure deciding the reason: JSON syntax,
/// object, `op`, `id` (only for ops that need it; `ping` ignores it), then `symbol`,
/// `side`, `price` (only `limit`), `qty`, `tif` (only `limit`). A `market` order ignores
/// `price` and `tif`; unknown fields are ignored; a `null` field counts as missing.
///
/// # Errors
///
/// [`DecodeError::Error`] when there is no usable id to answer to: invalid JSON (including
/// a repeated field), not an object, a missing or unknown `op` without a usable `id`, or a
/// missing or invalid `id` for an op that needs one. [`DecodeError::Reject`] with the
/// request's `id` for a missing or unknown `op` and for any other missing or invalid field.
///
/// # Examples
///
/// ```
/// use sedaflow_stages::codec::{decode_request, DecodeError};
/// use sedaflow_stages::matching::{RejectReason, Request};
///
/// let frame = br#"{"op":"cancel","id":7,"symbol":"ACME"}"#;
/// let request = decode_request(frame).unwrap();
/// assert_eq!(request.id(), Some(7));
///
/// let frame = br#"{"op":"limit","id":8,"symbol":"ACME","side":"buy","price":"1e2","qty":1}"#;
/// assert_eq!(
///     decode_request(frame),
///     Err(DecodeError::Reject { id: 8, reason: RejectReason::InvalidPrice })
/// );
/// assert_eq!(decode_request(br#"{"op":"ping"}"#), Ok(Request::Ping));
/// ```
pub fn decode_request(frame: &[u8]) -> Result<Request, DecodeError> {
    let wire = parse_object(frame)?;
    // Outer `None`: no id; inner `None`: an id that is not usable.
    let id = wire.id.map(|raw| parse_integer(raw, 1, MAX_ID));
    let op = parse_op_field(wire.op, id.flatten())?;
    if let Op::Ping = op {
        return Ok(Request::Ping);
    }
    let id = match id {
        Some(Some(id)) => id,
        Some(None) => return Err(ErrorReason::InvalidId.into()),
        None => return Err(ErrorReason::MissingId.into()),
    };
    let reject = |reason| DecodeError::Reject { id, reason };
    let symbol = required(
        wire.symbol,
        |raw| json_str(raw).and_then(|text| Symbol::new(&text).ok()),
        RejectReason::MissingSymbol,
        RejectReason::InvalidSymbol,
    )
    .map_err(reject)?;
    if let Op::Cancel = op {
        return Ok(Request::Cancel { id, symbol });
    }
    new_order(op, id, symbol, &wire).map_err(reject)
}

/// The `op` field; a missing or unknown one is a `reject` when the id is usable, else an
/// `error`.
fn parse_op_field(raw: Option<&RawValue>, usable_id: Option<OrderId>) -> Result<Op, DecodeError> {
    let (error, reject) = match raw.map(parse_op) {
        Some(Some(op)) => return Ok(op),
        None => (ErrorReason::MissingOp, RejectReason::MissingOp),
        Some(None) => (ErrorReason::InvalidOp, RejectReason::InvalidOp),
    };
    Err(match usable_id {
        Some(id) => DecodeError::Reject { id, reason: reject },
        None => error.into(),
    })
}

/// The rest of a `limit` or `market` order, checked field by field in the contract's order:
/// side, price (limit), qty, tif (limit).
fn new_order(
    op: Op,
    id: OrderId,
    symbol: Symbol,
    wire: &Wire<'_>,
) -> Result<Request, RejectReason> {
    let side = required(
        wire.side,
        parse_side,
        RejectReason::MissingSide,
        RejectReason::InvalidSide,
    )?;
    let price = match op {
        Op::Limit => Some(required(
            wire.price,
            parse_price,
            RejectReason::MissingPrice,
            RejectReason::InvalidPrice,
        )?),
        _ => None,
    };
    let qty = required(
        wire.qty,
        |raw| parse_integer(raw, 1, MAX_QTY),
        RejectReason::MissingQty,
        RejectReason::InvalidQty,
    )?;
    Ok(match price {
        Some(price) => {
            let tif = match wire.tif {
                None => Tif::default(),
                Some(raw) => parse_tif(raw).ok_or(RejectReason::InvalidTif)?,
            };
            Request::Limit {
                id,
                symbol,
                side,
                price,
                qty,
                tif,
                stp: Stp::None,
            }
        }
        None => Request::Market {
            id,
            symbol,
            side,
            qty,
            stp: Stp::None,
        },
    })
}

/// Appends `request` as one protocol request line, `\n` terminated, prices as strings: the
/// client side of [`decode_request`], which reads it back to the same [`Request`].
///
/// Written directly like [`encode_response`](super::encode_response): symbols never need
/// escaping.
///
/// # Examples
///
/// ```
/// use sedaflow_stages::codec::{decode_request, encode_request};
/// use sedaflow_stages::matching::{Request, Symbol};
///
/// let request = Request::Cancel { id: 7, symbol: Symbol::new("ACME").unwrap() };
/// let mut out = Vec::new();
/// encode_request(&request, &mut out);
/// assert_eq!(out, b"{\"op\":\"cancel\",\"id\":7,\"symbol\":\"ACME\"}\n");
/// assert_eq!(decode_request(out.strip_suffix(b"\n").unwrap()), Ok(request));
/// ```
pub fn encode_request(request: &Request, out: &mut Vec<u8>) {
    let (op, id, symbol) = match *request {
        Request::Ping => {
            out.extend_from_slice(b"{\"op\":\"ping\"}\n");
            return;
        }
        Request::Limit { id, symbol, .. } => ("limit", id, symbol),
        Request::Market { id, symbol, .. } => ("market", id, symbol),
        Request::Cancel { id, symbol } => ("cancel", id, symbol),
        Request::Amend { .. }
        | Request::Orders { .. }
        | Request::CancelAll { .. }
        | Request::Login => {
            return;
        }
    };
    let mut numbers = itoa::Buffer::new();
    out.extend_from_slice(br#"{"op":""#);
    out.extend_from_slice(op.as_bytes());
    out.push(b'"');
    put_number(out, &mut numbers, "id", id);
    put_text(out, "symbol", symbol.as_str().as_bytes());
    match *request {
        Request::Limit {
            side,
            price,
            qty,
            tif,
            ..
        } => {
            put_text(out, "side", side.as_str().as_bytes());
            put_text(out, "price", price.text().as_bytes());
            put_number(out, &mut numbers, "qty", qty);
            put_text(out, "tif", tif.as_str().as_bytes());
        }
        Request::Market { side, qty, .. } => {
            put_text(out, "side", side.as_str().as_bytes());
            put_number(out, &mut numbers, "qty", qty);
        }
        _ => {}
    }
    out.extend_from_slice(b"}\n");
}

/// Appends `,"name":"value"`; `value` needs no escaping.
fn put_text(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.extend_from_slice(b",\"");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":\"");
    out.extend_from_slice(value);
    out.push(b'"');
}

/// Appends `,"name":value`.
fn put_number(out: &mut Vec<u8>, numbers: &mut itoa::Buffer, name: &str, value: u64) {
    out.extend_from_slice(b",\"");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":");
    out.extend_from_slice(numbers.format(value).as_bytes());
}

fn parse_object(frame: &[u8]) -> Result<Wire<'_>, DecodeError> {
    // JSON text is UTF-8; checking it once up front is faster than serde_json checking
    // each string of a byte slice.
    let text = std::str::from_utf8(frame).map_err(|_| ErrorReason::InvalidJson)?;
    if !text
        .trim_start_matches([' ', '\t', '\r', '\n'])
        .starts_with('{')
    {
        // Only this rare path parses twice, to tell "not JSON" from "not an object".
        let reason = match serde_json::from_str::<serde::de::IgnoredAny>(text) {
            Ok(_) => ErrorReason::NotAnObject,
            Err(_) => ErrorReason::InvalidJson,
        };
        return Err(reason.into());
    }
    serde_json::from_str(text).map_err(|_| ErrorReason::InvalidJson.into())
}

fn required<T>(
    raw: Option<&RawValue>,
    parse: impl FnOnce(&RawValue) -> Option<T>,
    missing: RejectReason,
    invalid: RejectReason,
) -> Result<T, RejectReason> {
    parse(raw.ok_or(missing)?).ok_or(invalid)
}

/// A JSON integer token in `min ..= max`; no sign, fraction or exponent.
fn parse_integer(raw: &RawValue, min: u64, max: u64) -> Option<u64> {
    let text = raw.get().as_bytes();
    if text.is_empty() || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let value = text.iter().try_fold(0u64, |acc, &digit| {
        acc.checked_mul(10)?.checked_add(u64::from(digit - b'0'))
    })?;
    (min..=max).contains(&value).then_some(value)
}

/// The text of a JSON string token, unescaped; `None` for any other token.
fn json_str(raw: &RawValue) -> Option<Cow<'_, str>> {
    let text = raw.get();
    let inner = text.strip_prefix('"')?.strip_suffix('"')?;
    if inner.contains('\\') {
        serde_json::from_str::<String>(text).ok().map(Cow::Owned)
    } else {
        Some(Cow::Borrowed(inner))
    }
}

fn parse_op(raw: &RawValue) -> Option<Op> {
    match json_str(raw)?.as_ref() {
        "limit" => Some(Op::Limit),
        "market" => Some(Op::Market),
        "cancel" => Some(Op::Cancel),
        "ping" => Some(Op::Ping),
        _ => None,
    }
}

fn parse_side(raw: &RawValue) -> Option<Side> {
    match json_str(raw)?.as_ref() {
        "buy" => Some(Side::Buy),
        "sell" => Some(Side::Sell),
        _ => None,
    }
}

fn parse_tif(raw: &RawValue) -> Option<Tif> {
    match json_str(raw)?.as_ref() {
        "gtc" => Some(Tif::Gtc),
        "ioc" => Some(Tif::Ioc),
        "fok" => Some(Tif::Fok),
        "post" => Some(Tif::Post),
        _ => None,
    }
}

/// A JSON string, or a number token, whose text is a valid [`Price`].
fn parse_price(raw: &RawValue) -> Option<Price> {
    match json_str(raw) {
        Some(text) => Price::parse(&text).ok(),
        None => Price::parse(raw.get()).ok(),
    }
}

#[cfg(test)]
mod tests;
