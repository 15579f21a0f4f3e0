//! Little-endian binary fields shared by the journal's records and the cluster's wire
//! payloads, so an id, a side, a symbol, a price or a request has one spelling in both. Each
//! format keeps its own framing, header and tags around them.

use crate::matching::{Price, Request, Side, Stp, Symbol, Tif};

/// Why a field could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FieldError {
    /// The bytes end inside a field.
    #[error("payload truncated")]
    Truncated,
    /// A tag byte outside its enumeration.
    #[error("invalid {what} tag {tag}")]
    Tag { what: &'static str, tag: u8 },
    /// A symbol that breaks the symbol rules.
    #[error("invalid symbol")]
    Symbol,
    /// A price outside the price rules.
    #[error("invalid price")]
    Price,
}

/// The tag of a request's kind (`limit` 1, `market` 2, `cancel` 3); `None` for a ping, which
/// changes nothing and is never written.
pub(crate) fn request_tag(req: &Request) -> Option<u8> {
    match req {
        Request::Limit { .. } => Some(1),
        Request::Market { .. } => Some(2),
        Request::Cancel { .. } => Some(3),
        Request::Amend { .. }
        | Request::Orders { .. }
        | Request::CancelAll { .. }
        | Request::Login
        | Request::Ping => None,
    }
}

/// Appends fields to a buffer.
pub(crate) struct Writer<'a>(pub(crate) &'a mut Vec<u8>);

impl Writer<'_> {
    pub(crate) fn u8(&mut self, v: u8) {
        self.0.push(v);
    }

    pub(crate) fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    pub(crate) fn side(&mut self, side: Side) {
        self.u8(match side {
            Side::Buy => 0,
            Side::Sell => 1,
        });
    }

    pub(crate) fn symbol(&mut self, symbol: Symbol) {
        let text = symbol.as_str().as_bytes();
        // A symbol is at most 16 bytes.
        self.u8(text.len() as u8);
        self.0.extend_from_slice(text);
    }

    /// A request's fields after its tag ([`request_tag`]): id, symbol, then what its kind
    /// carries. A ping has none.
    pub(crate) fn request_fields(&mut self, req: &Request) {
        match *req {
            Request::Limit {
                id,
                symbol,
                side,
                price,
                qty,
                tif,
                ..
            } => {
                self.u64(id);
                self.symbol(symbol);
                self.side(side);
                self.u64(price.ticks());
                self.u64(qty);
                // Tags are never renumbered: journals written before `fok` and `post`
                // existed stay readable.
                self.u8(match tif {
                    Tif::Gtc => 0,
                    Tif::Ioc => 1,
                    Tif::Fok => 2,
                    Tif::Post => 3,
                });
            }
            Request::Market {
                id,
                symbol,
                side,
                qty,
                ..
            } => {
                self.u64(id);
                self.symbol(symbol);
                self.side(side);
                self.u64(qty);
            }
            Request::Cancel { id, symbol } => {
                self.u64(id);
                self.symbol(symbol);
            }
            Request::Amend { .. }
            | Request::Orders { .. }
            | Request::CancelAll { .. }
            | Request::Login
            | Request::Ping => {}
        }
    }
}

