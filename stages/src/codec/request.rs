use serde::Deserialize;

use super::flat::scan_flat;
use super::raw::{json_str, Raw};
use super::{DecodeError, ErrorReason};
use crate::matching::{OrderId, Price, Qty, RejectReason, Request, Side, Stp, Symbol, Tif};

/// The highest order id: 2^63 - 1.
const MAX_ID: u64 = i64::MAX as u64;
/// The highest quantity.
const MAX_QTY: Qty = 1_000_000_000;

/// The request object as it arrives: every field optional and kept as raw JSON text, so a
/// wrong type is reported against its field rather than as unreadable JSON, and numbers
/// are judged on their exact text, never through a float.
#[derive(Default, Deserialize)]
struct Wire<'a> {
    #[serde(borrow)]
    op: Option<Raw<'a>>,
    #[serde(borrow)]
    id: Option<Raw<'a>>,
    #[serde(borrow)]
    symbol: Option<Raw<'a>>,
    #[serde(borrow)]
    side: Option<Raw<'a>>,
    #[serde(borrow)]
    price: Option<Raw<'a>>,
    #[serde(borrow)]
    qty: Option<Raw<'a>>,
    #[serde(borrow)]
    tif: Option<Raw<'a>>,
    #[serde(borrow)]
    stp: Option<Raw<'a>>,
}

