//! The matcher role: claims partitions of the order log through leases, matches their
//! entries in log order and publishes what they caused to the ingresses' response subjects
//! (named accounts' to the one every ingress reads, see [`Dest`]).
//!
//! # Ownership
//! A coordinator task heartbeats this matcher's member entry, counts live members, and
//! claims or releases partitions toward an equal share ([`lease::plan`]). Each owned
//! partition runs in a task of its own.
//!
//! # Fencing
//! Before a partition task publishes anything it renews its lease by compare-and-swap on the
//! revision it last wrote, committing the log sequence up to which everything is published.
//! A superseded owner fails that write and stops: it neither publishes nor reads further.
//! A publication JetStream does not confirm in time goes out again under its message id after
//! another renewal ([`Log::publish_confirmed`]), and a pull it leaves unanswered is given up
//! with its consumer for a new one that reads on after the last entry applied: a busy or
//! restarted NATS server delays the partition without stopping it. A partition task that
//! stops all the same is taken back at the coordinator's next round (its lease still names
//! this matcher), replaying the log.
//!
//! # Fail-over
//! A new owner replays the partition's log from its start into fresh books (matching is
//! deterministic, and the log carries the connection identities and id floors), publishes
//! nothing up to the committed sequence, and re-publishes what follows under the same message
//! ids the old owner used, which JetStream's duplicate window drops if they got through.
//!
//! # Market data
//! Each pull's book changes go to `<prefix>.market.<partition>` before its responses (a client
//! holding its answer can count on the change being in the stream), trades stamped with the
//! time of publication. A take-over's replay numbers them as the first owner
//! did and re-publishes only what follows the committed sequence, so every ingress's
//! subscribers see one unbroken sequence per book (see [`Shard`]).
//!
//! # Backpressure
//! Orders pulled but not yet answered count against the matcher's queue, as large as the
//! match stage's `capacity` and shared by its partitions. A partition pulls as many log
//! messages as the room left can take (at most `max_batch`), waits for room for what they
//! hold, and pulls again only once their responses are confirmed: a slow matcher leaves
//! messages in the log (consumer pending grows), never in its memory. Log messages are
//! acknowledged only after their responses are published.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::kv;
use sedaflow::{install_prometheus, MetricsExporter};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinHandle;

use super::confirm::{Publication, RETRY};
use super::kv::{live_entries, now_ms, renew, try_claim, view};
use super::lease::{self, Claim, LeaseValue, Staleness};
use super::log::{lease_key, market_msg_id, response_msg_id};
use super::presence;
use super::shard::{Dest, Shard};
use super::wire::{position, MarketBatch, ResponseBatch, ENTRIES_PER_MESSAGE};
use super::{instance_id, ClusterConfig, ClusterError, Log, Partition};
use crate::internal_events::{ClusterMetrics, PartitionMetrics};
use crate::matching::BookDelta;
use crate::signals::StopSignals;
use crate::ServerConfig;
use reading::{decode, Decoded, Reader};

mod reading;

/// A response message is sent once it reaches this size (NATS refuses payloads over 1 MiB by
/// default).
const MAX_MESSAGE: usize = 256 * 1024;

/// How long a stopping matcher waits for its partitions to hand their leases back.
const RELEASE_GUARD: Duration = Duration::from_secs(5);

/// A running matcher. [`Matcher::shutdown`] releases its partitions.
pub struct Matcher {
    exporter: MetricsExporter,
    stop: watch::Sender<bool>,
    coordinator: JoinHandle<()>,
    signals: parking_lot::Mutex<StopSignals>,
    runtime: tokio::runtime::Runtime,
}

impl std::fmt::Debug for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Matcher")
            .field("metrics", &self.exporter.local_addr())
            .finish()
    }
}

