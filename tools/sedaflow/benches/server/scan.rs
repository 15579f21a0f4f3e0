//! The baseline's request decoder: a hand-written scanner for the lines clients send, with
//! the codec's full decoder behind it for everything else.
//!
//! The scanner reads a flat object of plain keys and scalar values (strings without
//! escapes, numbers, `true`, `false`, `null`) in one pass over the bytes, with no
//! allocation and no intermediate tree. Any frame outside that shape (escapes, nested
//! values, non-ASCII text, a repeated known field, any syntax error) goes to
//! [`decode_request`] unchanged, so the answer is always the codec's: for the frames the
//! scanner takes it applies the codec's rules in the codec's order (see
//! `sedaflow_stages::codec`), and `tests/inline_scan.rs` holds the two to the same answer.

use sedaflow_stages::codec::{decode_request, DecodeError, ErrorReason};
use sedaflow_stages::matching::{OrderId, Price, RejectReason, Request, Side, Symbol, Tif};

/// The highest order id: 2^63 - 1.
const MAX_ID: u64 = i64::MAX as u64;
/// The highest quantity.
const MAX_QTY: u64 = 1_000_000_000;

/// Reads one frame (a line without its ending) as a [`Request`], exactly as
/// [`decode_request`] does.
///
/// # Errors
///
/// The [`DecodeError`] that [`decode_request`] gives for the frame.
pub fn decode(frame: &[u8]) -> Result<Request, DecodeError> {
    match Fields::scan(frame) {
        Some(fields) => fields.request(),
        None => decode_request(frame),
    }
}

/// A scalar value as written: a string's text between its quotes, or a number's or
/// literal's token.
#[derive(Clone, Copy)]
enum Value<'a> {
    Str(&'a [u8]),
    Token(&'a [u8]),
}

/// The fields the protocol knows; `None` when absent or `null`.
#[derive(Default)]
struct Fields<'a> {
    op: Option<Value<'a>>,
    id: Option<Value<'a>>,
    symbol: Option<Value<'a>>,
    side: Option<Value<'a>>,
    price: Option<Value<'a>>,
    qty: Option<Value<'a>>,
    tif: Option<Value<'a>>,
}

#[derive(Clone, Copy)]
enum Op {
    Limit,
    Market,
    Cancel,
    Ping,
}

