use std::fmt;
use std::str::FromStr;

use super::PriceError;

/// A limit price in fixed point, counted in ticks of 0.0001.
///
/// Always within `0 < price <= 1,000,000,000`, so a `Price` never needs checking again once
/// built. Parsed from decimal text without going through a float, and rendered with trailing
/// zeros removed.
///
/// # Examples
///
/// ```
/// use sedaflow_stages::matching::Price;
///
/// let price = Price::parse("10.0500").unwrap();
/// assert_eq!(price.ticks(), 100_500);
/// assert_eq!(price.to_string(), "10.05");
/// assert!(Price::parse("1e2").is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Price(u64);

/// Ticks in one unit of price: prices are multiples of 0.0001.
const TICKS_PER_UNIT: u64 = 10_000;
/// Decimal places of a tick.
const TICK_DECIMALS: usize = 4;
/// Longest rendering: ten integer digits, a dot and four decimals.
const MAX_TEXT_LEN: usize = 15;

impl Price {
    /// The highest price: 1,000,000,000.
    pub const MAX: Price = Price(1_000_000_000 * TICKS_PER_UNIT);

    /// Parses decimal text: digits with an optional fraction (`^[0-9]+(\.[0-9]+)?$`), above
    /// zero, at most [`Price::MAX`], a multiple of 0.0001 (zeros past the fourth decimal are
    /// fine: `"1.50000"`).
    ///
    /// # Errors
    ///
    /// [`PriceError::Syntax`] for anything but digits with an optional fraction (sign,
    /// exponent, bare leading dot, spaces), [`PriceError::OutOfRange`] for zero or above
    /// the maximum, [`PriceError::TooPrecise`] for a non-zero digit past the fourth decimal.
    pub fn parse(text: &str) -> Result<Price, PriceError> {
        let bytes = text.as_bytes();
        let (int, frac) = match bytes.iter().position(|&b| b == b'.') {
            Some(dot) => (&bytes[..dot], &bytes[dot + 1..]),
            None => (bytes, &[][..]),
        };
        let has_dot = int.len() < bytes.len();
        if !all_digits(int) || (has_dot && !all_digits(frac)) {
            return Err(PriceError::Syntax);
        }
        let int = trim_leading_zeros(int);
        // More than ten integer digits is at least 10^10, far above the maximum; checking
        // the length first keeps the accumulation below from overflowing.
        if int.len() > 10 {
            return Err(PriceError::OutOfRange);
        }
        let (significant, rest) = frac.split_at(frac.len().min(TICK_DECIMALS));
        if rest.iter().any(|&b| b != b'0') {
            return Err(PriceError::TooPrecise);
        }
        let whole = int.iter().fold(0, |acc, &b| acc * 10 + u64::from(b - b'0'));
        let mut fraction = significant
            .iter()
            .fold(0, |acc, &b| acc * 10 + u64::from(b - b'0'));
        for _ in significant.len()..TICK_DECIMALS {
            fraction *= 10;
        }
        Price::from_ticks(whole * TICKS_PER_UNIT + fraction).ok_or(PriceError::OutOfRange)
    }

    /// The price of `ticks` × 0.0001, or `None` when that is zero or above [`Price::MAX`].
    ///
    /// # Examples
    ///
    /// ```
    /// use sedaflow_stages::matching::Price;
    ///
    /// assert_eq!(Price::from_ticks(70_000).unwrap().to_string(), "7");
    /// assert_eq!(Price::from_ticks(0), None);
    /// ```
    pub const fn from_ticks(ticks: u64) -> Option<Price> {
        if ticks == 0 || ticks > Price::MAX.0 {
            None
        } else {
            Some(Price(ticks))
        }
    }

    /// The price in ticks of 0.0001.
    pub const fn ticks(self) -> u64 {
        self.0
    }

