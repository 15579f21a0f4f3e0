/// What [`Engine::submit`](super::Engine::submit) did with a request, for the caller's
/// bookkeeping; the reports say the rest.
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// A new order was acked: the caller raises its account's id floor to the order's id.
    Accepted,
    /// The request was rejected; nothing changed.
    Rejected,
    /// A resting order was cancelled.
    Cancelled,
    /// A resting order was amended (and may have traded).
    Amended,
    /// `cancel_all` cancelled at least one order.
    CancelledAll,
    /// Nothing changed and nothing was refused: an `orders` listing, a `cancel_all` that found
    /// nothing, an `amend` to the order's current values.
    Listed,
    /// A ping: nothing for the engine to do, no report.
    Ignored,
}

impl Outcome {
    /// Whether a new order was accepted, so its id now bounds the account's next ids.
    pub fn is_accepted(self) -> bool {
        self == Outcome::Accepted
    }
}
