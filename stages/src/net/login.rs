//! A session's frames before it acts for an account (PROTOCOL.md "Accounts"): the reader
//! screens them itself, so every frame that reaches the stages already has its account.
//!
//! | frame | `open` mode | `keys` mode |
//! |---|---|---|
//! | `ping` | `pong` | `pong` |
//! | not a request (`error` answer) | that `error` | that `error` |
//! | `login`, accepted | `login`; the session acts for the account | same |
//! | `login`, refused | `error` `login failed`; the connection closes | same |
//! | any other request | the session becomes an anonymous account of its own; the frame goes on | `reject` (usable id) or `error` `login required` |
//!
//! Neither `ping`, nor frames answered `error`, nor `login required` refusals count as the
//! session's first processed request, so a `login` may still follow them. Once the session
//! acts for an account, frames go to the stages unread, and a later `login` is answered there
//! (`login not first`).

use std::sync::Arc;

use super::account::Account;
use super::conn::Conn;
use super::registry::Registry;
use crate::accounts::Auth;
use crate::codec::{decode_login, decode_request, DecodeError, ErrorReason, Response};
use crate::matching::{RejectReason, ReportKind, Request};

/// What the reader does with a frame of a session that acts for no account yet.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Screened {
    /// The session now acts for an account: the frame goes to the stages.
    Pass,
    /// Answered in its slot; the session still acts for no account, unless the answer is a
    /// `login`.
    Answer(Response),
    /// A refused login: answer `login failed` and close the connection.
    Failed,
}

/// Screens `frame` of `conn`, which acts for no account yet.
pub(crate) fn screen(conn: &Arc<Conn>, frame: &[u8], auth: &Auth, registry: &Registry) -> Screened {
    let refusal = match decode_request(frame) {
        Ok(Request::Ping) => return Screened::Answer(Response::Pong),
        Ok(Request::Login) => return login(conn, frame, auth, registry),
        Err(DecodeError::Error { reason }) => return Screened::Answer(Response::Error(reason)),
        Ok(req) => req.id().ok_or(ErrorReason::LoginRequired),
        Err(DecodeError::Reject { id, .. }) => Ok(id),
    };
    if !auth.requires_login() {
        registry.bind(conn, Arc::new(Account::anonymous(conn.id)));
        return Screened::Pass;
    }
    registry.metrics().login_required();
    Screened::Answer(match refusal {
        Ok(id) => ReportKind::Reject {
            id,
            reason: RejectReason::LoginRequired,
        }
        .into(),
        Err(reason) => Response::Error(reason),
    })
}

fn login(conn: &Arc<Conn>, frame: &[u8], auth: &Auth, registry: &Registry) -> Screened {
    let checked = decode_login(frame).ok().and_then(|l| {
        auth.login(l.account.as_str().as_bytes(), l.key.as_bytes())
            .ok()
    });
    registry.metrics().login(checked.is_some());
    let Some(name) = checked else {
        // Neither the key nor an unchecked name reaches the log.
        tracing::info!(conn = conn.id, "login failed");
        return Screened::Failed;
    };
    if !registry.bind(conn, registry.account(name)) {
        return Screened::Answer(Response::Error(ErrorReason::LoginNotFirst));
    }
    tracing::debug!(conn = conn.id, account = %name, "login");
    Screened::Answer(Response::Login(name))
}
