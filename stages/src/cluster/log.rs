//! The deployment's JetStream objects: the order log (one subject per partition), the
//! response stream (one subject per ingress, and one every ingress reads), the market-data
//! stream (one subject per partition), the lease and member buckets, and their names.

use std::time::Duration;

use async_nats::jetstream::consumer::{pull, PullConsumer};
use async_nats::jetstream::{self, kv, stream};

use super::shard::Dest;
use super::{ClusterConfig, ClusterError, Partition};

/// How long JetStream remembers a message id: a re-publication within it is dropped. Fail-over
/// re-publishes only what follows the committed sequence, which is at most one heartbeat old.
const DEDUP_WINDOW: Duration = Duration::from_secs(120);

/// Responses are read by their ingress at once; older ones only matter for a crashed ingress,
/// whose connections are gone.
const RESPONSES_MAX_AGE: Duration = Duration::from_secs(3600);

/// A connection to the deployment's JetStream objects.
#[derive(Clone)]
pub(crate) struct Log {
    pub(crate) js: jetstream::Context,
    prefix: String,
}

impl Log {
    /// Connects and creates whatever of the deployment's streams and buckets is missing (any
    /// process may be first).
    pub(crate) async fn open(config: &ClusterConfig) -> Result<Log, ClusterError> {
        let url = config.nats.clone().unwrap_or_default();
        let client = async_nats::ConnectOptions::new()
            .name(format!("sedaflow-{:?}", config.role).to_lowercase())
            .connect(url.as_str())
            .await
            .map_err(|source| ClusterError::Connect { url, source })?;
        let log = Log {
            js: jetstream::new(client),
            prefix: config.prefix.clone(),
        };
        log.js
            .get_or_create_stream(stream::Config {
                name: log.orders_stream(),
                subjects: vec![format!("{}.orders.*", log.prefix)],
                storage: stream::StorageType::File,
                duplicate_window: DEDUP_WINDOW,
                ..Default::default()
            })
            .await
            .map_err(ClusterError::js("order stream"))?;
        log.js
            .get_or_create_stream(stream::Config {
                name: log.responses_stream(),
                subjects: vec![format!("{}.responses.*", log.prefix)],
                storage: stream::StorageType::File,
                duplicate_window: DEDUP_WINDOW,
                max_age: RESPONSES_MAX_AGE,
                ..Default::default()
            })
            .await
            .map_err(ClusterError::js("response stream"))?;
        // Kept like the order log, whole: an ingress that starts later rebuilds every book's
        // market data from it, numbered as the first one saw it.
        log.js
            .get_or_create_stream(stream::Config {
                name: log.market_stream(),
                subjects: vec![format!("{}.market.*", log.prefix)],
                storage: stream::StorageType::File,
                duplicate_window: DEDUP_WINDOW,
                ..Default::default()
            })
            .await
            .map_err(ClusterError::js("market-data stream"))?;
        Ok(log)
    }

    /// A new pull consumer of `stream` (`what` names it in errors).
    pub(crate) async fn pull_consumer(
        &self,
        stream: &str,
        config: pull::Config,
        what: &'static str,
    ) -> Result<PullConsumer, ClusterError> {
        self.js
            .get_stream(stream)
            .await
            .map_err(ClusterError::js(what))?
            .create_consumer(config)
            .await
            .map_err(ClusterError::js(what))
    }

    /// The lease bucket (one key per partition) or the member bucket (one key per matcher).
    /// The bucket's stream is declared here as the key-value layout wants it: the client's
    /// own bucket creation asks for account details nats-server 2.9 does not give.
    pub(crate) async fn bucket(&self, what: &str) -> Result<kv::Store, ClusterError> {
        let bucket = format!("{}_{what}", self.prefix);
        self.js
            .get_or_create_stream(stream::Config {
                name: format!("KV_{bucket}"),
                subjects: vec![format!("$KV.{bucket}.>")],
                max_messages_per_subject: 1,
                storage: stream::StorageType::File,
                allow_rollup: true,
                deny_delete: true,
                allow_direct: true,
                discard: stream::DiscardPolicy::New,
                duplicate_window: DEDUP_WINDOW,
                ..Default::default()
            })
            .await
            .map_err(ClusterError::js("key-value bucket"))?;
        self.js
            .get_key_value(bucket)
            .await
            .map_err(ClusterError::js("key-value bucket"))
    }

    pub(crate) fn orders_stream(&self) -> String {
        format!("{}_ORDERS", self.prefix.to_uppercase())
    }

    pub(crate) fn responses_stream(&self) -> String {
        format!("{}_RESPONSES", self.prefix.to_uppercase())
    }

    pub(crate) fn market_stream(&self) -> String {
        format!("{}_MARKET", self.prefix.to_uppercase())
    }

    /// Where partition `p`'s book changes go.
    pub(crate) fn market_subject(&self, p: Partition) -> String {
        format!("{}.market.{p}", self.prefix)
    }

    /// Every partition's book changes.
    pub(crate) fn market_subjects(&self) -> String {
        format!("{}.market.*", self.prefix)
    }

    pub(crate) fn order_subject(&self, p: Partition) -> String {
        format!("{}.orders.{p}", self.prefix)
    }

    /// Where responses for `dest` go: `<prefix>.responses.<ingress>`, or
    /// `<prefix>.responses.all` for every ingress (ingress ids are 16 hex digits).
    pub(crate) fn response_subject(&self, dest: Dest) -> String {
        format!("{}.responses.{}", self.prefix, dest_name(dest))
    }
}

/// The lease key of partition `p`.
pub(crate) fn lease_key(p: Partition) -> String {
    format!("p{p}")
}

/// The id of the response message for `dest` covering log entries `first ..= last` of `p`:
/// a new owner re-publishing the same span after a fail-over is dropped by JetStream's
/// duplicate window (spans cut differently are caught by the ingress's sequence check).
pub(crate) fn response_msg_id(p: Partition, first: u64, last: u64, dest: Dest) -> String {
    format!("{p}.{first}-{last}.{}", dest_name(dest))
}

/// The id of part `part` of the market-data message for log sequences `first ..= last` of
/// `p`: as for responses, a re-publication of the same span is dropped by JetStream, and one
/// cut differently by the readers' sequence check (every book change carries its `seq`).
pub(crate) fn market_msg_id(p: Partition, first: u64, last: u64, part: usize) -> String {
    format!("{p}.{first}-{last}.market.{part}")
}

fn dest_name(dest: Dest) -> String {
    match dest {
        Dest::Ingress(id) => format!("{id:016x}"),
        Dest::All => "all".to_owned(),
    }
}