    /// The decimal rendering with trailing zeros removed (`"10.05"`, `"7"`), on the stack,
    /// for encoders that append bytes without going through [`fmt`].
    pub fn text(self) -> PriceText {
        let mut text = PriceText {
            buf: [0; MAX_TEXT_LEN],
            len: 0,
        };
        let mut whole = self.0 / TICKS_PER_UNIT;
        let mut digits = [0u8; 10];
        let mut count = 0;
        loop {
            digits[count] = b'0' + (whole % 10) as u8;
            count += 1;
            whole /= 10;
            if whole == 0 {
                break;
            }
        }
        for &digit in digits[..count].iter().rev() {
            text.push(digit);
        }
        let mut fraction = self.0 % TICKS_PER_UNIT;
        if fraction != 0 {
            let mut decimals = TICK_DECIMALS;
            while fraction % 10 == 0 {
                fraction /= 10;
                decimals -= 1;
            }
            text.push(b'.');
            let start = text.len as usize;
            for slot in text.buf[start..start + decimals].iter_mut().rev() {
                *slot = b'0' + (fraction % 10) as u8;
                fraction /= 10;
            }
            text.len += decimals as u8;
        }
        text
    }
}

fn all_digits(bytes: &[u8]) -> bool {
    !bytes.is_empty() && bytes.iter().all(u8::is_ascii_digit)
}

fn trim_leading_zeros(bytes: &[u8]) -> &[u8] {
    let zeros = bytes.iter().take_while(|&&b| b == b'0').count();
    &bytes[zeros..]
}

impl FromStr for Price {
    type Err = PriceError;

    fn from_str(text: &str) -> Result<Price, PriceError> {
        Price::parse(text)
    }
}

impl fmt::Display for Price {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text().as_str())
    }
}

/// A [`Price`] rendered as decimal text, held inline; see [`Price::text`].
#[derive(Clone, Copy, Debug)]
pub struct PriceText {
    buf: [u8; MAX_TEXT_LEN],
    len: u8,
}

impl PriceText {
    fn push(&mut self, byte: u8) {
        self.buf[self.len as usize] = byte;
        self.len += 1;
    }

    /// The text as bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len as usize]
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits and a dot are ever written, so this never falls back.
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_integers_and_fractions() {
        let cases = [
            ("7", 70_000),
            ("10.05", 100_500),
            ("10.0500", 100_500),
            ("1.50000", 15_000),
            ("0.0001", 1),
            ("0001.5", 15_000),
            ("999999999.9999", 9_999_999_999_999),
            ("1000000000", 10_000_000_000_000),
            ("1000000000.0000000", 10_000_000_000_000),
        ];
        for (text, ticks) in cases {
            assert_eq!(Price::parse(text).map(Price::ticks), Ok(ticks), "{text}");
        }
    }

    #[test]
    fn refuses_bad_syntax() {
        for text in [
            "", ".5", "5.", "-1", "+1", "1e2", "1E2", " 1", "1 ", "1.2.3", "1,5", "0x10", "abc",
            "１", "1..2", ".",
        ] {
            assert_eq!(Price::parse(text), Err(PriceError::Syntax), "{text:?}");
        }
    }

    #[test]
    fn refuses_zero_and_above_maximum() {
        for text in [
            "0",
            "0.0",
            "0.00000",
            "1000000000.0001",
            "1000000001",
            "99999999999",
            "184467440737095516160",
        ] {
            assert_eq!(Price::parse(text), Err(PriceError::OutOfRange), "{text}");
        }
    }

    #[test]
    fn refuses_sub_tick_precision() {
        for text in ["1.00001", "0.00005", "10.050001"] {
            assert_eq!(Price::parse(text), Err(PriceError::TooPrecise), "{text}");
        }
    }

    #[test]
    fn renders_without_trailing_zeros() {
        let cases = [
            (1, "0.0001"),
            (10, "0.001"),
            (100_500, "10.05"),
            (70_000, "7"),
            (15_000, "1.5"),
            (100_001, "10.0001"),
            (10_000_000_000_000, "1000000000"),
            (9_999_999_999_999, "999999999.9999"),
        ];
        for (ticks, text) in cases {
            let price = Price::from_ticks(ticks).unwrap();
            assert_eq!(price.to_string(), text);
            assert_eq!(price.text().as_bytes(), text.as_bytes());
        }
    }

    #[test]
    fn from_ticks_keeps_the_range() {
        assert_eq!(Price::from_ticks(0), None);
        assert_eq!(Price::from_ticks(Price::MAX.ticks() + 1), None);
        assert_eq!(Price::from_ticks(Price::MAX.ticks()), Some(Price::MAX));
    }

    #[test]
    fn rendering_round_trips() {
        for ticks in (1..200_000).step_by(7) {
            let price = Price::from_ticks(ticks).unwrap();
            assert_eq!(Price::parse(&price.to_string()), Ok(price));
        }
    }
}
