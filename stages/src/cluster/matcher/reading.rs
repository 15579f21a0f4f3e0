//! Reading an owned partition's log: pulls sized by the room left, and their records.

use std::time::Duration;

use async_nats::jetstream::{self, consumer::PullConsumer};
use futures_util::StreamExt;

use crate::cluster::wire::LogEntry;
use crate::cluster::{ClusterError, WireError};

/// Up to `want` log entries: what is waiting now, or else the next one to arrive within
/// `wait` (a blocking pull instead of polling an idle partition).
pub(super) async fn pull(
    consumer: &PullConsumer,
    want: usize,
    wait: Duration,
) -> Result<Vec<jetstream::Message>, ClusterError> {
    let ready = consumer.fetch().max_messages(want).messages();
    let mut got: Vec<_> = collect(ready, Duration::ZERO).await?;
    if got.is_empty() {
        let next = consumer.batch().max_messages(1).expires(wait).messages();
        got = collect(next, wait).await?;
    }
    Ok(got)
}

/// How much longer than its own expiry a pull may take: a request lost with a NATS server's
/// connection is never answered, and the partition would wait for good.
const PULL_GRACE: Duration = Duration::from_secs(5);

/// The messages of a pull that expires after `wait`.
async fn collect<S, E1, E2>(
    batch: impl std::future::Future<Output = Result<S, E1>>,
    wait: Duration,
) -> Result<Vec<jetstream::Message>, ClusterError>
where
    S: futures_util::Stream<Item = Result<jetstream::Message, E2>> + Unpin,
    E1: std::fmt::Display,
    E2: std::fmt::Display,
{
    let all = async {
        let mut batch = batch.await.map_err(ClusterError::js("order fetch"))?;
        let mut got = Vec::new();
        while let Some(message) = batch.next().await {
            got.push(message.map_err(ClusterError::js("order fetch"))?);
        }
        Ok(got)
    };
    tokio::time::timeout(wait + PULL_GRACE, all)
        .await
        .map_err(ClusterError::js("order fetch"))?
}

/// A log message's stream sequence, pending count and records (or why they are unreadable).
pub(super) type Decoded = (u64, u64, Result<Vec<LogEntry>, WireError>);

/// Reads a pull's messages; returns them with the number of records they hold.
pub(super) fn decode(
    messages: &[jetstream::Message],
) -> Result<(Vec<Decoded>, usize), ClusterError> {
    let mut decoded = Vec::with_capacity(messages.len());
    let mut entries = 0;
    for message in messages {
        let (seq, pending) = match message.info() {
            Ok(info) => (info.stream_sequence, info.pending),
            Err(e) => return Err(ClusterError::js("order metadata")(e)),
        };
        let records = LogEntry::read_all(&message.payload);
        entries += records.as_ref().map_or(0, Vec::len);
        decoded.push((seq, pending, records));
    }
    Ok((decoded, entries))
}
