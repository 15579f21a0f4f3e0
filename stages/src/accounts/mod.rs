//! Accounts: who owns an order. A session (connection) acts for one account from its first
//! processed request on: the account it logged in as, or an anonymous account of its own.

mod name;

pub use name::{is_named, AccountName};
