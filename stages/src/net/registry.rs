//! Live sessions by account, so reports of an account's resting orders reach every one of
//! its sessions; named accounts' shared state; the encode stage's view of them ([`Clients`]).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use parking_lot::{Mutex, RwLock};
use rustc_hash::FxHashMap;

use sedaflow::Context;

use super::account::Account;
use super::conn::Conn;
use super::output;
use crate::accounts::AccountName;
use crate::codec::Response;
use crate::internal_events::AccountMetrics;
use crate::matching::{OrderId, Owner};
use crate::pipeline::{Clients, ConnId, Notice};

/// Sessions by account. Lookups take a read lock once per notification batch. Owner ids are
/// the server's own or SHA-256 based, so a fast non-keyed hash is safe.
pub(crate) struct Registry {
    sessions: RwLock<FxHashMap<Owner, Vec<Arc<Conn>>>>,
    /// Named accounts' state, kept for the server's life: an account's id floor outlives its
    /// sessions (bounded by the accounts that ever logged in).
    named: Mutex<FxHashMap<Owner, Arc<Account>>>,
    /// Each account's highest accepted id, recovered from a journal.
    floors: BTreeMap<Owner, OrderId>,
    next: AtomicU64,
    open: AtomicUsize,
    metrics: AccountMetrics,
    /// Told of each named session that binds: an ingress logs it for the matchers' session
    /// count (`cancel_on_disconnect` over every ingress).
    log_session: OnceLock<SessionLogger>,
}

/// Logs that connection `ConnId` is a session of the named account `Owner`.
pub(crate) type SessionLogger = Box<dyn Fn(ConnId, Owner) + Send + Sync>;

impl Registry {
    /// A registry whose connection ids start above `base` (ids a journal already names),
    /// and whose named accounts start from the recovered `floors`.
    pub(crate) fn new(
        base: ConnId,
        floors: BTreeMap<Owner, OrderId>,
        metrics: AccountMetrics,
    ) -> Registry {
        Registry {
            sessions: RwLock::default(),
            named: Mutex::default(),
            floors,
            next: AtomicU64::new(base),
            open: AtomicUsize::new(0),
            metrics,
            log_session: OnceLock::new(),
        }
    }

    /// Has every named session that binds from now on logged by `logger`; then every named
    /// session's close goes to the log too ([`logs_sessions`](Self::logs_sessions)).
    pub(crate) fn log_sessions(&self, logger: SessionLogger) {
        let _ = self.log_session.set(logger);
    }

    /// Whether named sessions are logged (an ingress with `cancel_on_disconnect`).
    pub(crate) fn logs_sessions(&self) -> bool {
        self.log_session.get().is_some()
    }

    pub(crate) fn next_id(&self) -> ConnId {
        self.next.fetch_add(1, Ordering::Relaxed) + 1
    }

    pub(crate) fn metrics(&self) -> &AccountMetrics {
        &self.metrics
    }

    /// Claims one of `max` TCP connection slots; the connection is then bound to an account
    /// and, when it ends, removed as counted.
    pub(crate) fn reserve(&self, max: usize) -> bool {
        self.open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .is_ok()
    }

    /// The shared state of the account `name`.
    pub(crate) fn account(&self, name: AccountName) -> Arc<Account> {
        let owner = name.owner();
        let mut named = self.named.lock();
        named
            .entry(owner)
            .or_insert_with(|| {
                let floor = self.floors.get(&owner).copied().unwrap_or(0);
                Arc::new(Account::named(name, floor))
            })
            .clone()
    }

    /// Makes `conn` a live session of `account`; false if it already acts for one.
    pub(crate) fn bind(&self, conn: &Arc<Conn>, account: Arc<Account>) -> bool {
        if !conn.bind(account.clone()) {
            return false;
        }
        let first = account.joined();
        self.metrics.session(account.name.is_some(), 1.0, first);
        if let (Some(log), Some(_)) = (self.log_session.get(), account.name) {
            log(conn.id, account.owner);
        }
        self.sessions
            .write()
            .entry(account.owner)
            .or_default()
            .push(conn.clone());
        true
    }

    /// Closes a TCP connection and frees its slot; returns its account when it was the
    /// account's last live session.
    pub(crate) fn remove(&self, conn: &Arc<Conn>) -> Option<Arc<Account>> {
        conn.close();
        self.open.fetch_sub(1, Ordering::Relaxed);
        let account = conn.bound()?.clone();
        {
            let mut sessions = self.sessions.write();
            if let Some(list) = sessions.get_mut(&account.owner) {
                list.retain(|c| c.id != conn.id);
                if list.is_empty() {
                    sessions.remove(&account.owner);
                }
            }
        }
        let last = account.left();
        self.metrics.session(account.name.is_some(), -1.0, last);
        last.then_some(account)
    }

    pub(crate) fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }
}

impl Clients for Registry {
    /// One read lock for the whole batch of reports, and one look-up and one filing per
    /// session for each run of reports to one account (a maker's fill and its `done`).
    fn notify(&self, notices: &mut Vec<Notice>) -> u64 {
        let sessions = self.sessions.read();
        let mut gone = 0;
        let mut reports = Vec::new();
        for run in notices.chunk_by(|a, b| a.to == b.to) {
            let live = sessions.get(&run[0].to).map_or(&[][..], Vec::as_slice);
            for conn in live {
                reports.clear();
                reports.extend(
                    run.iter()
                        .filter(|n| Some(conn.id) != n.except)
                        .map(|n| Response::Report(n.kind)),
                );
                if !reports.is_empty() {
                    conn.notify(&reports);
                }
            }
            // The excepted session has it already; with no session at all it is lost.
            if live.is_empty() {
                gone += run
                    .iter()
                    .filter(|n| n.except.is_none() && !n.elsewhere)
                    .count() as u64;
            }
        }
        notices.clear();
        gone
    }

    fn encode_then_write(&self, ctx: &mut Context<'_>, encode: &mut dyn FnMut()) {
        let ((), conns) = output::collecting(encode);
        if !conns.is_empty() {
            ctx.after_release(move || output::write_collected(conns));
        }
    }
}
