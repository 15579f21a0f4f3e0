//! The wire codec of the order stream: JSON lines in, JSON lines (or a JSON array, for
//! HTTP) out, as pure logic (no IO).
//!
//! [`LineFramer`] cuts a byte stream into frames, [`decode_request`] turns a frame into a
//! validated [`Request`](crate::matching::Request), [`decode_login`] reads a `login`'s
//! account and key, and [`encode_line`] / [`encode_array`] write [`Response`]s.
//! [`encode_request`] and [`encode_login`] are the client's side, for load generators and
//! tests: they write a request line that the decoders read back. [`scan_flat`] reads the
//! flat objects nearly every line is in one pass; the decoders take its reading and fall
//! back to serde for every other frame, with the same answer either way.
//!
//! # Reasons
//!
//! A frame that cannot be read as a request is answered with `error` and one of these
//! [`ErrorReason`]s:
//!
//! | reason | when |
//! |---|---|
//! | `frame too long` | the line is longer than the frame limit (default 4096 bytes) |
//! | `invalid json` | not JSON, or an object with a repeated field |
//! | `not an object` | JSON, but not an object |
//! | `missing op` / `invalid op` | no `op`, or not one of `limit`, `market`, `cancel`, `amend`, `orders`, `cancel_all`, `login`, `ping`, and no usable `id` |
//! | `missing id` / `invalid id` | `limit`, `market`, `cancel` or `amend` without an integer `id` in `1 ..= 2^63 - 1` |
//! | `invalid symbol` | `orders` or `cancel_all` with a `symbol` that breaks the symbol rule, and no usable `id` |
//! | `login failed` | [`decode_login`]: not an object, a repeated field, `account` or `key` missing or not a string, or an account name that is not 1–32 characters of `A–Z a–z 0–9 . _ -` |
//!
//! The network adds `too many connections`, `frame timeout`, `idle timeout`,
//! `login required`, `login failed` (a wrong key or unknown account) and `login not first`.
//!
//! A frame with a usable `id` that is wrong otherwise is answered with `reject` for that
//! id and one of these [`RejectReason`](crate::matching::RejectReason)s, the first failing
//! field in this order deciding:
//!
//! | reason | rule |
//! |---|---|
//! | `missing op` / `invalid op` | `op` is one of the eight above |
//! | `missing symbol` / `invalid symbol` | 1–16 characters of `A–Z 0–9 . _ -`; optional for `orders` and `cancel_all` |
//! | `missing side` / `invalid side` | `limit`, `market`: `buy` or `sell` |
//! | `missing price` / `invalid price` | `limit` (required), `amend` (optional): a string or number whose text matches `^[0-9]+(\.[0-9]+)?$`, `0 < price <= 1000000000`, a multiple of 0.0001 |
//! | `missing qty` / `invalid qty` | `limit`, `market` (required), `amend` (optional): a JSON integer token (no fraction or exponent), `1 ..= 1000000000` |
//! | `invalid tif` | `limit` only, optional: `gtc` (default), `ioc`, `fok` or `post` |
//! | `invalid stp` | `limit`, `market`, optional: `none` (default), `cancel_taker`, `cancel_maker` or `cancel_both` |
//! | `nothing to amend` | `amend` with neither `qty` nor `price` |
//!
//! `market` ignores `price` and `tif`, `cancel` ignores every order field, `orders` and
//! `cancel_all` ignore all but `symbol`, `ping` and `login` ignore everything but `op` (the
//! network reads a `login`'s fields with [`decode_login`]); unknown fields are ignored and
//! a `null` field counts as missing. The matching engine adds `duplicate id`,
//! `id not increasing`, `unknown order` and `would cross`.
//!
//! # Framing
//!
//! Lines end with `\n`; a `\r` before it is dropped; blank lines (spaces, tabs) yield
//! nothing. An over-long line yields one [`FrameError::TooLong`] and is skipped up to its
//! newline without being buffered. [`LineFramer::has_partial`] tells whether an
//! unfinished frame is pending, for a frame timeout against slow senders.

pub(crate) mod binary;
mod error;
mod flat;
mod frame;
mod login;
mod raw;
mod request;
mod response;

pub use error::{DecodeError, ErrorReason, FrameError};
pub use flat::scan_flat;
pub use frame::{LineFramer, DEFAULT_MAX_FRAME_LEN};
pub use login::{decode_login, encode_login, Login};
pub use request::{decode_request, encode_request, new_order_id};
pub use response::{encode_array, encode_line, encode_response, Response};
