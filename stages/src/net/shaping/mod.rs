//! Traffic shaping: read limits per connection and for the whole server, in bytes and in
//! requests a second (Netty's `ChannelTrafficShapingHandler` and
//! `GlobalTrafficShapingHandler`), set in `[limits]`.
//!
//! # Backpressure
//! A limit never drops. A read is framed and published as always, then charged to the
//! connection's token buckets and the server's ([`bucket`]); a reader that put one in debt
//! sleeps the delay owed before its next read, and TCP pushes back on the client meanwhile.
//! Every request read is answered. Over any span `t`, the server reads at most
//! `rate × t + burst` plus one read per connection (the read that ran into debt). An HTTP
//! order request is charged the same way but waits out its debt before it is handed on (a
//! client may open a connection per request), so it adds no read per connection.
//!
//! # Cost
//! With every limit off (the default) a read costs one relaxed load and a branch. With a limit
//! on, a read locks the server's buckets once, however many requests it carried.
//!
//! # Reload
//! [`Shaping::set`] changes the rates while the server runs (on SIGHUP). Each reader takes
//! the new rates at its next read; a debt is kept and paid at the new rate.

mod bucket;
mod shaper;

pub(crate) use shaper::{ConnShaper, Shaping};