impl Matcher {
    /// Binds the metrics endpoint, connects to NATS and starts claiming partitions.
    ///
    /// # Errors
    /// When the metrics endpoint cannot start or NATS cannot be reached.
    pub fn start(config: &ServerConfig) -> Result<Matcher, crate::ServerError> {
        config.validate()?;
        let exporter = install_prometheus(config.metrics)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("sf-matcher")
            .enable_all()
            .build()
            .map_err(crate::ServerError::Runtime)?;
        let cluster = config.cluster.clone();
        let capacity = config.stages.matching.capacity.get();
        let room = Arc::new(Semaphore::new(capacity));
        let (log, leases, buckets) = runtime.block_on(async {
            let log = Log::open(&cluster).await?;
            let leases = log.bucket("leases").await?;
            let members = log.bucket("members").await?;
            // Ingresses keep presence entries only when they log sessions.
            let ingresses = match config.cancel_on_disconnect {
                true => Some(presence::bucket(&log).await?),
                false => None,
            };
            Ok::<_, ClusterError>((log, leases, (members, ingresses)))
        })?;
        let (stop, stopped) = watch::channel(false);
        let coordinator = Coordinator {
            id: format!("m{:016x}", instance_id()),
            config: cluster,
            log,
            metrics: ClusterMetrics::register(),
            owned: HashMap::new(),
            room,
            capacity,
        };
        let coordinator = runtime.spawn(coordinator.run(leases, buckets, stopped));
        Ok(Matcher {
            exporter,
            stop,
            coordinator,
            signals: StopSignals::install(&runtime),
            runtime,
        })
    }

    /// The metrics endpoint's address.
    pub fn metrics_addr(&self) -> std::net::SocketAddr {
        self.exporter.local_addr()
    }

    /// Blocks until SIGINT or SIGTERM.
    pub fn wait_for_signal(&self) {
        StopSignals::wait(&self.signals, &self.runtime);
    }

    /// Hands every partition back (so others take over without waiting for a lease timeout)
    /// and stops.
    pub fn shutdown(self) {
        let _ = self.stop.send(true);
        let coordinator = self.coordinator;
        self.runtime.block_on(async {
            let _ = tokio::time::timeout(RELEASE_GUARD, coordinator).await;
        });
        self.runtime.shutdown_timeout(Duration::from_secs(1));
    }
}

/// A partition this matcher runs.
struct Owned {
    release: watch::Sender<bool>,
    task: JoinHandle<()>,
}

struct Coordinator {
    id: String,
    config: ClusterConfig,
    log: Log,
    metrics: ClusterMetrics,
    owned: HashMap<Partition, Owned>,
    /// The matcher's queue: one permit per entry pulled and not yet answered.
    room: Arc<Semaphore>,
    capacity: usize,
}

