//! The ingress role: the order server's network, decode and encode stages, with matching
//! replaced by the order log. A `publish` stage hands each validated order to a task that
//! appends it to its partition's subject; a router task ([`router`](super::router)) reads the
//! responses and feeds what matchers answered to encode, and a market-data task
//! ([`market`](super::market)) feeds every partition's book changes to the market-data stage,
//! so to a client nothing differs from one process.
//!
//! # Ordering
//! Orders go to JetStream in the order decode passed them, over one NATS connection, so each
//! partition's log keeps every connection's order. Replies carry the connection's sequence
//! number; the connection's writer restores reply order as it does for local matching.
//!
//! # Requests on every book
//! Decode splits `orders` and `cancel_all` without a symbol into one part per partition (as it
//! does per matching lane in one process); each part goes to its partition's log, and the
//! parts' replies are merged as one process merges its lanes' ([`Gather`]): one pending entry
//! holds the merge until the last part's reply.
//!
//! # Sessions
//! With `cancel_on_disconnect`, a named account's session is logged on every partition when
//! it logs in ([`session_opened`](IngressLink::session_opened)) and when it closes (decode's
//! disconnect, split like a request on every book and marked
//! [`close_session`](Forward::close_session), so it follows the session's requests), and the
//! ingress keeps its presence entry alive ([`presence`](super::presence)). Matchers cancel
//! the account's orders when its last session over every ingress closes. An anonymous
//! connection's close is logged the same way (owner 0) and cancels its orders at once.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use parking_lot::Mutex;
use sedaflow::{Event, Publisher};
use tokio::sync::mpsc;

use super::confirm::{Publication, RETRY};
use super::market::MarketFeed;
use super::router::{Answer, Router};
use super::wire::{ConnRef, LogEntry, LogRecord, ENTRIES_PER_MESSAGE};
use super::{instance_id, partition_of, ClusterConfig, ClusterError, Log, Partition, WireError};
use crate::admission::Admission;
use crate::gather::Gather;
use crate::internal_events::ClusterMetrics;
use crate::matching::{OrderId, Owner, Request};

/// Most orders appended per round of confirmations: a round's orders for one partition fit
/// one log message.
const PUBLISH_BATCH: usize = ENTRIES_PER_MESSAGE;

/// A request on its way through the log, until its reply comes back: whom to answer (the
/// pipeline's connection handle), when the request was read, and for a request on every
/// book, the merge of its parts' answers.
pub(super) struct Pending<C> {
    pub(super) to: C,
    pub(super) read_at: Instant,
    pub(super) part: Option<Arc<Gather>>,
}

/// A request for the log: request `seq` of connection `conn`, acting for the named account
/// `owner` (`None`: its anonymous one), its reply to go `to`.
pub(crate) struct Forward<C> {
    pub(crate) conn: Owner,
    pub(crate) seq: u64,
    pub(crate) owner: Option<Owner>,
    pub(crate) floor: OrderId,
    pub(crate) req: Request,
    pub(crate) to: C,
    pub(crate) read_at: Instant,
    /// For one part of a request on every book: its partition, and the merge of the parts'
    /// answers.
    pub(crate) part: Option<(u64, Arc<Gather>)>,
    /// A part of a session's close (no reply comes for it), not a request.
    pub(crate) close_session: bool,
}

/// What the `publish` stage shares with the ingress tasks; `C` is how the pipeline names the
/// connection a reply goes to.
pub(crate) struct IngressLink<C> {
    pub(super) id: u64,
    partitions: u32,
    pub(super) pending: Mutex<HashMap<(Owner, u64), Pending<C>>>,
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
    /// Keep a presence entry alive every this often (sessions are logged).
    presence: Option<Duration>,
}

/// Connects to NATS and prepares the log; call from inside the runtime. With
/// `log_sessions` (`cancel_on_disconnect`), sessions go to the log and the ingress keeps a
/// presence entry.
pub(crate) async fn connect<C>(
    config: &ClusterConfig,
    log_sessions: bool,
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
        presence: log_sessions.then_some(config.heartbeat),
    };
    Ok((link, tasks))
}

impl<C: Send + 'static> IngressTasks<C> {
    /// Starts appending orders, routing responses and feeding market data; call from inside
    /// the runtime. The tasks run until the runtime stops, after the pipeline has drained.
    /// `answered` turns each routed answer into the event `encode` takes; `market` feeds the
    /// market-data stage.
    pub(crate) async fn spawn<E: Event, M: Event>(
        self,
        encode: Publisher<E>,
        answered: fn(Answer<C>) -> E,
        admission: Arc<Admission>,
        market: MarketFeed<M>,
    ) -> Result<(), ClusterError> {
        let router = Router::new(
            self.link.clone(),
            encode,
            answered,
            admission,
            self.metrics.clone(),
        );
        let messages = router.subscribe(&self.log).await?;
        tokio::spawn(router.run(messages));
        let changes_read = MarketFeed::<M>::subscribe(&self.log).await?;
        tokio::spawn(market.run(changes_read));
        if let Some(every) = self.presence {
            let bucket = super::presence::bucket(&self.log).await?;
            let revision = super::presence::announce(&bucket, self.link.id).await?;
            tokio::spawn(super::presence::heartbeat(
                bucket,
                self.link.id,
                revision,
                every,
            ));
        }
        tokio::spawn(append(self.log, self.link.id, self.orders, self.metrics));
        Ok(())
    }
}

