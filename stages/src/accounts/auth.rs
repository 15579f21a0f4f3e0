use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::AccountName;

/// `[auth]`: who may log in.
///
/// ```toml
/// [auth]
/// mode = "keys"
/// [[auth.accounts]]
/// name = "alice"
/// key_sha256 = "<64 lowercase hex digits: SHA-256 of alice's key>"
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// `open` (the default) or `keys`.
    pub mode: AuthMode,
    /// The accounts `keys` mode knows.
    pub accounts: Vec<AccountConfig>,
}

/// How logins are checked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// For development and the demo: login is optional, any valid name is accepted and its
    /// key is not checked; a session that does not log in is an anonymous account of its own.
    #[default]
    Open,
    /// A session must log in with a configured account and its key before anything but
    /// `ping`.
    Keys,
}

/// One configured account.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountConfig {
    /// 1–32 characters of `A–Z a–z 0–9 . _ -`.
    pub name: String,
    /// SHA-256 of the account's key, 64 lowercase hex digits: the key itself is never stored.
    pub key_sha256: String,
}

impl std::fmt::Debug for AccountConfig {
    // The digest is not the key, but it is still nothing for a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountConfig")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Checks logins against an [`AuthConfig`]. Pure: no IO, no clock.
///
/// # Examples
///
/// ```
/// use sedaflow_stages::accounts::{AccountConfig, Auth, AuthConfig, AuthMode};
///
/// let config = AuthConfig {
///     mode: AuthMode::Keys,
///     accounts: vec![AccountConfig {
///         name: "alice".into(),
///         // sha256("k-a")
///         key_sha256: "29c2cc888fa9b3f46e0711100e1729a19129b4de8950fc68bd184ec09dfbe6cd".into(),
///     }],
/// };
/// let auth = Auth::new(&config).unwrap();
/// assert_eq!(auth.login(b"alice", b"k-a").unwrap().as_str(), "alice");
/// assert!(auth.login(b"alice", b"wrong").is_err());
/// assert!(auth.login(b"mallory", b"k-a").is_err());
/// assert!(auth.requires_login());
/// ```
#[derive(Debug, Clone)]
pub struct Auth {
    mode: AuthMode,
    keys: HashMap<AccountName, [u8; 32]>,
}

/// Why a login failed. Deliberately says nothing more: the client gets `login failed` for an
/// unknown account, a wrong key and an invalid name alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("login failed")]
pub struct LoginFailed;

impl Auth {
    /// Validates the configured accounts.
    ///
    /// # Errors
    /// A message naming the account whose name or digest is invalid, or that is listed twice,
    /// or two names whose owner ids collide (never seen; checked so it cannot go unnoticed).
    pub fn new(config: &AuthConfig) -> Result<Auth, String> {
        let mut keys = HashMap::new();
        let mut owners = HashMap::new();
        for a in &config.accounts {
            let name = AccountName::new(&a.name)
                .ok_or_else(|| format!("auth.accounts: invalid account name {:?}", a.name))?;
            let digest = parse_digest(&a.key_sha256).ok_or_else(|| {
                format!("auth.accounts: key_sha256 of {name} is not 64 lowercase hex digits")
            })?;
            if keys.insert(name, digest).is_some() {
                return Err(format!("auth.accounts: {name} is listed twice"));
            }
            if let Some(other) = owners.insert(name.owner(), name) {
                return Err(format!(
                    "auth.accounts: {name} and {other} share an owner id"
                ));
            }
        }
        Ok(Auth {
            mode: config.mode,
            keys,
        })
    }

    /// Whether sessions must log in before anything but `ping`.
    pub fn requires_login(&self) -> bool {
        self.mode == AuthMode::Keys
    }

    /// Checks a login. In `keys` mode the SHA-256 of `key` is compared in constant time with
    /// the configured digest (an unknown account is compared against a dummy, so the time
    /// does not tell which accounts exist); in `open` mode only the name is checked.
    ///
    /// # Errors
    /// [`LoginFailed`] for an invalid name, an unknown account or a wrong key.
    pub fn login(&self, account: &[u8], key: &[u8]) -> Result<AccountName, LoginFailed> {
        let name = std::str::from_utf8(account)
            .ok()
            .and_then(AccountName::new)
            .ok_or(LoginFailed)?;
        if self.mode == AuthMode::Open {
            return Ok(name);
        }
        let digest: [u8; 32] = Sha256::digest(key).into();
        let (expected, known) = match self.keys.get(&name) {
            Some(d) => (*d, true),
            None => ([0; 32], false),
        };
        let matches: bool = digest.ct_eq(&expected).into();
        if matches && known {
            Ok(name)
        } else {
            Err(LoginFailed)
        }
    }
}

fn parse_digest(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.as_bytes();
    if hex.len() != 64 {
        return None;
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut out = [0; 32];
    for (i, pair) in hex.chunks_exact(2).enumerate() {
        out[i] = nibble(pair[0])? << 4 | nibble(pair[1])?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha_hex(key: &[u8]) -> String {
        Sha256::digest(key)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    fn keys(accounts: &[(&str, &[u8])]) -> Auth {
        let accounts = accounts
            .iter()
            .map(|(name, key)| AccountConfig {
                name: (*name).into(),
                key_sha256: sha_hex(key),
            })
            .collect();
        Auth::new(&AuthConfig {
            mode: AuthMode::Keys,
            accounts,
        })
        .unwrap()
    }

    #[test]
    fn keys_mode_checks_name_and_key() {
        let auth = keys(&[("alice", b"k-a"), ("bob", b"k-b")]);
        assert_eq!(
            auth.login(b"alice", b"k-a").map(|n| n.to_string()),
            Ok("alice".into())
        );
        assert_eq!(
            auth.login(b"bob", b"k-b").map(|n| n.to_string()),
            Ok("bob".into())
        );
        assert_eq!(auth.login(b"alice", b"k-b"), Err(LoginFailed));
        assert_eq!(auth.login(b"carol", b"k-a"), Err(LoginFailed));
        assert_eq!(auth.login(b"", b""), Err(LoginFailed));
        assert_eq!(auth.login(&[0xff; 40], &[0; 100_000]), Err(LoginFailed));
    }

    #[test]
    fn open_mode_takes_any_valid_name() {
        let auth = Auth::new(&AuthConfig::default()).unwrap();
        assert!(!auth.requires_login());
        assert!(auth.login(b"anyone", b"whatever").is_ok());
        assert_eq!(auth.login(b"no spaces", b""), Err(LoginFailed));
    }

    #[test]
    fn refuses_bad_configs() {
        let bad = |name: &str, digest: &str| {
            Auth::new(&AuthConfig {
                mode: AuthMode::Keys,
                accounts: vec![AccountConfig {
                    name: name.into(),
                    key_sha256: digest.into(),
                }],
            })
            .is_err()
        };
        assert!(bad("al ice", &sha_hex(b"k")));
        assert!(bad("alice", "abc"));
        assert!(bad("alice", &sha_hex(b"k").to_uppercase()));
        let twice = AuthConfig {
            mode: AuthMode::Keys,
            accounts: vec![
                AccountConfig {
                    name: "a".into(),
                    key_sha256: sha_hex(b"1"),
                };
                2
            ],
        };
        assert!(Auth::new(&twice).is_err());
    }

    #[test]
    fn debug_shows_no_digest() {
        let a = AccountConfig {
            name: "alice".into(),
            key_sha256: sha_hex(b"k"),
        };
        assert!(!format!("{a:?}").contains(&a.key_sha256));
    }
}