impl Coordinator {
    async fn run(
        mut self,
        leases: kv::Store,
        (members, ingresses): (kv::Store, Option<kv::Store>),
        mut stop: watch::Receiver<bool>,
    ) {
        tracing::info!(matcher = %self.id, "matcher started");
        let mut lease_age = Staleness::new(self.config.lease_timeout);
        let mut member_age = Staleness::new(self.config.lease_timeout);
        let mut ingress_age = Staleness::new(self.config.lease_timeout);
        let mut tick = tokio::time::interval(self.config.heartbeat);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.changed() => break,
            }
            let round = async {
                let live = self.heartbeat(&members, &mut member_age).await?;
                self.rebalance(&leases, &mut lease_age, live).await?;
                let Some(ingresses) = &ingresses else {
                    return Ok(());
                };
                let partitions = self.config.partitions;
                presence::reap(&self.log, ingresses, &mut ingress_age, partitions).await
            };
            if let Err(e) = round.await {
                tracing::warn!(error = %e, "rebalancing round failed");
            }
        }
        for owned in self.owned.values() {
            let _ = owned.release.send(true);
        }
        for (_, owned) in self.owned.drain() {
            let _ = owned.task.await;
        }
        self.metrics.partitions_owned(0);
        let _ = members.delete(&self.id).await;
        tracing::info!(matcher = %self.id, "matcher stopped");
    }

    /// Renews this matcher's member entry and counts the live members (itself included).
    async fn heartbeat(
        &self,
        members: &kv::Store,
        age: &mut Staleness<String>,
    ) -> Result<usize, ClusterError> {
        members
            .put(&self.id, now_ms().to_string().into())
            .await
            .map_err(ClusterError::js("member heartbeat"))?;
        // A matcher that stopped cleanly deleted its entry.
        let entries = live_entries(members).await?;
        let now = Instant::now();
        let mut live = 0;
        for (key, revision) in &entries {
            let stale = age.observe(key, *revision, now);
            live += usize::from(key == &self.id || !stale);
        }
        age.retain(|k| entries.iter().any(|(e, _)| e == k));
        Ok(live.max(1))
    }

    /// Reaps finished partition tasks, then claims or releases toward this matcher's share.
    async fn rebalance(
        &mut self,
        leases: &kv::Store,
        age: &mut Staleness<Partition>,
        live: usize,
    ) -> Result<(), ClusterError> {
        self.owned.retain(|_, o| !o.task.is_finished());
        let now = Instant::now();
        let mut claimable = Vec::new();
        for p in 0..self.config.partitions {
            if self.owned.contains_key(&p) {
                continue;
            }
            let view = view(leases, &lease_key(p)).await?;
            let stale = match &view {
                lease::LeaseView::Present { revision, .. } => age.observe(&p, *revision, now),
                lease::LeaseView::Absent => false,
            };
            if let Some(claim) = lease::claim(&view, stale, &self.id) {
                claimable.push((p, claim));
            }
        }
        let mine: Vec<Partition> = self.owned.keys().copied().collect();
        let candidates: Vec<Partition> = claimable.iter().map(|(p, _)| *p).collect();
        let plan = lease::plan(&mine, &candidates, live, self.config.partitions);
        for p in &plan.release {
            if let Some(owned) = self.owned.get(p) {
                tracing::info!(partition = p, "releasing partition to rebalance");
                let _ = owned.release.send(true);
            }
        }
        for p in plan.claim {
            let Some((_, claim)) = claimable.iter().find(|(c, _)| *c == p) else {
                continue;
            };
            let committed = match claim {
                Claim::Create => 0,
                Claim::TakeOver { committed, .. } => *committed,
            };
            let value = LeaseValue {
                owner: Some(self.id.clone()),
                committed,
                at_ms: now_ms(),
            };
            if let Some(revision) = try_claim(leases, &lease_key(p), claim, &value).await? {
                tracing::info!(partition = p, committed, "partition claimed");
                self.spawn(p, leases.clone(), revision, committed);
            }
        }
        self.metrics.partitions_owned(self.owned.len());
        Ok(())
    }

    fn spawn(&mut self, p: Partition, leases: kv::Store, revision: u64, committed: u64) {
        let (release, released) = watch::channel(false);
        let worker = Worker {
            partition: p,
            owner: self.id.clone(),
            config: self.config.clone(),
            log: self.log.clone(),
            leases,
            revision,
            committed,
            metrics: Arc::new(PartitionMetrics::register(p)),
            room: self.room.clone(),
            capacity: self.capacity,
        };
        let task = tokio::spawn(async move {
            let metrics = worker.metrics.clone();
            match worker.run(released).await {
                Ok(()) => tracing::info!(partition = p, "partition released"),
                Err(ClusterError::Fenced(_)) => {
                    metrics.fenced();
                    tracing::warn!(partition = p, "lease superseded: partition dropped");
                }
                Err(e) => tracing::error!(partition = p, error = %e, "partition stopped"),
            }
            metrics.gone();
        });
        self.owned.insert(p, Owned { release, task });
    }
}

/// One owned partition: its consumer, books and lease.
struct Worker {
    partition: Partition,
    owner: String,
    config: ClusterConfig,
    log: Log,
    leases: kv::Store,
    /// The lease revision this owner last wrote: the fencing token.
    revision: u64,
    /// Every response up to this log sequence is published.
    committed: u64,
    metrics: Arc<PartitionMetrics>,
    room: Arc<Semaphore>,
    /// The room's size, the most one pull may hold.
    capacity: usize,
}

