use thiserror::Error;

/// Why a text is not a valid [`Price`](super::Price).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum PriceError {
    /// The text is not digits with an optional fraction (`^[0-9]+(\.[0-9]+)?$`).
    #[error("price is not digits with an optional fraction")]
    Syntax,
    /// The value is zero or above the maximum price.
    #[error("price is not in 0 < price <= 1000000000")]
    OutOfRange,
    /// The value is not a multiple of the tick (0.0001).
    #[error("price is not a multiple of 0.0001")]
    TooPrecise,
}

/// Why a text is not a valid [`Symbol`](super::Symbol).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum SymbolError {
    /// Empty, or longer than [`Symbol::MAX_LEN`](super::Symbol::MAX_LEN) characters.
    #[error("symbol is not 1 to 16 characters long")]
    Length,
    /// A character outside `A–Z 0–9 . _ -`.
    #[error("symbol has a character outside A-Z 0-9 . _ -")]
    Character,
}

/// Why [`Book::restore`](super::Book::restore) refused an order list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum RestoreError {
    /// Two orders share an id.
    #[error("order {0} is listed twice")]
    DuplicateId(super::OrderId),
    /// An order has nothing left to trade.
    #[error("order {0} has no quantity left")]
    NoQuantity(super::OrderId),
}
