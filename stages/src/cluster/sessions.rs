//! `cancel_on_disconnect` over every ingress, as pure logic: each partition counts the live
//! sessions of each named account from the log's session events ([`LogEntry`](super::wire::LogEntry)),
//! and an account whose count falls to zero has its resting orders cancelled there.
//!
//! # Rules
//! - A session counts from its `Opened` entry to its `Closed` one. An ingress logs the close
//!   behind every request the session sent, so nothing it sent can land after the cancel.
//! - `IngressGone` closes every session of that ingress at once (it died without closing
//!   them) and fences it: later entries of that ingress are ignored, so an ingress that was
//!   only paused cannot put sessions or orders back. It stops itself once it finds its lease
//!   gone.
//! - Anonymous accounts are not counted: an anonymous account's only session is its
//!   connection, so its ingress cancels for it directly (a `cancel_all` in the log).

use std::collections::{HashMap, HashSet};

use super::wire::ConnRef;
use crate::matching::Owner;

/// Live sessions by named account, and the ingresses declared gone.
#[derive(Debug, Default)]
pub(crate) struct Sessions {
    live: HashMap<Owner, HashSet<ConnRef>>,
    gone: HashSet<u64>,
}

impl Sessions {
    /// Whether entries of `ingress` are ignored.
    pub(crate) fn fenced(&self, ingress: u64) -> bool {
        self.gone.contains(&ingress)
    }

    /// `session` of `owner` opened (ignored from a fenced ingress).
    pub(crate) fn opened(&mut self, owner: Owner, session: ConnRef) {
        if !self.fenced(session.ingress) {
            self.live.entry(owner).or_default().insert(session);
        }
    }

    /// `session` of `owner` closed; true when it was the account's last live one.
    pub(crate) fn closed(&mut self, owner: Owner, session: ConnRef) -> bool {
        let Some(live) = self.live.get_mut(&owner) else {
            return false;
        };
        if !live.remove(&session) || !live.is_empty() {
            return false;
        }
        self.live.remove(&owner);
        true
    }

    /// `ingress` is gone: closes its sessions and fences it. Returns the accounts left
    /// without a live session, ascending (so a replay cancels in the same order).
    pub(crate) fn ingress_gone(&mut self, ingress: u64) -> Vec<Owner> {
        self.gone.insert(ingress);
        let mut emptied = Vec::new();
        self.live.retain(|&owner, live| {
            let before = live.len();
            live.retain(|s| s.ingress != ingress);
            if live.is_empty() && before > 0 {
                emptied.push(owner);
            }
            !live.is_empty()
        });
        emptied.sort_unstable();
        emptied
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ingress: u64, conn: Owner) -> ConnRef {
        ConnRef { ingress, conn }
    }

    #[test]
    fn the_last_close_over_every_ingress_counts() {
        let mut s = Sessions::default();
        s.opened(7, at(1, 10));
        s.opened(7, at(2, 20));
        assert!(
            !s.closed(7, at(1, 10)),
            "a session on ingress 2 is still live"
        );
        assert!(s.closed(7, at(2, 20)));
        // Closing again, or a session never opened, changes nothing.
        assert!(!s.closed(7, at(2, 20)));
        assert!(!s.closed(8, at(1, 11)));
    }

    #[test]
    fn a_gone_ingress_closes_its_sessions_and_is_fenced() {
        let mut s = Sessions::default();
        s.opened(9, at(1, 1));
        s.opened(8, at(1, 2));
        s.opened(7, at(1, 3));
        s.opened(7, at(2, 4));
        assert_eq!(s.ingress_gone(1), vec![8, 9], "7 still has a session on 2");
        assert!(s.fenced(1) && !s.fenced(2));
        // A late open from the gone ingress does not count.
        s.opened(6, at(1, 5));
        assert!(!s.closed(6, at(1, 5)));
        assert!(s.closed(7, at(2, 4)));
        assert_eq!(s.ingress_gone(1), Vec::<Owner>::new());
    }
}