impl<'a> Wire<'a> {
    /// The fields of a flat object, without serde; `None` leaves the frame to serde (also
    /// when a known field repeats, which serde answers as invalid JSON).
    fn scan(text: &'a str) -> Option<Wire<'a>> {
        let mut wire = Wire::default();
        let mut seen = 0u8;
        scan_flat(text, |key, raw| {
            let (bit, slot) = match key {
                "op" => (1, &mut wire.op),
                "id" => (2, &mut wire.id),
                "symbol" => (4, &mut wire.symbol),
                "side" => (8, &mut wire.side),
                "price" => (16, &mut wire.price),
                "qty" => (32, &mut wire.qty),
                "tif" => (64, &mut wire.tif),
                "stp" => (128, &mut wire.stp),
                _ => return Some(()),
            };
            if seen & bit != 0 {
                return None;
            }
            seen |= bit;
            *slot = Raw::scanned(raw);
            Some(())
        })?;
        Some(wire)
    }
}

#[derive(Clone, Copy)]
enum Op {
    Limit,
    Market,
    Cancel,
    Amend,
    Orders,
    CancelAll,
    Login,
    Ping,
}

/// Reads one frame (a line without its ending) as a [`Request`], checking every field
/// against the protocol.
///
/// Fields are checked in this order, the first failure deciding the reason: JSON syntax,
/// object, `op`, `id` (only for ops that need it: `limit`, `market`, `cancel`, `amend`),
/// then `symbol` (optional for `orders` and `cancel_all`), then for `limit` and `market`
/// `side`, `price` (only `limit`), `qty`, `tif` (only `limit`), `stp`, and for `amend`
/// `price`, `qty` (each optional, but not both missing). A `market` order ignores `price`
/// and `tif`; unknown fields are ignored; a `null` field counts as missing. `login` is read
/// no further: [`decode_login`](super::decode_login) reads its fields.
///
/// # Errors
///
/// [`DecodeError::Error`] when there is no usable id to answer to: invalid JSON (including
/// a repeated field), not an object, a missing or unknown `op` without a usable `id`, a
/// missing or invalid `id` for an op that needs one, or an invalid `symbol` of `orders` or
/// `cancel_all` without a usable `id`. [`DecodeError::Reject`] with the request's `id` for
/// anything else.
///
/// # Examples
///
/// ```
/// use sedaflow_stages::codec::{decode_request, DecodeError, ErrorReason};
/// use sedaflow_stages::matching::{RejectReason, Request, Stp};
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
/// let frame = br#"{"op":"market","id":9,"symbol":"ACME","side":"buy","qty":1,"stp":"cancel_maker"}"#;
/// assert!(matches!(decode_request(frame), Ok(Request::Market { stp: Stp::CancelMaker, .. })));
/// let frame = br#"{"op":"amend","id":8,"symbol":"ACME"}"#;
/// assert_eq!(
///     decode_request(frame),
///     Err(DecodeError::Reject { id: 8, reason: RejectReason::NothingToAmend })
/// );
/// assert_eq!(
///     decode_request(br#"{"op":"cancel_all"}"#),
///     Ok(Request::CancelAll { symbol: None })
/// );
/// assert_eq!(
///     decode_request(br#"{"op":"orders","symbol":"a b"}"#),
///     Err(DecodeError::Error { reason: ErrorReason::InvalidSymbol })
/// );
/// assert_eq!(decode_request(br#"{"op":"ping"}"#), Ok(Request::Ping));
/// ```
pub fn decode_request(frame: &[u8]) -> Result<Request, DecodeError> {
    decode_fields(&parse_object(frame)?)
}

/// The id of a new order (`limit` or `market`) with a usable id, read without the rest of
/// the frame: what admission needs to refuse one `overloaded` at the read, for a small part
/// of a decode's cost. The scan stops at the second of `op` and `id` (they usually come
/// first), so what follows them, well-formed or not, is not read. `None` for every other
/// frame: another request, or one whose op or id decode answers with an error.
///
/// # Examples
///
/// ```
/// use sedaflow_stages::codec::new_order_id;
///
/// assert_eq!(new_order_id(br#"{"op":"limit","id":8,"symbol":"ACME","side":"buy","price":"10","qty":1}"#), Some(8));
/// // What follows the op and the id is not read: decode would reject this one for its price.
/// assert_eq!(new_order_id(br#"{"op":"market","id":9,"price":"x"}"#), Some(9));
/// assert_eq!(new_order_id(br#"{"symbol":"ACME","id":9,"op":"market"}"#), Some(9));
/// assert_eq!(new_order_id(br#"{"op":"cancel","id":7,"symbol":"ACME"}"#), None);
/// assert_eq!(new_order_id(br#"{"op":"limit","id":0}"#), None);
/// assert_eq!(new_order_id(br#"{"op":"limit" "id":8}"#), None);
/// ```
pub fn new_order_id(frame: &[u8]) -> Option<OrderId> {
    let text = std::str::from_utf8(frame).ok()?;
    let (mut op, mut id) = (None, None);
    let whole = scan_flat(text, |key, raw| {
        let slot = match key {
            "op" => &mut op,
            "id" => &mut id,
            _ => return Some(()),
        };
        if slot.replace(Raw::scanned(raw)).is_some() {
            // A repeated field: serde's `invalid json`.
            return None;
        }
        // Both read: stop here.
        (op.is_none() || id.is_none()).then_some(())
    });
    let (op, id) = match (op, id) {
        (Some(op), Some(id)) => (op, id),
        // A flat object without both.
        _ if whole.is_some() => return None,
        // Outside the flat shape (or a field repeated before both were read): serde's reading.
        _ => {
            let wire = parse_with_serde(text).ok()?;
            (wire.op, wire.id)
        }
    };
    match parse_op(op?)? {
        Op::Limit | Op::Market => parse_integer(id?, 1, MAX_ID),
        _ => None,
    }
}

/// The rules of [`decode_request`] over a frame's fields, however they were read.
fn decode_fields(wire: &Wire<'_>) -> Result<Request, DecodeError> {
    // Outer `None`: no id; inner `None`: an id that is not usable.
    let id = wire.id.map(|raw| parse_integer(raw, 1, MAX_ID));
    let op = parse_op_field(wire.op, id.flatten())?;
    let id = match (op, id) {
        (Op::Limit | Op::Market | Op::Cancel | Op::Amend, Some(Some(id))) => id,
        (Op::Limit | Op::Market | Op::Cancel | Op::Amend, Some(None)) => {
            return Err(ErrorReason::InvalidId.into())
        }
        (Op::Limit | Op::Market | Op::Cancel | Op::Amend, None) => {
            return Err(ErrorReason::MissingId.into())
        }
        (Op::Orders | Op::CancelAll | Op::Login | Op::Ping, id) => {
            return without_id(op, wire.symbol, id.flatten())
        }
    };
    let reject = |reason| DecodeError::Reject { id, reason };
    let symbol = required(
        wire.symbol,
        parse_symbol,
        RejectReason::MissingSymbol,
        RejectReason::InvalidSymbol,
    )
    .map_err(reject)?;
    match op {
        Op::Cancel => Ok(Request::Cancel { id, symbol }),
        Op::Amend => amend(id, symbol, wire).map_err(reject),
        _ => new_order(op, id, symbol, wire).map_err(reject),
    }
}

/// A request that names no order.
fn without_id(
    op: Op,
    symbol: Option<Raw<'_>>,
    usable_id: Option<OrderId>,
) -> Result<Request, DecodeError> {
    Ok(match op {
        Op::Orders => Request::Orders {
            symbol: symbol_or_all(symbol, usable_id)?,
        },
        Op::CancelAll => Request::CancelAll {
            symbol: symbol_or_all(symbol, usable_id)?,
        },
        Op::Login => Request::Login,
        _ => Request::Ping,
    })
}

/// The optional `symbol` of `orders` and `cancel_all` (`None`: every book). These name no
/// order, so an invalid one is an `error`, unless the frame carries a usable `id` anyway.
fn symbol_or_all(
    raw: Option<Raw<'_>>,
    usable_id: Option<OrderId>,
) -> Result<Option<Symbol>, DecodeError> {
    let Some(raw) = raw else { return Ok(None) };
    match (parse_symbol(raw), usable_id) {
        (Some(symbol), _) => Ok(Some(symbol)),
        (None, Some(id)) => Err(DecodeError::Reject {
            id,
            reason: RejectReason::InvalidSymbol,
        }),
        (None, None) => Err(ErrorReason::InvalidSymbol.into()),
    }
}

/// The `op` field; a missing or unknown one is a `reject` when the id is usable, else an
/// `error`.
fn parse_op_field(raw: Option<Raw<'_>>, usable_id: Option<OrderId>) -> Result<Op, DecodeError> {
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
/// side, price (limit), qty, tif (limit), stp.
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
        parse_qty,
        RejectReason::MissingQty,
        RejectReason::InvalidQty,
    )?;
    let tif = match price {
        Some(_) => optional(wire.tif, parse_tif, RejectReason::InvalidTif)?,
        None => Tif::default(),
    };
    let stp = optional(wire.stp, parse_stp, RejectReason::InvalidStp)?;
    Ok(match price {
        Some(price) => Request::Limit {
            id,
            symbol,
            side,
            price,
            qty,
            tif,
            stp,
        },
        None => Request::Market {
            id,
            symbol,
            side,
            qty,
            stp,
        },
    })
}

