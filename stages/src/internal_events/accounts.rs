//! Accounts: logins by result, live sessions, and the orders cancel-on-disconnect removed.
//! Account names and keys never become labels: a label per account would let anyone who can
//! try a login grow the series without bound, and keys are secrets.

use metrics::{counter, describe_counter, describe_gauge, gauge, Counter, Gauge};

/// Cheap to clone: every field is a shared handle.
#[derive(Clone)]
pub(crate) struct AccountMetrics {
    logins: Counter,
    failed: Counter,
    refused: Counter,
    named: Gauge,
    anonymous: Gauge,
    accounts: Gauge,
    disconnect_cancels: Counter,
}

impl AccountMetrics {
    pub(crate) fn register() -> Self {
        describe_counter!(
            "sedaflow_logins_total",
            "Logins by result: ok, failed (unknown account, wrong key or invalid name; the connection is closed)."
        );
        describe_counter!(
            "sedaflow_login_required_total",
            "Requests refused with `login required` before a login (keys mode)."
        );
        describe_gauge!(
            "sedaflow_sessions",
            "Live TCP sessions by kind: named (logged in) or anonymous (open mode)."
        );
        describe_gauge!(
            "sedaflow_accounts_with_sessions",
            "Named accounts with at least one live session."
        );
        describe_counter!(
            "sedaflow_disconnect_cancels_total",
            "cancel_all requests made for accounts whose last session closed (cancel_on_disconnect)."
        );
        let logins = |result: &'static str| counter!("sedaflow_logins_total", "result" => result);
        let sessions = |kind: &'static str| gauge!("sedaflow_sessions", "kind" => kind);
        let m = AccountMetrics {
            logins: logins("ok"),
            failed: logins("failed"),
            refused: counter!("sedaflow_login_required_total"),
            named: sessions("named"),
            anonymous: sessions("anonymous"),
            accounts: gauge!("sedaflow_accounts_with_sessions"),
            disconnect_cancels: counter!("sedaflow_disconnect_cancels_total"),
        };
        for g in [&m.named, &m.anonymous, &m.accounts] {
            g.set(0.0);
        }
        m
    }

    pub(crate) fn login(&self, ok: bool) {
        match ok {
            true => self.logins.increment(1),
            false => self.failed.increment(1),
        }
    }

    pub(crate) fn login_required(&self) {
        self.refused.increment(1);
    }

    /// A session opened (`+1`) or closed (`-1`); `first_or_last` when it was its named
    /// account's first or last.
    pub(crate) fn session(&self, named: bool, delta: f64, first_or_last: bool) {
        match named {
            true => self.named.increment(delta),
            false => self.anonymous.increment(delta),
        }
        if named && first_or_last {
            self.accounts.increment(delta);
        }
    }

    pub(crate) fn disconnect_cancel(&self) {
        self.disconnect_cancels.increment(1);
    }
}
