//! Async stages: a handler whose per-event work is a future, many calls in flight at once.
//!
//! A sync stage blocks a pool thread per call, so a stage calling a slow service runs at most
//! `threads` calls at once. An async stage runs each event's call as a task on a tokio
//! runtime (the engine's, or one the embedder hands in), up to an in-flight limit, on the
//! same queues, bus, dead letters and report as sync stages.
//!
//! # Concurrency
//! The limit is adaptive between configured bounds ([`controller`]: Netflix
//! concurrency-limits' Gradient, with a slow start), decided once per round of calls (as
//! many as the limit: about one call's latency). It grows while events wait and latency
//! stays flat, and is cut when latency rises: a service that starts queueing calls gets
//! fewer. The limit and the calls in flight are gauges (`sedaflow_stage_async_limit`,
//! `sedaflow_stage_async_in_flight`) and [`Pipeline::concurrency`](crate::Pipeline::concurrency).
//!
//! # Ordering
//! The queue is split into lanes as for sync stages. Within a lane, calls run concurrently,
//! but their output is delivered in arrival order: a call that ends early waits for those
//! before it. A keyed stage also starts a key's call only after the key's previous call
//! ended, so a key's events are handled, and their output delivered, in arrival order, while
//! different keys run at once. A hot key's waiting calls hold room under the limit.
//!
//! # Backpressure
//! Events leave the queue only when the limit has room to start them, so the queue's bound
//! and policy work as for sync stages and an event not started is still queued. Output goes
//! to the next stages' queues with their policies; a full `Block` queue blocks the delivering
//! task (in `block_in_place`, so the runtime's other tasks move on). Events a `Reject` queue
//! refuses are dead-lettered: an async handler has no `bounced` hook.
//!
//! # Panics
//! A call that panics fails only its event: it is counted as panicked and dead-lettered,
//! what it emitted before the panic is delivered, and with
//! [`OnPanic::QuarantineKey`](crate::OnPanic::QuarantineKey) the key's later events are
//! dead-lettered as quarantined.
//!
//! # Fusion
//! An async stage leads its domain alone: fusing it with any stage is refused at build
//! (the sync stages of a domain run on one thread per lane, an async stage on none).
//!
//! # Shutdown
//! Draining waits for the calls in flight. When the deadline passes, the calls in flight
//! are cancelled (their futures dropped, their output not delivered) and reported as
//! queued with the events that had not started: never as processed. The report balances.

mod builder;
mod call;
mod controller;
pub(crate) mod decl;
mod domain;
pub(crate) mod executor;
mod guard;
mod handler;
mod lane;
mod limiter;
mod shared;

pub use builder::AsyncStageBuilder;
pub use handler::AsyncHandler;