/// The rest of an `amend`: price, then qty, each optional and checked as for `limit`;
/// neither is `nothing to amend`.
fn amend(id: OrderId, symbol: Symbol, wire: &Wire<'_>) -> Result<Request, RejectReason> {
    let price = wire
        .price
        .map(|raw| parse_price(raw).ok_or(RejectReason::InvalidPrice))
        .transpose()?;
    let qty = wire
        .qty
        .map(|raw| parse_qty(raw).ok_or(RejectReason::InvalidQty))
        .transpose()?;
    if price.is_none() && qty.is_none() {
        return Err(RejectReason::NothingToAmend);
    }
    Ok(Request::Amend {
        id,
        symbol,
        qty,
        price,
    })
}

/// Appends `request` as one protocol request line, `\n` terminated, prices as strings, `stp`
/// only when not `none`: the client side of [`decode_request`], which reads it back to the
/// same [`Request`]. A [`Request::Login`] carries no fields, so it is written as a bare
/// `{"op":"login"}`; [`encode_login`](super::encode_login) writes a real one.
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
///
/// out.clear();
/// encode_request(&Request::CancelAll { symbol: None }, &mut out);
/// assert_eq!(out, b"{\"op\":\"cancel_all\"}\n");
/// ```
pub fn encode_request(request: &Request, out: &mut Vec<u8>) {
    let mut numbers = itoa::Buffer::new();
    out.extend_from_slice(br#"{"op":""#);
    out.extend_from_slice(op_name(request).as_bytes());
    out.push(b'"');
    if let Some(id) = request.id() {
        put_number(out, &mut numbers, "id", id);
    }
    if let Some(symbol) = request.symbol() {
        put_text(out, "symbol", symbol.as_bytes());
    }
    match *request {
        Request::Limit {
            side,
            price,
            qty,
            tif,
            stp,
            ..
        } => {
            put_text(out, "side", side.as_str().as_bytes());
            put_text(out, "price", price.text().as_bytes());
            put_number(out, &mut numbers, "qty", qty);
            put_text(out, "tif", tif.as_str().as_bytes());
            put_stp(out, stp);
        }
        Request::Market { side, qty, stp, .. } => {
            put_text(out, "side", side.as_str().as_bytes());
            put_number(out, &mut numbers, "qty", qty);
            put_stp(out, stp);
        }
        Request::Amend { qty, price, .. } => {
            if let Some(qty) = qty {
                put_number(out, &mut numbers, "qty", qty);
            }
            if let Some(price) = price {
                put_text(out, "price", price.text().as_bytes());
            }
        }
        Request::Cancel { .. }
        | Request::Orders { .. }
        | Request::CancelAll { .. }
        | Request::Login
        | Request::Ping => {}
    }
    out.extend_from_slice(b"}\n");
}

/// The wire name of a request's `op`.
fn op_name(request: &Request) -> &'static str {
    match request {
        Request::Limit { .. } => "limit",
        Request::Market { .. } => "market",
        Request::Cancel { .. } => "cancel",
        Request::Amend { .. } => "amend",
        Request::Orders { .. } => "orders",
        Request::CancelAll { .. } => "cancel_all",
        Request::Login => "login",
        Request::Ping => "ping",
    }
}

