//! A connection's output, from a stage's reply to the socket, written by whichever thread
//! produces it.
//!
//! The encode stage (on a reader's thread, which runs the stages itself, or on a pool thread)
//! files each reply in the connection's reorder buffer and writes what is due straight to the
//! socket with a non-blocking `try_write`: no hop to a writer task, with its wake-up and
//! thread switch.
//!
//! # When is a reply written to the socket?
//! 1. **When it is due** ([`reorder`]). Replies leave in request order. Output waits while
//!    answers to the oldest unanswered read are still to come: the write of the last of them
//!    carries it all, so a read's answers leave in one `send`, as an inline server's do.
//!    Due output that answers a read is *awaited*; a report nobody asked for just now (a
//!    resting order's fill) is due but not awaited.
//! 2. **By whom, and at which moment**: [`When`], decided by [`when`] alone.
//!    - `Now`: a put outside any scope writes what it makes due before it returns.
//!    - `AtScopeEnd`: inside a deferral scope ([`scope`]: a loop turn's reads, an encode batch)
//!      output is written when the innermost scope ends, once per connection however many
//!      replies it filed. The encode stage ends its scope after its lane is released
//!      ([`sedaflow::Context::after_release`]), so another thread encodes the next batch
//!      during the `send`s. What a client awaits is written there; the rest goes outwards.
//!    - `Held`: output nobody awaits, left by a network thread's outermost scope, waits for
//!      the next write to that client, for a few more reads, or at most a millisecond once
//!      the network threads go idle ([`held`]).
//! 3. **While the socket is full** ([`socket`]): the connection's writer task takes over,
//!    waiting until the socket is writable again.
//!
//! # Shutdown
//! After the reader's last request ([`Outgoing::End`]) is answered and written, the writer
//! task is kicked to finish and send FIN.
//!
//! # HTTP
//! A connection that is one HTTP request has no socket output: its reply is filed in an
//! [`Answer`] for the request's task, which hyper writes.

mod answer;
mod held;
mod pending;
mod reorder;
mod scope;
mod socket;
#[cfg(test)]
mod tests;
mod waiting;

pub(crate) use answer::{body, Answer};
pub(crate) use held::Consolidation;
pub(crate) use pending::Pending;
pub(crate) use reorder::Outgoing;
pub(crate) use scope::{collect, collecting, deferring, when, write_collected, Moment, When};
pub(crate) use socket::{Progress, SocketOut};
