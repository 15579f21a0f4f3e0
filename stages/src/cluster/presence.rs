//! Ingress presence, for `cancel_on_disconnect` over every ingress: an ingress that logs its
//! sessions keeps an entry of its own alive in the `ingresses` bucket; matchers declare an
//! ingress whose entry has not changed for the lease timeout gone (all of a deployment's
//! processes read `cancel_on_disconnect` from the same configuration).
//!
//! # Declaring an ingress gone
//! A matcher appends [`LogEntry::IngressGone`] to every partition's log (under message ids
//! JetStream deduplicates, so matchers that see it at once write it once), then deletes the
//! entry. Each partition then counts the ingress's sessions closed and ignores its later
//! entries ([`Sessions`](super::sessions::Sessions)). An ingress that was only paused finds
//! its entry changed at its next heartbeat and exits: its clients were already treated as
//! gone, so they must reconnect elsewhere rather than wait for answers that will not come.
//! A matcher that stops between the two steps leaves the entry, and the next one appends
//! the same event again, which changes nothing.

use std::time::{Duration, Instant};

use async_nats::jetstream::kv;
use async_nats::jetstream::message::PublishMessage;
use bytes::Bytes;

use super::kv::{live_entries, now_ms};
use super::lease::Staleness;
use super::wire::LogEntry;
use super::{ClusterError, Log};

/// The ingresses' presence bucket.
pub(crate) async fn bucket(log: &Log) -> Result<kv::Store, ClusterError> {
    log.bucket("ingresses").await
}

/// Ingress `id`'s presence key: `i` and 16 hex digits.
fn key(id: u64) -> String {
    format!("i{id:016x}")
}

fn ingress_of(key: &str) -> Option<u64> {
    let hex = key.strip_prefix('i').filter(|h| h.len() == 16)?;
    u64::from_str_radix(hex, 16).ok()
}

/// Creates ingress `id`'s entry; returns its revision.
pub(crate) async fn announce(bucket: &kv::Store, id: u64) -> Result<u64, ClusterError> {
    bucket
        .create(key(id), now_ms().to_string().into())
        .await
        .map_err(ClusterError::js("ingress presence"))
}

/// Renews ingress `id`'s entry `every` so often, from `revision`, by compare-and-swap; exits
/// the process once the entry moved on (the matchers declared this ingress gone).
pub(crate) async fn heartbeat(bucket: kv::Store, id: u64, mut revision: u64, every: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        match bucket
            .update(key(id), now_ms().to_string().into(), revision)
            .await
        {
            Ok(next) => revision = next,
            Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => {
                tracing::error!(
                    ingress = format_args!("{id:016x}"),
                    "the matchers declared this ingress gone (its presence lapsed): its sessions \
                     are closed and its orders ignored; exiting"
                );
                std::process::exit(1);
            }
            Err(e) => tracing::warn!(error = %e, "ingress presence not renewed; retrying"),
        }
    }
}

/// One matcher round: declares gone every ingress whose entry has not changed for the
/// `age`'s timeout, on each of the `partitions`.
pub(crate) async fn reap(
    log: &Log,
    bucket: &kv::Store,
    age: &mut Staleness<String>,
    partitions: u32,
) -> Result<(), ClusterError> {
    let entries = live_entries(bucket).await?;
    let now = Instant::now();
    for (key, revision) in &entries {
        let Some(ingress) = ingress_of(key) else {
            continue;
        };
        if !age.observe(key, *revision, now) {
            continue;
        }
        tracing::warn!(ingress = %key, "ingress presence lapsed: its sessions count as closed");
        let mut event = Vec::new();
        LogEntry::IngressGone { ingress }.append_to(&mut event)?;
        let event = Bytes::from(event);
        let mut acks = Vec::with_capacity(partitions as usize);
        for p in 0..partitions {
            let message = PublishMessage::build()
                .payload(event.clone())
                .message_id(format!("gone.{key}.{p}"));
            let ack = log.js.send_publish(log.order_subject(p), message).await;
            acks.push(ack.map_err(ClusterError::js("ingress gone"))?);
        }
        for ack in acks {
            ack.await.map_err(ClusterError::js("ingress gone"))?;
        }
        bucket
            .delete(key)
            .await
            .map_err(ClusterError::js("ingress gone"))?;
    }
    age.retain(|k| entries.iter().any(|(e, _)| e == k));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_name_their_ingress() {
        assert_eq!(ingress_of(&key(0xdead_beef)), Some(0xdead_beef));
        assert_eq!(ingress_of("m0123456789abcdef"), None);
        assert_eq!(ingress_of("i12"), None);
    }
}