/// Appends `,"stp":"..."` unless it is the default, `none`.
fn put_stp(out: &mut Vec<u8>, stp: Stp) {
    if stp != Stp::None {
        put_text(out, "stp", stp.as_str().as_bytes());
    }
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

/// The request object: the flat scanner's reading when the frame has that shape (nearly
/// every frame, and several times faster), serde's otherwise; both read the same fields.
fn parse_object(frame: &[u8]) -> Result<Wire<'_>, DecodeError> {
    // JSON text is UTF-8; checking it once up front is faster than serde_json checking
    // each string of a byte slice.
    let text = std::str::from_utf8(frame).map_err(|_| ErrorReason::InvalidJson)?;
    match Wire::scan(text) {
        Some(wire) => Ok(wire),
        None => parse_with_serde(text),
    }
}

/// The request object read by serde, for frames outside the flat scanner's shape.
fn parse_with_serde(text: &str) -> Result<Wire<'_>, DecodeError> {
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
    raw: Option<Raw<'_>>,
    parse: impl FnOnce(Raw<'_>) -> Option<T>,
    missing: RejectReason,
    invalid: RejectReason,
) -> Result<T, RejectReason> {
    parse(raw.ok_or(missing)?).ok_or(invalid)
}

/// A JSON integer token in `min ..= max`; no sign, fraction or exponent.
fn parse_integer(raw: Raw<'_>, min: u64, max: u64) -> Option<u64> {
    let text = raw.get().as_bytes();
    if text.is_empty() || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let value = text.iter().try_fold(0u64, |acc, &digit| {
        acc.checked_mul(10)?.checked_add(u64::from(digit - b'0'))
    })?;
    (min..=max).contains(&value).then_some(value)
}

/// An optional field: its default when missing, `invalid` when present but unreadable.
fn optional<T: Default>(
    raw: Option<Raw<'_>>,
    parse: impl FnOnce(Raw<'_>) -> Option<T>,
    invalid: RejectReason,
) -> Result<T, RejectReason> {
    match raw {
        None => Ok(T::default()),
        Some(raw) => parse(raw).ok_or(invalid),
    }
}

fn parse_op(raw: Raw<'_>) -> Option<Op> {
    match json_str(raw)?.as_ref() {
        "limit" => Some(Op::Limit),
        "market" => Some(Op::Market),
        "cancel" => Some(Op::Cancel),
        "amend" => Some(Op::Amend),
        "orders" => Some(Op::Orders),
        "cancel_all" => Some(Op::CancelAll),
        "login" => Some(Op::Login),
        "ping" => Some(Op::Ping),
        _ => None,
    }
}

fn parse_symbol(raw: Raw<'_>) -> Option<Symbol> {
    json_str(raw).and_then(|text| Symbol::new(&text).ok())
}

fn parse_qty(raw: Raw<'_>) -> Option<Qty> {
    parse_integer(raw, 1, MAX_QTY)
}

fn parse_side(raw: Raw<'_>) -> Option<Side> {
    match json_str(raw)?.as_ref() {
        "buy" => Some(Side::Buy),
        "sell" => Some(Side::Sell),
        _ => None,
    }
}

fn parse_tif(raw: Raw<'_>) -> Option<Tif> {
    parse_name(raw, [Tif::Gtc, Tif::Ioc, Tif::Fok, Tif::Post], Tif::as_str)
}

fn parse_stp(raw: Raw<'_>) -> Option<Stp> {
    let all = [
        Stp::None,
        Stp::CancelTaker,
        Stp::CancelMaker,
        Stp::CancelBoth,
    ];
    parse_name(raw, all, Stp::as_str)
}

/// The value among `all` whose wire name the JSON string token is.
fn parse_name<T: Copy, const N: usize>(
    raw: Raw<'_>,
    all: [T; N],
    name: fn(T) -> &'static str,
) -> Option<T> {
    let text = json_str(raw)?;
    all.into_iter().find(|&value| name(value) == text)
}

/// A JSON string, or a number token, whose text is a valid [`Price`].
fn parse_price(raw: Raw<'_>) -> Option<Price> {
    match json_str(raw) {
        Some(text) => Price::parse(&text).ok(),
        None => Price::parse(raw.get()).ok(),
    }
}

#[cfg(test)]
mod tests;
