//! The wire codec of the order stream: JSON lines in, JSON lines (or a JSON array, for
//! HTTP) out, as pure logic (no IO).
//!
//! [`LineFramer`] cuts a byte stream into frames, [`decode_request`] turns a frame into a
//! validated [`Request`](crate::matching::Request), and [`encode_line`] /
//! [`encode_array`] write [`Response`]s. [`encode_request`] is the client's side, for load
//! generators and tests: it writes a request line that [`decode_request`] reads back.
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
//! | `missing op` / `invalid op` | no `op`, or not `limit`, `market`, `cancel`, `ping`, and no usable `id` |
//! | `missing id` / `invalid id` | `limit`, `market` or `cancel` without an integer `id` in `1 ..= 2^63 - 1` |
//!
//! A frame with a usable `id` that is wrong otherwise is answered with `reject` for that
//! id and one of these [`RejectReason`](crate::matching::RejectReason)s, the first failing
//! field in this order deciding:
//!
//! | reason | rule |
//! |---|---|
//! | `missing op` / `invalid op` | `op` is one of `limit`, `market`, `cancel`, `ping` |
//! | `missing symbol` / `invalid symbol` | 1–16 characters of `A–Z 0–9 . _ -` |
//! | `missing side` / `invalid side` | `buy` or `sell` |
//! | `missing price` / `invalid price` | `limit` only: a string or number whose text matches `^[0-9]+(\.[0-9]+)?$`, `0 < price <= 1000000000`, a multiple of 0.0001 |
//! | `missing qty` / `invalid qty` | a JSON integer token (no fraction or exponent), `1 ..= 1000000000` |
//! | `invalid tif` | `limit` only, optional: `gtc` (default), `ioc`, `fok` or `post` |
//!
//! `market` ignores `price` and `tif`, `cancel` ignores every order field, `ping` ignores
//! everything but `op`; unknown fields are ignored and a `null` field counts as missing.
//! The matching engine adds `duplicate id`, `id not increasing`, `unknown order` and
//! `would cross`.
//!
//! # Framing
//!
//! Lines end with `\n`; a `\r` before it is dropped; blank lines (spaces, tabs) yield
//! nothing. An over-long line yields one [`FrameError::TooLong`] and is skipped up to its
//! newline without being buffered. [`LineFramer::has_partial`] tells whether an
//! unfinished frame is pending, for a frame timeout against slow senders.

pub(crate) mod binary;
mod error;
mod frame;
mod request;
mod response;

pub use error::{DecodeError, ErrorReason, FrameError};
pub use frame::{LineFramer, DEFAULT_MAX_FRAME_LEN};
pub use request::{decode_request, encode_request};
pub use response::{encode_array, encode_line, encode_response, Response};
