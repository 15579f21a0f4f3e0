//! The ingress role: the order server's network, decode and encode stages, with matching
//! replaced by the order log. A `publish` stage hands each validated order to a task that
//! appends it to its partition's subject; a router task reads this ingress's response subject
//! and feeds what matchers answered to encode, so to a client nothing differs from one
//! process.
//!
//! # Ordering
//! Orders go to JetStream in the order decode passed them, over one NATS connection, so each
//! partition's log keeps every connection's order. Replies carry the connection's sequence
//! number; the connection's writer restores reply order as it does for local matching.
//!
//! # Duplicates
//! Responses carry their (partition, log sequence); a matcher publishes a partition's in log
//! order, so anything at or below the last sequence seen from a partition is a re-publication
//! after fail-over that JetStream's duplicate window did not catch (another span, or older than
//! the window), and is dropped.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::consumer::pull;
use async_nats::jetstream::message::PublishMessage;
use bytes::Bytes;
use futures_util::StreamExt;
use parking_lot::Mutex;
use sedaflow::{Event, Publisher};
use tokio::sync::mpsc;

use super::wire::{ConnRef, LogRecord, ResponseBatch, ENTRIES_PER_MESSAGE};
use super::{instance_id, partition_of, ClusterConfig, ClusterError, Log, Partition, WireError};
use crate::admission::Admission;
use crate::internal_events::ClusterMetrics;
use crate::matching::{OrderId, Owner, ReportKind, Request};

/// Pause between attempts to append an order JetStream did not confirm.
const RETRY: Duration = Duration::from_millis(100);

/// Most orders appended per round of confirmations: a round's orders for one partition fit
/// one log message.
const PUBLISH_BATCH: usize = ENTRIES_PER_MESSAGE;

/// A request on its way through the log, until its reply comes back: whom to answer (the
/// pipeline's connection handle) and when the request was read.
struct Pending<C> {
    to: C,
    read_at: Instant,
}

/// What the `publish` stage shares with the ingress tasks; `C` is how the pipeline names the
/// connection a reply goes to.
pub(crate) struct IngressLink<C> {
    id: u64,
    partitions: u32,
    pending: Mutex<HashMap<(Owner, u64), Pending<C>>>,
    // Unbounded, yet bounded by admission: each connection has at most `max_in_flight`
    // unanswered requests, and at most `max_connections` connections exist.
    orders: mpsc::UnboundedSender<Entry>,
}

/// The ingress's tasks, before the runtime runs them.
pub(crate) struct IngressTasks<C> {
    link: Arc<IngressLink<C>>,
    log: Log,
    orders: mpsc::UnboundedReceiver<Entry>,
    metrics: ClusterMetrics,
}

/// Connects to NATS and prepares the log; call from inside the runtime.
pub(crate) async fn connect<C>(
    config: &ClusterConfig,
) -> Result<(Arc<IngressLink<C>>, IngressTasks<C>), ClusterError> {
    let log = Log::open(config).await?;
    let (tx, rx) = mpsc::unbounded_channel();
    let link = Arc::new(IngressLink {
        id: instance_id(),
        partitions: config.partitions,
        pending: Mutex::new(HashMap::new()),
        orders: tx,
    });
    tracing::info!(
        ingress = format_args!("{:016x}", link.id),
        "ingress connected to NATS"
    );
    let tasks = IngressTasks {
        link: link.clone(),
        log,
        orders: rx,
        metrics: ClusterMetrics::register(),
    };
    Ok((link, tasks))
}