impl Worker {
    async fn run(mut self, mut release: watch::Receiver<bool>) -> Result<(), ClusterError> {
        let inactive = self.config.lease_timeout * 4;
        let mut reader = Reader::open(self.log.clone(), self.partition, inactive).await?;
        // The log sequence of the last message applied to the books.
        let mut applied = 0;
        let replay_to = self.committed;
        let mut shard = Shard::new(self.partition);
        let mut out = Vec::new();
        let mut deltas = Vec::new();
        let mut renewed = Instant::now();
        let wait = self.config.heartbeat / 2;
        loop {
            if *release.borrow_and_update() {
                break;
            }
            // A message holds up to ENTRIES_PER_MESSAGE orders: pull what the room can take.
            let want = (self.room.available_permits() / ENTRIES_PER_MESSAGE)
                .clamp(1, self.config.max_batch.get());
            let Some(mut messages) = reader.next(want, wait, applied, &self.metrics).await else {
                continue;
            };
            // A message delivered again (its ack lost with a connection) is applied already.
            messages.retain(|m| m.info().map_or(true, |i| i.stream_sequence > applied));
            let (decoded, entries) = decode(&messages)?;
            // Waits while the matcher's queue is full; held until this pull is answered.
            let held = entries.min(self.capacity);
            let Ok(_room) = self
                .room
                .clone()
                .acquire_many_owned(u32::try_from(held).unwrap_or(u32::MAX))
                .await
            else {
                break;
            };
            let first = decoded
                .iter()
                .map(|(seq, ..)| *seq)
                .find(|&s| s > replay_to);
            let replayed = self.apply(decoded, replay_to, &mut shard, &mut out, &mut deltas);
            let last = messages
                .last()
                .and_then(|m| Some((m.info().ok()?.stream_sequence, m)));
            let Some((seq, message)) = last else {
                if renewed.elapsed() >= self.config.heartbeat {
                    self.renew().await?;
                    renewed = Instant::now();
                }
                continue;
            };
            applied = seq;
            if !out.is_empty() || !deltas.is_empty() || renewed.elapsed() >= self.config.heartbeat {
                // The fencing check: nothing is published under a superseded lease.
                self.renew().await?;
                renewed = Instant::now();
            }
            let mut published = 0;
            if let Some(first) = first {
                published += self.publish_market(&mut deltas, first, seq).await?;
            }
            published += self.publish(&mut out).await?;
            message.ack().await.map_err(ClusterError::js("order ack"))?;
            self.committed = self.committed.max(seq);
            self.metrics
                .applied(entries as u64, replayed, published, shard.resting());
        }
        self.hand_over().await
    }

    /// Applies a pull's records to the books; responses go to `out` and book changes to
    /// `deltas` unless a previous owner already published them (at or below `replay_to`).
    /// Returns how many were replayed only.
    fn apply(
        &self,
        decoded: Vec<Decoded>,
        replay_to: u64,
        shard: &mut Shard,
        out: &mut Vec<(Dest, ResponseBatch)>,
        deltas: &mut Vec<BookDelta>,
    ) -> u64 {
        let mut replayed = 0;
        for (seq, pending, records) in decoded {
            match records {
                Ok(records) => {
                    let (before, changed) = (out.len(), deltas.len());
                    for (i, rec) in records.iter().enumerate() {
                        shard.apply(position(seq, i), rec, out, deltas);
                    }
                    if seq <= replay_to {
                        // Published by a previous owner: rebuild only.
                        out.truncate(before);
                        deltas.truncate(changed);
                        replayed += records.len() as u64;
                    }
                }
                Err(e) => {
                    // Skipped on every replay alike, so books stay deterministic.
                    tracing::error!(partition = self.partition, seq, error = %e, "unreadable log message skipped")
                }
            }
            self.metrics.progress(seq, replay_to, pending);
        }
        replayed
    }

    /// Hands over: a final write commits progress and frees the lease in one step.
    async fn hand_over(mut self) -> Result<(), ClusterError> {
        self.write_lease(None).await
    }

    /// Commits progress and proves the lease is still this owner's.
    async fn renew(&mut self) -> Result<(), ClusterError> {
        self.write_lease(Some(self.owner.clone())).await
    }