impl<'a> Fields<'a> {
    /// The fields of `frame` when it is a flat object the scanner can judge; `None` sends
    /// it to the full decoder.
    fn scan(frame: &'a [u8]) -> Option<Fields<'a>> {
        let mut cursor = Cursor {
            bytes: frame,
            pos: 0,
        };
        let mut fields = Fields::default();
        // Which known fields were seen (a repeated one is the full decoder's `invalid json`).
        let mut seen = 0u8;
        cursor.skip_space();
        cursor.expect(b'{')?;
        cursor.skip_space();
        if cursor.peek() == Some(b'}') {
            cursor.pos += 1;
        } else {
            loop {
                let key = cursor.string()?;
                cursor.skip_space();
                cursor.expect(b':')?;
                cursor.skip_space();
                let value = cursor.value()?;
                if let Some((bit, slot)) = fields.slot(key) {
                    if seen & bit != 0 {
                        return None;
                    }
                    seen |= bit;
                    *slot = value;
                }
                cursor.skip_space();
                match cursor.next()? {
                    b',' => cursor.skip_space(),
                    b'}' => break,
                    _ => return None,
                }
            }
        }
        cursor.skip_space();
        (cursor.pos == frame.len()).then_some(fields)
    }

    fn slot(&mut self, key: &[u8]) -> Option<(u8, &mut Option<Value<'a>>)> {
        Some(match key {
            b"op" => (1, &mut self.op),
            b"id" => (2, &mut self.id),
            b"symbol" => (4, &mut self.symbol),
            b"side" => (8, &mut self.side),
            b"price" => (16, &mut self.price),
            b"qty" => (32, &mut self.qty),
            b"tif" => (64, &mut self.tif),
            _ => return None,
        })
    }

    /// The codec's rules, in its order: `op`, `id` (not for `ping`), `symbol`, then a new
    /// order's `side`, `price` (limit), `qty`, `tif` (limit).
    fn request(&self) -> Result<Request, DecodeError> {
        // Outer `None`: no id; inner `None`: an id that is not usable.
        let id = self.id.map(|value| integer(value, 1, MAX_ID));
        let op = match self.op.map(op) {
            Some(Some(op)) => op,
            missing_or_invalid => {
                let (error, reason) = match missing_or_invalid {
                    None => (ErrorReason::MissingOp, RejectReason::MissingOp),
                    Some(_) => (ErrorReason::InvalidOp, RejectReason::InvalidOp),
                };
                return Err(match id.flatten() {
                    Some(id) => DecodeError::Reject { id, reason },
                    None => error.into(),
                });
            }
        };
        if let Op::Ping = op {
            return Ok(Request::Ping);
        }
        let id = match id {
            Some(Some(id)) => id,
            Some(None) => return Err(ErrorReason::InvalidId.into()),
            None => return Err(ErrorReason::MissingId.into()),
        };
        self.order(op, id)
            .map_err(|reason| DecodeError::Reject { id, reason })
    }

    /// The fields after `id`, for an op that names an order.
    fn order(&self, op: Op, id: OrderId) -> Result<Request, RejectReason> {
        let symbol = required(
            self.symbol,
            |value| Symbol::new(text(string(value)?)?).ok(),
            RejectReason::MissingSymbol,
            RejectReason::InvalidSymbol,
        )?;
        if let Op::Cancel = op {
            return Ok(Request::Cancel { id, symbol });
        }
        let side = required(
            self.side,
            |value| match string(value)? {
                b"buy" => Some(Side::Buy),
                b"sell" => Some(Side::Sell),
                _ => None,
            },
            RejectReason::MissingSide,
            RejectReason::InvalidSide,
        )?;
        let price = match op {
            Op::Limit => Some(required(
                self.price,
                price,
                RejectReason::MissingPrice,
                RejectReason::InvalidPrice,
            )?),
            _ => None,
        };
        let qty = required(
            self.qty,
            |value| integer(value, 1, MAX_QTY),
            RejectReason::MissingQty,
            RejectReason::InvalidQty,
        )?;
        let Some(price) = price else {
            return Ok(Request::Market {
                id,
                symbol,
                side,
                qty,
                stp: Default::default(),
            });
        };
        let tif = match self.tif {
            None => Tif::default(),
            Some(value) => match string(value) {
                Some(b"gtc") => Tif::Gtc,
                Some(b"ioc") => Tif::Ioc,
                Some(b"fok") => Tif::Fok,
                Some(b"post") => Tif::Post,
                _ => return Err(RejectReason::InvalidTif),
            },
        };
        Ok(Request::Limit {
            id,
            symbol,
            side,
            price,
            qty,
            tif,
            stp: Default::default(),
        })
    }
}

fn required<T>(
    value: Option<Value<'_>>,
    parse: impl FnOnce(Value<'_>) -> Option<T>,
    missing: RejectReason,
    invalid: RejectReason,
) -> Result<T, RejectReason> {
    parse(value.ok_or(missing)?).ok_or(invalid)
}

fn op(value: Value<'_>) -> Option<Op> {
    match string(value)? {
        b"limit" => Some(Op::Limit),
        b"market" => Some(Op::Market),
        b"cancel" => Some(Op::Cancel),
        b"ping" => Some(Op::Ping),
        _ => None,
    }
}

/// A string's text; `None` for any other value.
fn string(value: Value<'_>) -> Option<&[u8]> {
    match value {
        Value::Str(text) => Some(text),
        Value::Token(_) => None,
    }
}

/// The scanner only takes ASCII, so this never fails on what it took.
fn text(bytes: &[u8]) -> Option<&str> {
    std::str::from_utf8(bytes).ok()
}

/// A number token of digits only (no sign, fraction or exponent) in `min ..= max`.
fn integer(value: Value<'_>, min: u64, max: u64) -> Option<u64> {
    let Value::Token(digits) = value else {
        return None;
    };
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let value = digits.iter().try_fold(0u64, |acc, &digit| {
        acc.checked_mul(10)?.checked_add(u64::from(digit - b'0'))
    })?;
    (min..=max).contains(&value).then_some(value)
}

/// A string or a number token whose text is a valid [`Price`].
fn price(value: Value<'_>) -> Option<Price> {
    let (Value::Str(bytes) | Value::Token(bytes)) = value;
    Price::parse(text(bytes)?).ok()
}

/// A position in a frame.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let byte = self.peek()?;
        self.pos += 1;
        Some(byte)
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        (self.next()? == byte).then_some(())
    }

    /// JSON's whitespace.
    fn skip_space(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    /// A string without escapes, control characters or non-ASCII bytes: its text.
    fn string(&mut self) -> Option<&'a [u8]> {
        self.expect(b'"')?;
        let start = self.pos;
        loop {
            match self.next()? {
                b'"' => return Some(&self.bytes[start..self.pos - 1]),
                b'\\' | 0..=0x1f | 0x80..=0xff => return None,
                _ => {}
            }
        }
    }

    /// A scalar value; `Some(None)` for `null`, `None` for anything the scanner leaves to
    /// the full decoder.
    fn value(&mut self) -> Option<Option<Value<'a>>> {
        let start = self.pos;
        match self.peek()? {
            b'"' => return Some(Some(Value::Str(self.string()?))),
            b'n' => return self.literal(b"null").map(|()| None),
            b't' => self.literal(b"true")?,
            b'f' => self.literal(b"false")?,
            _ => self.number()?,
        }
        Some(Some(Value::Token(&self.bytes[start..self.pos])))
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.pos + word.len();
        if self.bytes.get(self.pos..end)? != word {
            return None;
        }
        self.pos = end;
        Some(())
    }

    /// JSON's number grammar: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    fn number(&mut self) -> Option<()> {
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.next()? {
            b'0' => {}
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            self.some_digits()?;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            self.some_digits()?;
        }
        Some(())
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
    }

    /// At least one digit.
    fn some_digits(&mut self) -> Option<()> {
        let start = self.pos;
        self.digits();
        (self.pos > start).then_some(())
    }
}