impl<C: Send + 'static> IngressTasks<C> {
    /// Starts appending orders and routing responses; call from inside the runtime. The
    /// tasks run until the runtime stops, after the pipeline has drained.
    /// `answered` turns each routed answer into the event `encode` takes.
    pub(crate) async fn spawn<E: Event>(
        self,
        encode: Publisher<E>,
        answered: fn(Answer<C>) -> E,
        admission: Arc<Admission>,
    ) -> Result<(), ClusterError> {
        let stream = self
            .log
            .js
            .get_stream(self.log.responses_stream())
            .await
            .map_err(ClusterError::js("response stream"))?;
        let consumer = stream
            .create_consumer(pull::OrderedConfig {
                filter_subject: self.log.response_subject(self.link.id),
                ..Default::default()
            })
            .await
            .map_err(ClusterError::js("response consumer"))?;
        let messages = consumer
            .messages()
            .await
            .map_err(ClusterError::js("response consumer"))?;
        let router = Router {
            link: self.link.clone(),
            encode,
            answered,
            admission,
            last: HashMap::new(),
            metrics: self.metrics.clone(),
        };
        tokio::spawn(router.run(messages));
        tokio::spawn(append(self.log, self.link.id, self.orders, self.metrics));
        Ok(())
    }
}

impl<C> IngressLink<C> {
    /// Hands request `seq` of `from` to the append task, its reply to go `to`; false when it
    /// cannot go to the log (the caller then refuses it, so nothing is lost).
    pub(crate) fn forward(
        &self,
        (from, seq): (Owner, u64),
        floor: OrderId,
        req: &Request,
        to: C,
        read_at: Instant,
    ) -> bool {
        let entry = match self.entry(from, seq, floor, req) {
            Ok(entry) => entry,
            Err(e) => {
                tracing::error!(error = %e, "order cannot be written to the log");
                return false;
            }
        };
        let key = (from, seq);
        let pending = Pending { to, read_at };
        self.pending.lock().insert(key, pending);
        if self.orders.send(entry).is_ok() {
            return true;
        }
        // The append task is gone (shutting down).
        self.pending.lock().remove(&key);
        false
    }

    /// The log entry for the request, framed for a log message, and its partition.
    fn entry(
        &self,
        conn: Owner,
        seq: u64,
        floor: OrderId,
        req: &Request,
    ) -> Result<Entry, WireError> {
        let symbol = req.symbol().ok_or(WireError::Unencodable("ping"))?;
        let record = LogRecord {
            from: ConnRef {
                ingress: self.id,
                conn,
            },
            seq,
            floor,
            req: *req,
        };
        let mut framed = Vec::with_capacity(64);
        record.append_to(&mut framed)?;
        Ok(Entry {
            partition: partition_of(symbol, self.partitions),
            framed,
        })
    }
}

/// An order ready for the log.
struct Entry {
    partition: Partition,
    framed: Vec<u8>,
}

/// Appends orders to the log a round at a time: what is waiting (up to [`PUBLISH_BATCH`]) goes
/// out as one message per partition, then every confirmation is awaited. JetStream's cost is
/// per message, so batching is what lets the log keep up. A message JetStream did not confirm
/// is published again with the same message id, which its duplicate window makes idempotent.
async fn append(
    log: Log,
    ingress: u64,
    mut orders: mpsc::UnboundedReceiver<Entry>,
    metrics: ClusterMetrics,
) {
    let mut batch = Vec::with_capacity(PUBLISH_BATCH);
    let mut round = 0u64;
    while orders.recv_many(&mut batch, PUBLISH_BATCH).await > 0 {
        round += 1;
        // (partition, message, entries in it)
        let mut messages: Vec<(Partition, Vec<u8>, u64)> = Vec::new();
        for entry in batch.drain(..) {
            let at = match messages.iter().position(|(p, ..)| *p == entry.partition) {
                Some(at) => at,
                None => {
                    messages.push((entry.partition, Vec::new(), 0));
                    messages.len() - 1
                }
            };
            messages[at].1.extend_from_slice(&entry.framed);
            messages[at].2 += 1;
        }
        let mut todo: Vec<(Partition, Bytes, u64)> = messages
            .into_iter()
            .map(|(p, m, n)| (p, Bytes::from(m), n))
            .collect();
        while !todo.is_empty() {
            let mut acks = Vec::with_capacity(todo.len());
            for (p, message, n) in todo {
                let publish = PublishMessage::build()
                    .payload(message.clone())
                    .message_id(format!("{ingress:016x}.{round}.{p}"));
                let ack = log.js.send_publish(log.order_subject(p), publish).await;
                acks.push(((p, message, n), ack));
            }
            let mut failed = Vec::new();
            for (message, ack) in acks {
                let confirmed = match ack {
                    Ok(ack) => ack.await.map(drop).map_err(|e| e.to_string()),
                    Err(e) => Err(e.to_string()),
                };
                match confirmed {
                    Ok(()) => metrics.orders_appended(message.2),
                    Err(e) => {
                        tracing::warn!(error = %e, "orders not confirmed by JetStream; publishing again");
                        failed.push(message);
                    }
                }
            }
            if !failed.is_empty() {
                tokio::time::sleep(RETRY).await;
            }
            todo = failed;
        }
    }
}

