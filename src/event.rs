//! What can travel through the bus, and how keyed stages turn events into lanes.

use std::hash::{Hash, Hasher};

/// Anything that can be published: owned, sendable data.
pub trait Event: Send + 'static {}

impl<T: Send + 'static> Event for T {}

/// A stable 64-bit digest of a key; keyed stages route and quarantine by it.
pub(crate) fn key_hash<K: Hash + ?Sized>(key: &K) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    key.hash(&mut h);
    h.finish()
}

/// The key extractor of a keyed stage, erased to a digest.
pub(crate) type KeyFn<E> = std::sync::Arc<dyn Fn(&E) -> u64 + Send + Sync>;