    /// Writes the partition's lease with `owner` and the progress committed, fenced by the
    /// revision this owner last wrote.
    async fn write_lease(&mut self, owner: Option<String>) -> Result<(), ClusterError> {
        let value = LeaseValue {
            owner,
            committed: self.committed,
            at_ms: now_ms(),
        };
        self.revision = renew(
            &self.leases,
            &lease_key(self.partition),
            self.partition,
            self.revision,
            &value,
        )
        .await?;
        Ok(())
    }

    /// Publishes `out` (emptied), one message per destination (split past [`MAX_MESSAGE`]),
    /// and waits for every confirmation; returns how many messages.
    async fn publish(&mut self, out: &mut Vec<(Dest, ResponseBatch)>) -> Result<u64, ClusterError> {
        // (destination, message, first and last log sequence in it)
        let mut open: Vec<(Dest, Vec<u8>, u64, u64)> = Vec::new();
        let mut n = 0;
        for (dest, batch) in out.drain(..) {
            let at = match open.iter().position(|(d, ..)| *d == dest) {
                Some(at) => at,
                None => {
                    open.push((dest, Vec::new(), batch.position, batch.position));
                    open.len() - 1
                }
            };
            let (_, message, _, last) = &mut open[at];
            batch.append_to(message)?;
            *last = batch.position;
            if message.len() >= MAX_MESSAGE {
                // Confirmed before that subject's next message goes out: an ingress drops
                // anything at or below a position it saw, so a later message must never be
                // stored when an earlier one was not.
                let full = self.response(open.swap_remove(at));
                self.confirm(vec![full]).await?;
                n += 1;
            }
        }
        let rest: Vec<_> = open.into_iter().map(|m| self.response(m)).collect();
        n += rest.len() as u64;
        self.confirm(rest).await?;
        Ok(n)
    }

    /// Publishes `deltas` (emptied), the book changes of log sequences `first ..= last`, on
    /// the partition's market-data subject, their trades stamped now; returns how many
    /// messages. Each is confirmed before the next goes out, so a reader never sees a later
    /// change stored without an earlier one.
    async fn publish_market(
        &mut self,
        deltas: &mut Vec<BookDelta>,
        first: u64,
        last: u64,
    ) -> Result<u64, ClusterError> {
        if deltas.is_empty() {
            return Ok(0);
        }
        let now = now_ms();
        for t in deltas.iter_mut().flat_map(|d| d.trades.iter_mut()) {
            t.time_ms = now;
        }
        let mut n = 0;
        for (part, run) in MarketBatch::split(deltas, MAX_MESSAGE).enumerate() {
            let mut payload = Vec::with_capacity(MAX_MESSAGE.min(64 * run.len()));
            MarketBatch::encode(self.partition, run, &mut payload)?;
            let message = Publication {
                subject: self.log.market_subject(self.partition),
                payload: payload.into(),
                id: market_msg_id(self.partition, first, last, part),
            };
            self.confirm(vec![message]).await?;
            n += 1;
        }
        deltas.clear();
        Ok(n)
    }

    fn response(&self, (dest, message, first, last): (Dest, Vec<u8>, u64, u64)) -> Publication {
        Publication {
            subject: self.log.response_subject(dest),
            payload: message.into(),
            id: response_msg_id(self.partition, first, last, dest),
        }
    }

    /// Publishes `messages` until JetStream confirms them ([`Log::publish_confirmed`]),
    /// renewing the lease before each new attempt: a slow confirmation costs no fail-over,
    /// and a superseded owner still stops (fencing).
    async fn confirm(&mut self, messages: Vec<Publication>) -> Result<(), ClusterError> {
        let mut todo = messages.into_iter().map(|m| ((), m)).collect();
        while let Err((failed, e)) = self.log.publish_confirmed(todo, drop).await {
            let partition = self.partition;
            tracing::warn!(partition, error = %e, "responses not confirmed by JetStream; publishing again");
            tokio::time::sleep(RETRY).await;
            self.renew().await?;
            todo = failed;
        }
        Ok(())
    }
}
