//! What a deferral scope or a network thread keeps to write later: a connection's filed
//! output, behind a trait so that `output` never names the connection type (the connection
//! depends on its output, not the other way).

use std::sync::atomic::AtomicBool;

/// A connection with output filed but perhaps not yet written.
pub(crate) trait Pending: Send + Sync {
    /// The connection's id: one entry per connection in a scope or a held set.
    fn id(&self) -> u64;

    /// Writes what is filed and in order, and accounts for it.
    fn write_pending(&self);

    /// Set while the connection is in the output idle network threads handed over
    /// ([`super::Consolidation`]), so it is listed once.
    fn handed(&self) -> &AtomicBool;
}
