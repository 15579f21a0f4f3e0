//! Admission control at ingress (SEDA's response-time controller): when orders take longer
//! than a target from read to matched, the network stage answers new orders
//! `reject`/`overloaded` at once instead of queueing them, so admitted orders keep a bounded
//! latency and the server keeps its peak goodput however much is offered.
//!
//! Only new orders (`limit`, `market`) are refused. Cancels reduce risk and pings are
//! free, so they always go on (the queues' own bounds still hold them back); malformed
//! frames go on to decode for their own answer.
//!
//! `controller` is the pure decision ([`AdmissionController`]); `gate` shares it with readers
//! and matching.

mod controller;
mod gate;
mod shed;

pub use controller::{AdmissionConfig, AdmissionController, Decision, Observation};
pub(crate) use gate::Admission;
pub(crate) use shed::ReadShed;
