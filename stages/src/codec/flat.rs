//! A one-pass scanner for flat JSON objects: the shape nearly every protocol line has.
//!
//! [`scan_flat`] walks an object whose members are scalars, handing each member's key and
//! raw value text to a callback, with no allocation and no tree. It takes only this shape:
//!
//! - one object, with JSON whitespace around and inside it;
//! - keys and string values of printable ASCII without escapes (`"` … `"`, no `\`, no
//!   control character, no byte above 0x7f);
//! - values that are strings, numbers (JSON's grammar), `true`, `false` or `null`.
//!
//! Everything else (nested values, escapes, non-ASCII text, any syntax error, bytes after
//! the object) yields `None`, and the caller hands the frame to a full JSON parser. The
//! scanner never accepts text that is not JSON, so a frame it takes means what a full parser
//! would read, and one it declines costs only the scan.

/// Calls `field(key, raw)` for each member of the flat object `text`, in order; `raw` is the
/// value as written (a string with its quotes). `None` when `text` is outside the shape in
/// the module docs, or as soon as `field` returns `None`.
///
/// # Examples
///
/// ```
/// use sedaflow_stages::codec::scan_flat;
///
/// let mut seen = Vec::new();
/// let taken = scan_flat(r#" {"type":"ack", "id":7,"x":null} "#, |key, raw| {
///     seen.push((key, raw));
///     Some(())
/// });
/// assert_eq!(taken, Some(()));
/// assert_eq!(seen, [("type", "\"ack\""), ("id", "7"), ("x", "null")]);
///
/// // Outside the shape: for a full parser.
/// assert_eq!(scan_flat(r#"{"a":[1]}"#, |_, _| Some(())), None);
/// assert_eq!(scan_flat(r#"{"a":"\n"}"#, |_, _| Some(())), None);
/// assert_eq!(scan_flat(r#"{"a":1,}"#, |_, _| Some(())), None);
/// ```
pub fn scan_flat<'a>(
    text: &'a str,
    mut field: impl FnMut(&'a str, &'a str) -> Option<()>,
) -> Option<()> {
    let mut cursor = Cursor { text, pos: 0 };
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
            field(&key[1..key.len() - 1], cursor.value()?)?;
            cursor.skip_space();
            match cursor.next()? {
                b',' => cursor.skip_space(),
                b'}' => break,
                _ => return None,
            }
        }
    }
    cursor.skip_space();
    (cursor.pos == text.len()).then_some(())
}

/// A position in the text; it only ever stops on ASCII bytes, so its slices are valid
/// `str` slices.
struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
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

    fn since(&self, start: usize) -> &'a str {
        self.text.get(start..self.pos).unwrap_or_default()
    }

    /// A string without escapes, control characters or non-ASCII bytes, with its quotes.
    fn string(&mut self) -> Option<&'a str> {
        let start = self.pos;
        self.expect(b'"')?;
        // One tight loop to the first byte that is not plain text.
        let rest = self.text.as_bytes().get(self.pos..)?;
        let len = rest
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || !(0x20..0x80).contains(&b))?;
        self.pos += len;
        self.expect(b'"')?;
        Some(self.since(start))
    }

    /// A scalar value's text.
    fn value(&mut self) -> Option<&'a str> {
        let start = self.pos;
        match self.peek()? {
            b'"' => return self.string(),
            b'n' => self.literal("null")?,
            b't' => self.literal("true")?,
            b'f' => self.literal("false")?,
            _ => self.number()?,
        }
        Some(self.since(start))
    }

    fn literal(&mut self, word: &str) -> Option<()> {
        let end = self.pos + word.len();
        if self.text.as_bytes().get(self.pos..end)? != word.as_bytes() {
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
        let rest = self.text.as_bytes().get(self.pos..).unwrap_or_default();
        self.pos += rest.iter().take_while(|b| b.is_ascii_digit()).count();
    }

    /// At least one digit.
    fn some_digits(&mut self) -> Option<()> {
        let start = self.pos;
        self.digits();
        (self.pos > start).then_some(())
    }
}
