use std::fmt;
use std::str::FromStr;

use super::SymbolError;

/// An instrument name: 1–16 characters of `A–Z 0–9 . _ -`, held inline so it is `Copy`.
///
/// Ordered and compared as its text.
///
/// # Examples
///
/// ```
/// use sedaflow_stages::matching::Symbol;
///
/// let symbol = Symbol::new("ACME").unwrap();
/// assert_eq!(symbol.as_str(), "ACME");
/// assert!(Symbol::new("acme").is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Symbol {
    // Zero padded: no valid character is 0, so comparing the arrays compares the texts.
    bytes: [u8; Symbol::MAX_LEN],
    len: u8,
}

impl Symbol {
    /// The longest symbol, in characters.
    pub const MAX_LEN: usize = 16;

    /// Validates `text` as a symbol.
    ///
    /// # Errors
    ///
    /// [`SymbolError::Length`] when empty or longer than [`Symbol::MAX_LEN`],
    /// [`SymbolError::Character`] for any character outside `A–Z 0–9 . _ -`.
    pub fn new(text: &str) -> Result<Symbol, SymbolError> {
        let text = text.as_bytes();
        if text.is_empty() || text.len() > Symbol::MAX_LEN {
            return Err(SymbolError::Length);
        }
        if !text.iter().all(|&b| is_symbol_byte(b)) {
            return Err(SymbolError::Character);
        }
        let mut bytes = [0; Symbol::MAX_LEN];
        bytes[..text.len()].copy_from_slice(text);
        Ok(Symbol {
            bytes,
            len: text.len() as u8,
        })
    }

    /// The symbol's text, as bytes: what an encoder copies (no UTF-8 check, unlike
    /// [`as_str`](Symbol::as_str)).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// The symbol's text.
    pub fn as_str(&self) -> &str {
        // Only ASCII is ever stored (checked in `new`), so this never falls back.
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }
}

fn is_symbol_byte(b: u8) -> bool {
    b.is_ascii_uppercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
}

impl FromStr for Symbol {
    type Err = SymbolError;

    fn from_str(text: &str) -> Result<Symbol, SymbolError> {
        Symbol::new(text)
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Symbol").field(&self.as_str()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_allowed_alphabet() {
        for text in ["A", "ACME", "BRK.B", "ES_Z5", "EUR-USD", "0123456789ABCDEF"] {
            assert_eq!(
                Symbol::new(text).map(|s| s.to_string()),
                Ok(text.to_owned())
            );
        }
    }

    #[test]
    fn refuses_bad_lengths() {
        assert_eq!(Symbol::new(""), Err(SymbolError::Length));
        assert_eq!(Symbol::new("ABCDEFGHIJKLMNOPQ"), Err(SymbolError::Length));
    }

    #[test]
    fn refuses_other_characters() {
        for text in ["acme", "AC ME", "AC/ME", "ÄCME", "A\0", "A+B", "A\"B"] {
            assert_eq!(Symbol::new(text), Err(SymbolError::Character), "{text:?}");
        }
    }

    #[test]
    fn orders_as_text() {
        let mut symbols: Vec<Symbol> = ["ABC", "AB", "B", "A-", "A"]
            .iter()
            .map(|t| Symbol::new(t).unwrap())
            .collect();
        symbols.sort();
        let texts: Vec<&str> = symbols.iter().map(Symbol::as_str).collect();
        assert_eq!(texts, ["A", "A-", "AB", "ABC", "B"]);
    }

    #[test]
    fn debug_shows_the_text() {
        assert_eq!(format!("{:?}", Symbol::new("X").unwrap()), "Symbol(\"X\")");
    }
}