/// A matcher's answer, routed back to the connection it is for.
#[derive(Debug)]
pub(crate) enum Answer<C> {
    /// Everything request `seq` caused for its sender `to`; `accepted`: a new order was
    /// accepted.
    Reply {
        to: C,
        seq: u64,
        kinds: Vec<ReportKind>,
        accepted: bool,
        read_at: Instant,
    },
    /// A report for another owner (the resting side of a trade).
    Notice { to: Owner, kind: ReportKind },
}

/// Routes the responses matchers publish for this ingress to its connections.
struct Router<C, E: Event> {
    link: Arc<IngressLink<C>>,
    encode: Publisher<E>,
    answered: fn(Answer<C>) -> E,
    /// Fed, as matching feeds it in one process, with when each answered order was read.
    admission: Arc<Admission>,
    /// Last log position routed per partition.
    last: HashMap<u32, u64>,
    metrics: ClusterMetrics,
}

impl<C, E: Event> Router<C, E> {
    async fn run(mut self, mut messages: pull::Ordered) {
        while let Some(message) = messages.next().await {
            let message = match message {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!(error = %e, "response stream interrupted");
                    continue;
                }
            };
            let batches = match ResponseBatch::read_all(&message.payload) {
                Ok(batches) => batches,
                Err(e) => {
                    tracing::error!(error = %e, "unreadable response message dropped");
                    continue;
                }
            };
            let mut events = Vec::new();
            let mut read_at = Vec::new();
            for batch in batches {
                self.route(batch, &mut events, &mut read_at);
            }
            self.admission.matched(&read_at);
            // One offer: encode's single lane keeps these in order.
            if self.encode.publish_batch(&mut events).await.is_err() {
                tracing::debug!("encode closed: responses dropped during shutdown");
            }
        }
        tracing::warn!("response stream ended");
    }

    /// Appends what `batch` holds for this ingress's connections to `events`, and when its
    /// request was read to `read_at`.
    fn route(&mut self, batch: ResponseBatch, events: &mut Vec<E>, read_at: &mut Vec<Instant>) {
        let last = self.last.entry(batch.partition).or_default();
        if batch.position <= *last {
            self.metrics.duplicate_response();
            return;
        }
        *last = batch.position;
        if let Some(reply) = batch.reply {
            let pending = self.link.pending.lock().remove(&(reply.conn, reply.seq));
            match pending {
                Some(Pending { to, read_at: read }) => {
                    read_at.push(read);
                    events.push((self.answered)(Answer::Reply {
                        to,
                        seq: reply.seq,
                        kinds: reply.kinds,
                        accepted: reply.accepted,
                        read_at: read,
                    }));
                }
                None => tracing::warn!(
                    conn = reply.conn,
                    seq = reply.seq,
                    "reply for no pending request"
                ),
            }
        }
        events.extend(
            batch
                .notices
                .into_iter()
                .map(|(to, kind)| (self.answered)(Answer::Notice { to, kind })),
        );
    }
}
