//! Scale-out on NATS JetStream: `sedaflow serve --role ingress|matcher --nats URL
//! --partitions N`.
//!
//! An ingress runs the network, decode and encode stages and appends every validated order
//! to a JetStream stream, on subject `<prefix>.orders.<partition>` with the partition a fixed
//! hash of the symbol ([`partition_of`]), in messages of several orders; the stream's
//! sequence, then the place in the message, is the matching order. A
//! matcher holds leases on partitions (one key-value entry each), matches their entries and
//! publishes the responses to `<prefix>.responses.<ingress>` (an anonymous connection's) or
//! `<prefix>.responses.all` (a named account's, read by every ingress), where each ingress
//! routes them to its connections.
//!
//! # Accounts
//! A log entry names the sender's connection and, for a named account, its owner id
//! ([`AccountName::owner`](crate::accounts::AccountName::owner), the same in every process), so
//! any session of the account, on any ingress, owns its orders, and a replay rebuilds who owns
//! what. `orders` and `cancel_all` without a symbol are split into one entry per partition,
//! each applied to that partition's books only, and merged at the ingress as one process
//! merges its lanes' answers. As in one process, a session's own request is answered to it and
//! its account's other sessions get copies of its resting orders' reports; the increasing-id
//! rule holds per ingress.
//!
//! # Cancel on disconnect
//! With `cancel_on_disconnect`, a named account's orders are cancelled when its last session
//! over every ingress closes: ingresses log each named session's login and close on every
//! partition, in order with the session's requests, and each partition counts the account's
//! live sessions (`sessions`). An ingress that dies without closing its sessions stops
//! renewing its presence entry; once that lapses for the lease timeout a matcher logs the
//! ingress gone, which closes its sessions and fences its later entries (`presence`). An
//! anonymous account's only session is its connection: its close, logged the same way,
//! cancels its orders at once. Either way each cancelled order is one step of its book's
//! sequence, as in one process.
//!
//! # Market data
//! A matcher publishes each partition's book changes (numbered by the books, so a replay
//! numbers them alike) to `<prefix>.market.<partition>`; every ingress reads all of them from
//! the stream's start into its own market-data stage and serves every symbol with the same
//! sequence numbers. A take-over continues each book's sequence: its replay re-creates the
//! same changes and publishes only those after the committed sequence, and an ingress skips
//! any it has applied already.
//!
//! # Ordering
//! Each symbol lives in one partition, each partition is matched by one owner at a time in
//! log order, and replies carry their connection's sequence number: per-symbol order and
//! per-connection reply order hold as in one process.
//!
//! # Fail-over
//! Leases are renewed by compare-and-swap; a matcher takes over a partition whose lease has
//! not changed for the lease timeout, replays its log into fresh books, and re-publishes only
//! what follows the committed sequence, under message ids JetStream deduplicates. See
//! [`Matcher`].
//!
//! # Layout
//! Pure: [`partition`](partition_of), `wire` (payloads), `lease` (lease decisions),
//! `sessions` (session counts), `shard` (one partition's books and where its responses go).
//! IO: `log` (streams and names), `kv` (lease reads and writes), `presence` (ingress
//! liveness), `ingress` (the log's writer), `router` (the responses' reader), `market` (the
//! book changes' reader), `matcher`.

mod config;
mod confirm;
mod error;
mod follow;
pub(crate) mod ingress;
mod kv;
mod lease;
mod log;
mod market;
mod matcher;
mod partition;
mod presence;
mod router;
mod sessions;
mod shard;
mod wire;

use std::hash::{BuildHasher, Hasher};

pub use config::{ClusterConfig, Role};
pub use error::{ClusterError, UnknownRole, WireError};
pub(crate) use log::Log;
pub(crate) use market::MarketFeed;
pub use matcher::Matcher;
pub use partition::{partition_of, Partition};
pub(crate) use router::Answer;

/// A random id for this process's ingress or matcher instance: connections and leases are
/// told apart by it across restarts.
fn instance_id() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}