/// Reads fields from the front of a byte string.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes }
    }

    /// Bytes not read yet.
    pub(crate) fn left(&self) -> usize {
        self.bytes.len()
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], FieldError> {
        let (head, rest) = self
            .bytes
            .split_at_checked(n)
            .ok_or(FieldError::Truncated)?;
        self.bytes = rest;
        Ok(head)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], FieldError> {
        let mut a = [0; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, FieldError> {
        Ok(self.take(1)?[0])
    }

    pub(crate) fn u64(&mut self) -> Result<u64, FieldError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    pub(crate) fn side(&mut self) -> Result<Side, FieldError> {
        match self.u8()? {
            0 => Ok(Side::Buy),
            1 => Ok(Side::Sell),
            tag => Err(FieldError::Tag { what: "side", tag }),
        }
    }

    pub(crate) fn symbol(&mut self) -> Result<Symbol, FieldError> {
        let n = usize::from(self.u8()?);
        let text = std::str::from_utf8(self.take(n)?).map_err(|_| FieldError::Symbol)?;
        Symbol::new(text).map_err(|_| FieldError::Symbol)
    }

    pub(crate) fn price(&mut self) -> Result<Price, FieldError> {
        Price::from_ticks(self.u64()?).ok_or(FieldError::Price)
    }

    /// The fields [`Writer::request_fields`] wrote for a request tagged `tag`.
    pub(crate) fn request_fields(&mut self, tag: u8) -> Result<Request, FieldError> {
        Ok(match tag {
            1 => Request::Limit {
                id: self.u64()?,
                symbol: self.symbol()?,
                side: self.side()?,
                price: self.price()?,
                qty: self.u64()?,
                tif: match self.u8()? {
                    0 => Tif::Gtc,
                    1 => Tif::Ioc,
                    2 => Tif::Fok,
                    3 => Tif::Post,
                    tag => return Err(FieldError::Tag { what: "tif", tag }),
                },
                stp: Stp::None,
            },
            2 => Request::Market {
                id: self.u64()?,
                symbol: self.symbol()?,
                side: self.side()?,
                qty: self.u64()?,
                stp: Stp::None,
            },
            3 => Request::Cancel {
                id: self.u64()?,
                symbol: self.symbol()?,
            },
            tag => return Err(FieldError::Tag { what: "op", tag }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_and_bad_bytes_are_named() {
        let symbol = Symbol::new("AB.C").unwrap();
        let reqs = [
            Request::Limit {
                id: 7,
                symbol,
                side: Side::Sell,
                price: Price::parse("12.5").unwrap(),
                qty: 3,
                tif: Tif::Ioc,
                stp: Default::default(),
            },
            Request::Market {
                id: 8,
                symbol,
                side: Side::Buy,
                qty: 1,
                stp: Default::default(),
            },
            Request::Cancel { id: 9, symbol },
        ];
        for req in reqs {
            let mut out = Vec::new();
            let tag = request_tag(&req).unwrap();
            Writer(&mut out).request_fields(&req);
            let mut r = Reader::new(&out);
            assert_eq!(r.request_fields(tag), Ok(req));
            assert_eq!(r.left(), 0);
            let cut = &out[..out.len() - 1];
            assert_eq!(
                Reader::new(cut).request_fields(tag),
                Err(FieldError::Truncated)
            );
        }
        assert_eq!(request_tag(&Request::Ping), None);
        assert_eq!(
            Reader::new(&[2]).side(),
            Err(FieldError::Tag {
                what: "side",
                tag: 2
            })
        );
        assert_eq!(
            Reader::new(&[2, b'a', b'b']).symbol(),
            Err(FieldError::Symbol)
        );
    }

    #[test]
    fn tif_tags_are_fixed() {
        // Journals on disk hold these bytes: a tif's tag never changes.
        let limit = |tif| Request::Limit {
            id: 1,
            symbol: Symbol::new("A").unwrap(),
            side: Side::Buy,
            price: Price::parse("1").unwrap(),
            qty: 1,
            tif,
            stp: Default::default(),
        };
        let mut out = Vec::new();
        for (tif, tag) in [(Tif::Gtc, 0), (Tif::Ioc, 1), (Tif::Fok, 2), (Tif::Post, 3)] {
            out.clear();
            Writer(&mut out).request_fields(&limit(tif));
            assert_eq!(out.last(), Some(&tag));
            assert_eq!(Reader::new(&out).request_fields(1), Ok(limit(tif)));
        }
        *out.last_mut().unwrap() = 4;
        assert_eq!(
            Reader::new(&out).request_fields(1),
            Err(FieldError::Tag {
                what: "tif",
                tag: 4
            })
        );
    }
}
