//! Accounts: who owns an order (PROTOCOL.md "Accounts").
//!
//! A session (TCP connection) acts for one account from its first processed request on: the
//! account it logged in as, or, in `open` mode without a login, an anonymous account of its
//! own. Orders belong to accounts, so only the owner cancels or amends them, the increasing-id
//! rule runs per account over all its sessions, and reports of resting orders go to every
//! live session of the account.
//!
//! - [`AccountName`]: the name rule, and the owner id every process derives from a name.
//! - [`Auth`]: the `[auth]` table and the login check (SHA-256 of the key, compared in
//!   constant time; keys are never stored, logged or counted).

mod auth;
mod name;

pub use auth::{AccountConfig, Auth, AuthConfig, AuthMode, LoginFailed};
pub use name::{is_named, AccountName};
