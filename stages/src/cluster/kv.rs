//! The key-value adapter of [`lease`](super::lease): reads lease entries as [`LeaseView`]s
//! and writes them with compare-and-swap on the revision.

use std::time::{SystemTime, UNIX_EPOCH};

use async_nats::jetstream::kv::{self, Operation};
use bytes::Bytes;
use futures_util::StreamExt;

use super::confirm::RETRY;
use super::lease::{Claim, LeaseValue, LeaseView};
use super::ClusterError;

/// Milliseconds since the epoch, for the informational timestamp in lease values.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The current state of `key`.
///
/// # Errors
/// The request failed; an unreadable value reads as released, so it can be repaired by a
/// claim.
pub(crate) async fn view(store: &kv::Store, key: &str) -> Result<LeaseView, ClusterError> {
    let entry = store
        .entry(key)
        .await
        .map_err(ClusterError::js("lease read"))?;
    Ok(match entry {
        Some(e) if e.operation == Operation::Put => LeaseView::Present {
            revision: e.revision,
            value: serde_json::from_slice(&e.value).unwrap_or_default(),
        },
        _ => LeaseView::Absent,
    })
}

/// Every key of `store` that holds a value (not deleted), with its revision.
///
/// # Errors
/// The listing or a read failed.
pub(crate) async fn live_entries(store: &kv::Store) -> Result<Vec<(String, u64)>, ClusterError> {
    let mut keys: Vec<String> = store
        .keys()
        .await
        .map_err(ClusterError::js("key listing"))?
        .filter_map(|k| async move { k.ok() })
        .collect()
        .await;
    // The listing's consumer may deliver a key twice (it restarts after missed heartbeats, as
    // under a stalled NATS): a member counted twice would shrink every matcher's share.
    keys.sort_unstable();
    keys.dedup();
    let mut live = Vec::with_capacity(keys.len());
    for key in keys {
        let entry = store
            .entry(key.as_str())
            .await
            .map_err(ClusterError::js("key read"))?;
        if let Some(e) = entry.filter(|e| e.operation == Operation::Put) {
            live.push((key, e.revision));
        }
    }
    Ok(live)
}

fn encode(value: &LeaseValue) -> Bytes {
    // A struct of plain fields always serializes.
    serde_json::to_vec(value).unwrap_or_default().into()
}

/// Tries `claim` with `value`; the new revision, or `None` when another writer was first.
///
/// # Errors
/// Never for a lost race; only when the request itself could not be made.
pub(crate) async fn try_claim(
    store: &kv::Store,
    key: &str,
    claim: &Claim,
    value: &LeaseValue,
) -> Result<Option<u64>, ClusterError> {
    let result = match claim {
        Claim::Create => store.create(key, encode(value)).await.map_err(|e| {
            (
                e.kind() == kv::CreateErrorKind::AlreadyExists,
                e.to_string(),
            )
        }),
        Claim::TakeOver { revision, .. } => store
            .update(key, encode(value), *revision)
            .await
            .map_err(|e| {
                (
                    e.kind() == kv::UpdateErrorKind::WrongLastRevision,
                    e.to_string(),
                )
            }),
    };
    match result {
        Ok(revision) => Ok(Some(revision)),
        Err((true, _)) => Ok(None),
        Err((false, message)) => Err(ClusterError::JetStream {
            what: "lease claim",
            message,
        }),
    }
}

/// Writes `value` over `revision`, the fencing check: the new revision, or
/// [`ClusterError::Fenced`] when the lease moved on. A write JetStream does not answer in time
/// may have landed all the same, so the entry is read back (until a read is answered) and
/// written again only while it still holds `revision`; holding `value`, it was this write.
///
/// # Errors
/// Only `Fenced`, when superseded: a request that fails is made again until one is answered.
pub(crate) async fn renew(
    store: &kv::Store,
    key: &str,
    partition: u32,
    revision: u64,
    value: &LeaseValue,
) -> Result<u64, ClusterError> {
    loop {
        match store.update(key, encode(value), revision).await {
            Ok(next) => return Ok(next),
            Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => {
                return Err(ClusterError::Fenced(partition))
            }
            Err(e) => {
                tracing::warn!(partition, error = %e, "lease renewal not answered; reading it back")
            }
        }
        let seen = loop {
            tokio::time::sleep(RETRY).await;
            match view(store, key).await {
                Ok(seen) => break seen,
                Err(e) => tracing::warn!(partition, error = %e, "lease not readable; again"),
            }
        };
        match seen {
            LeaseView::Present { revision: r, .. } if r == revision => continue,
            LeaseView::Present { revision, value: v } if v == *value => return Ok(revision),
            _ => return Err(ClusterError::Fenced(partition)),
        }
    }
}
