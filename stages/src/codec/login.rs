use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;

use super::raw::{json_str, Raw};
use super::ErrorReason;
use crate::accounts::AccountName;

/// The fields of a `login` request. Its `Debug` leaves the key out: keys never reach logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Login {
    /// The account to act for.
    pub account: AccountName,
    /// The key, JSON-unescaped: any text the frame can carry, of any length.
    pub key: String,
}

impl fmt::Debug for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Login")
            .field("account", &self.account)
            .field("key", &"<redacted>")
            .finish()
    }
}

/// A `login` frame's fields as they arrive.
#[derive(Deserialize)]
struct Wire<'a> {
    #[serde(borrow)]
    account: Option<Raw<'a>>,
    #[serde(borrow)]
    key: Option<Raw<'a>>,
}

/// Reads the `account` and `key` of a frame that [`decode_request`](super::decode_request)
/// read as [`Request::Login`](crate::matching::Request::Login). Other fields are ignored.
///
/// # Errors
///
/// [`ErrorReason::LoginFailed`] for anything that is not a usable login, whatever the bytes:
/// not a JSON object, a repeated field, a missing or non-string `account` or `key`, or an
/// account name that breaks the name rule (1–32 characters of `A–Z a–z 0–9 . _ -`).
///
/// # Examples
///
/// ```
/// use sedaflow_stages::codec::{decode_login, ErrorReason};
///
/// let login = decode_login(br#"{"op":"login","account":"alice","key":"s\u00e9cret\n"}"#).unwrap();
/// assert_eq!(login.account.as_str(), "alice");
/// assert_eq!(login.key, "s\u{e9}cret\n");
/// assert!(!format!("{login:?}").contains("cret"));
/// assert_eq!(
///     decode_login(br#"{"op":"login","account":"al ice","key":""}"#),
///     Err(ErrorReason::LoginFailed)
/// );
/// ```
pub fn decode_login(frame: &[u8]) -> Result<Login, ErrorReason> {
    // Every failure is the same answer, so serde_json's own checks (UTF-8 included) suffice.
    let wire: Wire<'_> = serde_json::from_slice(frame).map_err(|_| ErrorReason::LoginFailed)?;
    let account = AccountName::new(&text(wire.account)?).ok_or(ErrorReason::LoginFailed)?;
    let key = text(wire.key)?.into_owned();
    Ok(Login { account, key })
}

/// A string field's text; anything else fails the login.
fn text(raw: Option<Raw<'_>>) -> Result<Cow<'_, str>, ErrorReason> {
    raw.and_then(json_str).ok_or(ErrorReason::LoginFailed)
}

/// Appends a `login` request line for `account` with `key` (escaped as JSON needs),
/// `\n` terminated: the client side of [`decode_login`].
///
/// # Examples
///
/// ```
/// use sedaflow_stages::accounts::AccountName;
/// use sedaflow_stages::codec::{decode_login, encode_login};
///
/// let alice = AccountName::new("alice").unwrap();
/// let mut out = Vec::new();
/// encode_login(&alice, "k\"ey", &mut out);
/// assert_eq!(out, b"{\"op\":\"login\",\"account\":\"alice\",\"key\":\"k\\\"ey\"}\n");
/// let login = decode_login(out.strip_suffix(b"\n").unwrap()).unwrap();
/// assert_eq!((login.account, login.key.as_str()), (alice, "k\"ey"));
/// ```
pub fn encode_login(account: &AccountName, key: &str, out: &mut Vec<u8>) {
    // Account names are `A–Z a–z 0–9 . _ -` only: nothing to escape.
    out.extend_from_slice(br#"{"op":"login","account":""#);
    out.extend_from_slice(account.as_str().as_bytes());
    out.extend_from_slice(br#"","key":""#);
    put_escaped(out, key);
    out.extend_from_slice(b"\"}\n");
}

/// Appends `text` as the inside of a JSON string: `"`, `\` and control characters escaped.
fn put_escaped(out: &mut Vec<u8>, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for &byte in text.as_bytes() {
        match byte {
            b'"' | b'\\' => out.extend_from_slice(&[b'\\', byte]),
            0..=0x1f => out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(byte >> 4)],
                HEX[usize::from(byte & 0xf)],
            ]),
            _ => out.push(byte),
        }
    }
}

#[cfg(test)]
mod tests;
