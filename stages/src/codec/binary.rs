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

/// The request tags, never renumbered: journals on disk and logs in flight hold them. A
/// `limit` or `market` order without self-trade prevention keeps its first tag (and layout),
/// so what an older server wrote reads the same.
mod tag {
    pub(super) const LIMIT: u8 = 1;
    pub(super) const MARKET: u8 = 2;
    pub(super) const CANCEL: u8 = 3;
    pub(super) const LIMIT_STP: u8 = 4;
    pub(super) const MARKET_STP: u8 = 5;
    pub(super) const AMEND: u8 = 6;
    pub(super) const CANCEL_ALL: u8 = 7;
    pub(super) const ORDERS: u8 = 8;
}

/// The tag of a request's kind: `limit` 1 (4 with an `stp`), `market` 2 (5 with an `stp`),
/// `cancel` 3, `amend` 6, `cancel_all` 7, `orders` 8; `None` for `login` and `ping`, which
/// the network answers and never writes.
pub(crate) fn request_tag(req: &Request) -> Option<u8> {
    match *req {
        Request::Limit { stp: Stp::None, .. } => Some(tag::LIMIT),
        Request::Limit { .. } => Some(tag::LIMIT_STP),
        Request::Market { stp: Stp::None, .. } => Some(tag::MARKET),
        Request::Market { .. } => Some(tag::MARKET_STP),
        Request::Cancel { .. } => Some(tag::CANCEL),
        Request::Amend { .. } => Some(tag::AMEND),
        Request::CancelAll { .. } => Some(tag::CANCEL_ALL),
        Request::Orders { .. } => Some(tag::ORDERS),
        Request::Login | Request::Ping => None,
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
        let text = symbol.as_bytes();
        // A symbol is at most 16 bytes.
        self.u8(text.len() as u8);
        self.0.extend_from_slice(text);
    }

    /// An optional symbol: a zero length byte for none (a symbol is never empty).
    pub(crate) fn symbol_or_all(&mut self, symbol: Option<Symbol>) {
        match symbol {
            Some(symbol) => self.symbol(symbol),
            None => self.u8(0),
        }
    }

    /// Tags are never renumbered: journals written before `fok` and `post` existed stay
    /// readable.
    pub(crate) fn tif(&mut self, tif: Tif) {
        self.u8(match tif {
            Tif::Gtc => 0,
            Tif::Ioc => 1,
            Tif::Fok => 2,
            Tif::Post => 3,
        });
    }

    pub(crate) fn stp(&mut self, stp: Stp) {
        self.u8(match stp {
            Stp::None => 0,
            Stp::CancelTaker => 1,
            Stp::CancelMaker => 2,
            Stp::CancelBoth => 3,
        });
    }

    /// A request's fields after its tag ([`request_tag`]): id and symbol (an optional
    /// symbol for `orders` and `cancel_all`), then what its kind carries; an `stp` byte last
    /// only when it is not `none` (tags 4 and 5); an `amend`'s missing `qty` or `price` as 0,
    /// a value neither can have. `login` and `ping` have none.
    pub(crate) fn request_fields(&mut self, req: &Request) {
        match *req {
            Request::Limit {
                id,
                symbol,
                side,
                price,
                qty,
                tif,
                stp,
            } => {
                self.u64(id);
                self.symbol(symbol);
                self.side(side);
                self.u64(price.ticks());
                self.u64(qty);
                self.tif(tif);
                self.stp_if_any(stp);
            }
            Request::Market {
                id,
                symbol,
                side,
                qty,
                stp,
            } => {
                self.u64(id);
                self.symbol(symbol);
                self.side(side);
                self.u64(qty);
                self.stp_if_any(stp);
            }
            Request::Cancel { id, symbol } => {
                self.u64(id);
                self.symbol(symbol);
            }
            Request::Amend {
                id,
                symbol,
                qty,
                price,
            } => {
                self.u64(id);
                self.symbol(symbol);
                self.u64(qty.unwrap_or(0));
                self.u64(price.map_or(0, Price::ticks));
            }
            Request::Orders { symbol } | Request::CancelAll { symbol } => {
                self.symbol_or_all(symbol);
            }
            Request::Login | Request::Ping => {}
        }
    }

    /// The `stp` byte of tags 4 and 5; tags 1 and 2 (no `stp`) have none.
    fn stp_if_any(&mut self, stp: Stp) {
        if stp != Stp::None {
            self.stp(stp);
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

    pub(crate) fn symbol_or_all(&mut self) -> Result<Option<Symbol>, FieldError> {
        match self.bytes.first() {
            Some(0) => self.take(1).map(|_| None),
            _ => self.symbol().map(Some),
        }
    }

    pub(crate) fn tif(&mut self) -> Result<Tif, FieldError> {
        match self.u8()? {
            0 => Ok(Tif::Gtc),
            1 => Ok(Tif::Ioc),
            2 => Ok(Tif::Fok),
            3 => Ok(Tif::Post),
            tag => Err(FieldError::Tag { what: "tif", tag }),
        }
    }

    pub(crate) fn stp(&mut self) -> Result<Stp, FieldError> {
        match self.u8()? {
            0 => Ok(Stp::None),
            1 => Ok(Stp::CancelTaker),
            2 => Ok(Stp::CancelMaker),
            3 => Ok(Stp::CancelBoth),
            tag => Err(FieldError::Tag { what: "stp", tag }),
        }
    }

    /// The fields [`Writer::request_fields`] wrote for a request tagged `tag`.
    pub(crate) fn request_fields(&mut self, tag: u8) -> Result<Request, FieldError> {
        Ok(match tag {
            tag::LIMIT | tag::LIMIT_STP => Request::Limit {
                id: self.u64()?,
                symbol: self.symbol()?,
                side: self.side()?,
                price: self.price()?,
                qty: self.u64()?,
                tif: self.tif()?,
                stp: self.stp_of(tag == tag::LIMIT_STP)?,
            },
            tag::MARKET | tag::MARKET_STP => Request::Market {
                id: self.u64()?,
                symbol: self.symbol()?,
                side: self.side()?,
                qty: self.u64()?,
                stp: self.stp_of(tag == tag::MARKET_STP)?,
            },
            tag::CANCEL => Request::Cancel {
                id: self.u64()?,
                symbol: self.symbol()?,
            },
            tag::AMEND => Request::Amend {
                id: self.u64()?,
                symbol: self.symbol()?,
                qty: Some(self.u64()?).filter(|&qty| qty != 0),
                price: match self.u64()? {
                    0 => None,
                    ticks => Some(Price::from_ticks(ticks).ok_or(FieldError::Price)?),
                },
            },
            tag::CANCEL_ALL => Request::CancelAll {
                symbol: self.symbol_or_all()?,
            },
            tag::ORDERS => Request::Orders {
                symbol: self.symbol_or_all()?,
            },
            tag => return Err(FieldError::Tag { what: "op", tag }),
        })
    }

    /// The `stp` byte when the tag says there is one (never `none`, which has the other
    /// tag: one spelling per request); `none` otherwise.
    fn stp_of(&mut self, tagged: bool) -> Result<Stp, FieldError> {
        if !tagged {
            return Ok(Stp::None);
        }
        match self.stp()? {
            Stp::None => Err(FieldError::Tag {
                what: "stp",
                tag: 0,
            }),
            stp => Ok(stp),
        }
    }
}

#[cfg(test)]
mod tests;
