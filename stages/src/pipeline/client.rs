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

/// A connection's identity (a TCP session, or one HTTP request).
pub type ConnId = u64;

/// A client connection as the stages see it. It acts for one account (its owner).
pub(crate) trait Client: fmt::Debug + Send + Sync {
    /// Its identity.
    fn id(&self) -> ConnId;

    /// The account it acts for: the owner of its orders.
    fn owner(&self) -> Owner;

    /// Its account's id-rule state, shared by all the account's sessions.
    fn orders(&self) -> &OrderState;

    /// Whether the account may have other live sessions, which then get copies of the
    /// reports of its resting orders.
    fn shares_account(&self) -> bool;

    /// Answers request `seq` with `responses`; the connection writes its answers in request
    /// order whatever order they come in.
    fn reply(self: Arc<Self>, seq: u64, read_at: Instant, responses: &[Response]);

    /// Answers a run of its requests, each as [`Client::reply`] would, filed together: a
    /// read's answers usually meet in one encode batch.
    fn reply_run(self: Arc<Self>, run: &[Reply]);
}

/// One answer of a run ([`Client::reply_run`]).
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) seq: u64,
    pub(crate) read_at: Instant,
    pub(crate) responses: Vec<Response>,
}

/// How events name the client they come from or go to.
pub(crate) type ClientRef = Arc<dyn Client>;

/// A report for an account's live sessions that no request of theirs is waiting for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Notice {
    /// The account.
    pub(crate) to: Owner,
    /// The session that already has it in its reply.
    pub(crate) except: Option<ConnId>,
    /// Other processes may hold sessions of the account (an ingress's named account): one
    /// that reaches none here is not counted as discarded.
    pub(crate) elsewhere: bool,
    pub(crate) kind: ReportKind,
}

/// The live connections, as the encode stage sees them.
pub(crate) trait Clients: Send + Sync {
    /// Sends each notice to every live session of its account but the excepted one,
    /// draining `notices`; returns how many reached no session (the account has none).
    fn notify(&self, notices: &mut Vec<Notice>) -> u64;

    /// Runs `encode` with the socket writes its answers make due held back, and leaves them
    /// for after the lane is released ([`Context::after_release`]): another thread can encode
    /// the next batch during the `send`s.
    fn encode_then_write(&self, ctx: &mut Context<'_>, encode: &mut dyn FnMut());
}
