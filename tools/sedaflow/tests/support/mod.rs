//! Shared fixtures for the black-box protocol tests (`protocol_*.rs`, `cluster_*.rs`), written
//! from `PROTOCOL.md` alone: the `sedaflow` server as a child process on free ports (or a
//! scale-out deployment with its own `nats-server`), a JSON-lines
//! client, a tiny HTTP/1.1 client, a WebSocket client, a reference order book (the model)
//! with a reproducible order flow, and the comparison of received responses with expected ones.
//!
//! # Hang guards
//! Every wait is bounded (start-up 30 s, each read 10 s, each write 30 s) only so that a hang
//! fails with a clear message; no test asserts a timing.
//!
//! # Ordering
//! Responses are compared per request group: all responses caused by one request must arrive
//! before any caused by the connection's next request; within a group, each order's own
//! responses keep the contract's order (ack, fills in trade order, done), while responses of
//! different orders may interleave.

#![allow(dead_code, unused_imports)]

mod check;
mod client;
mod cluster;
mod flow;
mod http;
mod load;
mod model;
mod request;
mod server;
mod ws;

pub use check::{assign, Checker, MatchLog, Pattern, Recorded, Responses, Stats};
pub use client::{pipeline, Client, Writer, READ_GUARD};
pub use cluster::{exact_config, metric, wait_until, Cluster, Matcher, Nats, PARTITIONS};
pub use flow::{symbols, Flow, Rng};
pub use http::{get, post, post_with, HttpResponse, KeepAlive};
pub use load::{assert_same_responses, drive, drive_interrupted, tally, Session};
pub use model::{render_price, DoneReason, Model, Reason, Report, Req, Side, Tif, TICKS};
pub use server::{signal, spawn_serve, Server};
pub use ws::{DepthBook, Ended, WsClient};

/// A config in `keys` mode with the example's accounts: alice's key is `k-a`, bob's `k-b`
/// (their SHA-256 below).
pub const KEYS: &str = r#"
[auth]
mode = "keys"
[[auth.accounts]]
name = "alice"
key_sha256 = "29c2cc888fa9b3f46e0711100e1729a19129b4de8950fc68bd184ec09dfbe6cd"
[[auth.accounts]]
name = "bob"
key_sha256 = "fe47fbb21f25d73b64693515203198e88dfc6212449862e6c87aff46cfad65e1"
"#;
