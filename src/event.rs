//! What can travel through the bus, and how keyed stages turn events into lanes.

use std::hash::{Hash, Hasher};

/// Anything that can be published: owned, sendable data.
///
/// # Examples
/// ```
/// use sedaflow::Event;
///
/// fn type_of<T: Event>(_: &T) -> &'static str {
///     std::any::type_name::<T>()
/// }
/// // Any owned, sendable type is an event: no trait to implement.
/// assert_eq!(type_of(&String::from("order")), "alloc::string::String");
/// assert_eq!(type_of(&(1u8, 2u16)), "(u8, u16)");
/// ```
pub trait Event: Send + 'static {}

impl<T: Send + 'static> Event for T {}

/// A stable 64-bit digest of a key; keyed stages route and quarantine by it (see
/// [`StageBuilder::keyed_by_digest`](crate::StageBuilder::keyed_by_digest)).
///
/// # Examples
/// ```
/// use sedaflow::key_digest;
///
/// assert_eq!(key_digest("ACME"), key_digest("ACME"));
/// assert_ne!(key_digest("ACME"), key_digest("ACMF"));
/// ```
pub fn key_digest<K: Hash + ?Sized>(key: &K) -> u64 {
    key_hash(key)
}

pub(crate) fn key_hash<K: Hash + ?Sized>(key: &K) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    key.hash(&mut h);
    h.finish()
}

/// The key extractor of a keyed stage, erased to a digest.
pub(crate) type KeyFn<E> = std::sync::Arc<dyn Fn(&E) -> u64 + Send + Sync>;
