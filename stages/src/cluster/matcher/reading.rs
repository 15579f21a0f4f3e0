//! Reading an owned partition's log: its consumer (made again after a lost pull), pulls sized
//! by the room left, and their records.

use std::time::Duration;

use async_nats::jetstream;
use async_nats::jetstream::consumer::{pull, AckPolicy, DeliverPolicy, PullConsumer};
use futures_util::StreamExt;

use crate::cluster::confirm::RETRY;
use crate::cluster::wire::LogEntry;
use crate::cluster::{ClusterError, Log, Partition, WireError};
use crate::internal_events::PartitionMetrics;

/// One owner's reading of a partition: a consumer of its own, made again after a pull that
/// failed or went unanswered, reading on after the last entry applied.
pub(super) struct Reader {
    log: Log,
    partition: Partition,
    /// How long the server keeps a consumer nobody reads from (one given up for a new one).
    inactive: Duration,
    /// `None` after a lost pull, until a new consumer is made.
    consumer: Option<PullConsumer>,
}

impl Reader {
    /// Reads `partition` from its start (the replay rebuilds the books, so no consumer state
    /// is shared with a previous owner).
    pub(super) async fn open(
        log: Log,
        partition: Partition,
        inactive: Duration,
    ) -> Result<Reader, ClusterError> {
        let mut reader = Reader {
            log,
            partition,
            inactive,
            consumer: None,
        };
        reader.consumer = Some(reader.consumer(DeliverPolicy::All).await?);
        Ok(reader)
    }

    /// The next pull ([`pull`]), or nothing this time: a pull that failed or went unanswered
    /// (counted in `metrics`), after which a consumer reads on after `applied`, or such a
    /// consumer that could not be made yet (NATS away).
    pub(super) async fn next(
        &mut self,
        want: usize,
        wait: Duration,
        applied: u64,
        metrics: &PartitionMetrics,
    ) -> Option<Vec<jetstream::Message>> {
        let partition = self.partition;
        let Some(consumer) = &self.consumer else {
            let after = DeliverPolicy::ByStartSequence {
                start_sequence: applied + 1,
            };
            match self.consumer(after).await {
                Ok(made) => self.consumer = Some(made),
                // NATS is away: the lease lapses meanwhile, and fencing stops this owner if
                // another took over.
                Err(e) => {
                    tracing::warn!(partition, error = %e, "no consumer to read on from; trying again");
                    tokio::time::sleep(RETRY).await;
                }
            }
            return None;
        };
        let failed = match pull(consumer, want, wait).await {
            Ok(messages) => return Some(messages),
            Err(failed) => failed,
        };
        // What the lost pull may have delivered is lost with it: a new consumer reads on.
        self.consumer = None;
        match failed {
            PullFailed::Unanswered => {
                metrics.pull_unanswered();
                tracing::debug!(
                    partition,
                    "order pull unanswered; reading on from a new consumer"
                );
            }
            PullFailed::Error(e) => {
                tracing::warn!(partition, error = %e, "order pull failed; reading on from a new consumer");
                tokio::time::sleep(RETRY).await;
            }
        }
        None
    }

    /// A consumer of this owner's, reading the partition from `start`.
    async fn consumer(&self, start: DeliverPolicy) -> Result<PullConsumer, ClusterError> {
        let config = pull::Config {
            filter_subject: self.log.order_subject(self.partition),
            deliver_policy: start,
            ack_policy: AckPolicy::All,
            inactive_threshold: self.inactive,
            ..Default::default()
        };
        let orders = self.log.orders_stream();
        self.log
            .pull_consumer(&orders, config, "order consumer")
            .await
    }
}

/// Why a pull brought back no messages to apply.
#[derive(Debug)]
enum PullFailed {
    /// NATS did not end it within its expiry and [`PULL_GRACE`].
    Unanswered,
    /// The request or a message failed.
    Error(ClusterError),
}

/// Up to `want` log entries: what is waiting now, or else the next one to arrive within
/// `wait` (a blocking pull instead of polling an idle partition).
///
/// # Errors
/// A pull that fails or is left unanswered may have had messages delivered that are lost
/// with it: the caller must read on from a new consumer.
async fn pull(
    consumer: &PullConsumer,
    want: usize,
    wait: Duration,
) -> Result<Vec<jetstream::Message>, PullFailed> {
    let ready = consumer.fetch().max_messages(want).messages();
    let mut got: Vec<_> = collect(ready, Duration::ZERO).await?;
    if got.is_empty() {
        let next = consumer.batch().max_messages(1).expires(wait).messages();
        got = collect(next, wait).await?;
    }
    Ok(got)
}

/// How much longer than its own expiry a pull may take. A request lost with a NATS server's
/// connection is never answered; and nats-server (2.9) leaves about one pull in a hundred
/// unanswered when a message arrives as it expires, which async-nats gives up on only 5 s
/// later, silently: each cost the partition, and every client with an order on it, 5 s.
/// Past this grace the pull is abandoned, a new consumer reads on, and nothing is lost.
const PULL_GRACE: Duration = Duration::from_millis(500);

/// The messages of a pull that expires after `wait`.
async fn collect<S, E1, E2>(
    batch: impl std::future::Future<Output = Result<S, E1>>,
    wait: Duration,
) -> Result<Vec<jetstream::Message>, PullFailed>
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
    match tokio::time::timeout(wait + PULL_GRACE, all).await {
        Ok(pulled) => pulled.map_err(PullFailed::Error),
        Err(_) => Err(PullFailed::Unanswered),
    }
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

#[cfg(test)]
mod tests {
    use futures_util::stream;

    use super::*;

    type Messages = stream::Empty<Result<jetstream::Message, String>>;

    #[tokio::test]
    async fn a_pull_left_unanswered_is_given_up_not_waited_for() {
        let never = std::future::pending::<
            Result<stream::Pending<Result<jetstream::Message, String>>, String>,
        >();
        let outcome = collect(never, Duration::from_millis(10)).await;
        assert!(
            matches!(outcome, Err(PullFailed::Unanswered)),
            "{outcome:?}"
        );
    }

    #[tokio::test]
    async fn an_answered_pull_brings_its_messages_and_a_failed_one_its_error() {
        let answered = async { Ok::<Messages, String>(stream::empty()) };
        let outcome = collect(answered, Duration::from_millis(10)).await;
        assert!(matches!(&outcome, Ok(got) if got.is_empty()), "{outcome:?}");
        let failed = async { Err::<Messages, _>("no responders".to_owned()) };
        let outcome = collect(failed, Duration::from_millis(10)).await;
        assert!(matches!(outcome, Err(PullFailed::Error(_))), "{outcome:?}");
    }
}
