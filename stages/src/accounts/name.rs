use std::fmt;

use sha2::{Digest, Sha256};

use crate::matching::Owner;

/// An account name: 1–32 characters of `A–Z a–z 0–9 . _ -`, held inline so it is `Copy`.
///
/// # Examples
///
/// ```
/// use sedaflow_stages::accounts::AccountName;
///
/// let alice = AccountName::new("alice").unwrap();
/// assert_eq!(alice.as_str(), "alice");
/// assert!(AccountName::new("al ice").is_none());
/// assert!(AccountName::new("").is_none());
/// // The owner id is the same in every process, so books, journals and the cluster's log
/// // agree on it; it never collides with a connection's anonymous account.
/// assert_eq!(alice.owner(), AccountName::new("alice").unwrap().owner());
/// assert!(alice.owner() >= 1 << 63);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct AccountName {
    bytes: [u8; AccountName::MAX_LEN],
    len: u8,
}

impl AccountName {
    /// The longest name, in characters.
    pub const MAX_LEN: usize = 32;

    /// Validates `text` as an account name; `None` when it breaks the rule.
    pub fn new(text: &str) -> Option<AccountName> {
        let text = text.as_bytes();
        let valid = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-');
        if text.is_empty() || text.len() > AccountName::MAX_LEN || !text.iter().all(valid) {
            return None;
        }
        let mut bytes = [0; AccountName::MAX_LEN];
        bytes[..text.len()].copy_from_slice(text);
        Some(AccountName {
            bytes,
            len: text.len() as u8,
        })
    }

    /// The name's text.
    pub fn as_str(&self) -> &str {
        // Only ASCII is ever stored (checked in `new`), so this never falls back.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }

    /// The owner id of the account's orders: the first 63 bits of the name's SHA-256 with
    /// the top bit set. Connections' anonymous accounts are numbered below 2^63, so the two
    /// never meet, and every process derives the same id without sharing a table.
    pub fn owner(&self) -> Owner {
        let digest = Sha256::digest(self.as_str().as_bytes());
        let mut first = [0; 8];
        first.copy_from_slice(&digest[..8]);
        u64::from_be_bytes(first) | NAMED
    }
}

/// The top bit marks a named account's owner id.
const NAMED: Owner = 1 << 63;

/// Whether `owner` is a named account rather than a connection's anonymous one.
pub fn is_named(owner: Owner) -> bool {
    owner & NAMED != 0
}

impl fmt::Display for AccountName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for AccountName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("AccountName").field(&self.as_str()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_rule() {
        for ok in ["a", "alice", "Bob_2", "x.y-z", &"a".repeat(32)] {
            assert_eq!(
                AccountName::new(ok).map(|n| n.to_string()),
                Some(ok.to_owned())
            );
        }
        for bad in ["", &"a".repeat(33), "al ice", "ä", "a/b", "a\0", "a\"b"] {
            assert!(AccountName::new(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn owners_are_named_and_distinct() {
        let a = AccountName::new("alice").unwrap().owner();
        let b = AccountName::new("bob").unwrap().owner();
        assert_ne!(a, b);
        assert!(is_named(a) && is_named(b));
        assert!(!is_named(42));
    }
}
