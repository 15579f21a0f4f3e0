//! The stages' view of the network: a client connection ([`Client`]) and the live ones
//! ([`Clients`]). The network implements both, so the stages name no socket, writer or
//! registry, and dependencies point one way (net → pipeline).

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use sedaflow::Context;

use super::order_state::OrderState;
use crate::codec::Response;
use crate::matching::{Owner, ReportKind};

/// A connection's identity; also the owner of its orders in the books.
pub type ConnId = Owner;

/// A client connection as the stages see it.
pub(crate) trait Client: fmt::Debug + Send + Sync {
    /// Its identity.
    fn id(&self) -> ConnId;

    /// Its id-rule state.
    fn orders(&self) -> &OrderState;

    /// Answers request `seq` with `responses`; the connection writes its answers in request
    /// order whatever order they come in.
    fn reply(self: Arc<Self>, seq: u64, read_at: Instant, responses: &[Response]);
}

/// How events name the client they come from or go to.
pub(crate) type ClientRef = Arc<dyn Client>;

/// The live connections, as the encode stage sees them.
pub(crate) trait Clients: Send + Sync {
    /// Sends each report to its owner's live connection, draining `notices`; returns how
    /// many found none (the owner is gone).
    fn notify(&self, notices: &mut Vec<(ConnId, ReportKind)>) -> u64;

    /// Runs `encode` with the socket writes its answers make due held back, and leaves them
    /// for after the lane is released ([`Context::after_release`]): another thread can encode
    /// the next batch during the `send`s.
    fn encode_then_write(&self, ctx: &mut Context<'_>, encode: &mut dyn FnMut());
}
