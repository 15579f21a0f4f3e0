//! An account as its live sessions share it: the id rule's state and how many sessions it
//! has.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::accounts::AccountName;
use crate::matching::{OrderId, Owner};
use crate::pipeline::OrderState;

/// One account's shared state. A named account's lives as long as the server (its id floor
/// must outlive its sessions); an anonymous account's, as long as its one connection.
#[derive(Debug)]
pub(crate) struct Account {
    pub(crate) owner: Owner,
    /// `None` for a connection's anonymous account.
    pub(crate) name: Option<AccountName>,
    pub(crate) orders: OrderState,
    sessions: AtomicUsize,
}

impl Account {
    /// A connection's own account, in `open` mode without a login (and for HTTP requests
    /// without `Authorization`): its owner id is the connection's.
    pub(crate) fn anonymous(owner: Owner) -> Account {
        Account {
            owner,
            name: None,
            orders: OrderState::default(),
            sessions: AtomicUsize::new(0),
        }
    }

    /// A named account whose highest accepted id so far is `floor`.
    pub(crate) fn named(name: AccountName, floor: OrderId) -> Account {
        Account {
            owner: name.owner(),
            name: Some(name),
            orders: OrderState::starting_at(floor),
            sessions: AtomicUsize::new(0),
        }
    }

    /// A session joined; returns whether it is the account's first live one.
    pub(crate) fn joined(&self) -> bool {
        self.sessions.fetch_add(1, Ordering::AcqRel) == 0
    }

    /// A session left; returns whether it was the account's last live one.
    pub(crate) fn left(&self) -> bool {
        self.sessions.fetch_sub(1, Ordering::AcqRel) == 1
    }

    /// Its live sessions.
    pub(crate) fn sessions(&self) -> usize {
        self.sessions.load(Ordering::Acquire)
    }
}