impl<C> IngressLink<C> {
    /// The deployment's partitions: the parts of a request on every book.
    pub(crate) fn partitions(&self) -> u32 {
        self.partitions
    }

    /// Hands a request to the append task; false when it cannot go to the log (the caller
    /// then refuses it, so nothing is lost, and [`forget`](Self::forget)s it once answered).
    pub(crate) fn forward(&self, f: Forward<C>) -> bool {
        if f.close_session {
            return self.close_session(&f);
        }
        let entry = match self.entry(&f) {
            Ok(entry) => entry,
            Err(e) => {
                tracing::error!(error = %e, "order cannot be written to the log");
                return false;
            }
        };
        // The parts of a request on every book share one entry.
        self.pending
            .lock()
            .entry((f.conn, f.seq))
            .or_insert(Pending {
                to: f.to,
                read_at: f.read_at,
                part: f.part.map(|(_, gather)| gather),
            });
        // Fails only once the append task is gone (shutting down).
        self.orders.send(entry).is_ok()
    }

    /// Logs that `conn`, a session of the named account `owner`, logged in: on every
    /// partition, ahead of any request it sends.
    pub(crate) fn session_opened(&self, conn: Owner, owner: Owner) {
        let session = ConnRef {
            ingress: self.id,
            conn,
        };
        for partition in 0..self.partitions {
            let opened = LogEntry::Opened { session, owner };
            let _ = self.log_event(partition, &opened);
        }
    }

    /// Logs one part of a session's close (owner 0: an anonymous connection's): nothing
    /// answers it.
    fn close_session(&self, f: &Forward<C>) -> bool {
        let Some((partition, _)) = &f.part else {
            tracing::error!("a session close that is not split by partition");
            return false;
        };
        // Named owners have the top bit set: 0 is free to mean "anonymous".
        let owner = f.owner.unwrap_or(0);
        let session = ConnRef {
            ingress: self.id,
            conn: f.conn,
        };
        match u32::try_from(*partition) {
            Ok(p) if p < self.partitions => self.log_event(p, &LogEntry::Closed { session, owner }),
            _ => false,
        }
    }

    /// Hands a session event for `partition` to the append task.
    fn log_event(&self, partition: Partition, event: &LogEntry) -> bool {
        let mut framed = Vec::with_capacity(32);
        if let Err(e) = event.append_to(&mut framed) {
            tracing::error!(error = %e, "session event cannot be written to the log");
            return false;
        }
        self.orders.send(Entry { partition, framed }).is_ok()
    }

    /// Drops the pending entry of request `seq` of `conn`, answered without the log.
    pub(crate) fn forget(&self, (conn, seq): (Owner, u64)) {
        self.pending.lock().remove(&(conn, seq));
    }

    /// The log entry for the request, framed for a log message, and its partition.
    fn entry(&self, f: &Forward<C>) -> Result<Entry, WireError> {
        let partition = match (f.req.symbol(), &f.part) {
            (Some(symbol), _) => partition_of(symbol, self.partitions),
            (None, Some((part, _))) => {
                u32::try_from(*part)
                    .ok()
                    .filter(|&p| p < self.partitions)
                    .ok_or(WireError::Unencodable("part beyond the partitions"))?
            }
            (None, None) => return Err(WireError::Unencodable("request on every book unsplit")),
        };
        let record = LogRecord {
            from: ConnRef {
                ingress: self.id,
                conn: f.conn,
            },
            owner: f.owner,
            seq: f.seq,
            floor: f.floor,
            req: f.req,
        };
        let mut framed = Vec::with_capacity(64);
        LogEntry::Order(record).append_to(&mut framed)?;
        Ok(Entry { partition, framed })
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
/// is published again ([`Log::publish_confirmed`]).
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
        let mut todo = messages
            .into_iter()
            .map(|(p, message, n)| {
                let publication = Publication {
                    subject: log.order_subject(p),
                    payload: Bytes::from(message),
                    id: format!("{ingress:016x}.{round}.{p}"),
                };
                (n, publication)
            })
            .collect();
        let mut appended = |n| metrics.orders_appended(n);
        // An order read is appended, however long JetStream takes.
        while let Err((failed, e)) = log.publish_confirmed(todo, &mut appended).await {
            tracing::warn!(error = %e, "orders not confirmed by JetStream; publishing again");
            tokio::time::sleep(RETRY).await;
            todo = failed;
        }
    }
}
