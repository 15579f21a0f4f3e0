//! A pipeline's life: build → start → graceful shutdown with a report.
//!
//! # Shutdown
//! Shutdown stops sources first (outside publishers get `Closed`), then drains every domain in
//! pipeline order while stages keep delivering to each other, joins every thread, and returns
//! a [`Report`]. If the deadline passes first, queues are aborted and what is still queued is
//! reported as such, never lost silently.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering, Ordering::Relaxed};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::batch::{BatchController, BatchObservation};
use crate::bus::{Bus, Publisher, PublisherError};
use crate::config::StageConfig;
use crate::domain::DomainTask;
use crate::event::Event;
use crate::internal_events::stage::{QueueGauges, StageCounts};
use crate::internal_events::{self, Refresh};
use crate::pool::{CpuUse, Pool, PoolController, PoolObservation};
use crate::stats::StageStats;

pub(crate) struct StageRt {
    pub(crate) name: Arc<str>,
    pub(crate) stats: Arc<StageStats>,
    pub(crate) domain: usize,
    pub(crate) entry: bool,
}

/// The last tick's readings, for deltas.
struct Control {
    pool: PoolController,
    batch: BatchController,
    at: Instant,
    busy_ns: u64,
    events: u64,
    batches: u64,
    cpu: CpuUse,
    utilization: f64,
}

pub(crate) struct DomainRt {
    name: Arc<str>,
    task: Arc<dyn DomainTask>,
    pool: Arc<Pool>,
    config: StageConfig,
    control: Mutex<Control>,
}

impl DomainRt {
    pub(crate) fn new(name: Arc<str>, task: Arc<dyn DomainTask>, config: StageConfig) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let p = &config.pool;
        let b = &config.batch;
        DomainRt {
            pool: Pool::new(name.clone(), task.clone()),
            name,
            task,
            control: Mutex::new(Control {
                pool: PoolController::new(p.min, p.max.get(), cores, p.idle_timeout),
                batch: BatchController::new(b.min.get(), b.max.get(), b.initial.get()),
                at: Instant::now(),
                busy_ns: 0,
                events: 0,
                batches: 0,
                cpu: CpuUse::default(),
                utilization: 0.0,
            }),
            config,
        }
    }

    fn initial_threads(&self) -> usize {
        let p = &self.config.pool;
        if p.adaptive {
            p.min.max(1)
        } else {
            p.max.get()
        }
    }

    /// One controller tick: observe, decide, apply.
    fn steer(&self) {
        let mut guard = self.control.lock();
        let c = &mut *guard;
        let now = Instant::now();
        let load = self.task.load();
        let busy_ns = load.busy_ns.load(Relaxed);
        let events = load.events.load(Relaxed);
        let batches = load.batches.load(Relaxed);
        let cpu = self.pool.cpu_use();
        let interval = now - c.at;
        let threads = self.pool.threads();
        let busy = Duration::from_nanos(busy_ns - c.busy_ns);
        c.utilization = if threads == 0 || interval.is_zero() {
            0.0
        } else {
            (busy.as_secs_f64() / (threads as f64 * interval.as_secs_f64())).min(1.0)
        };
        if self.config.pool.adaptive {
            let target = c.pool.observe(&PoolObservation {
                threads,
                queue_len: self.task.queue_len(),
                processed: events - c.events,
                interval,
                busy,
                cpu: cpu.saturating_sub(c.cpu).demand(),
            });
            if target != threads {
                self.pool.resize(target);
            }
        }
        if self.config.batch.adaptive {
            let limit = c.batch.observe(&BatchObservation {
                events: events - c.events,
                batches: batches - c.batches,
                cpu: cpu.saturating_sub(c.cpu).on_cpu,
            });
            self.task.batch_limit().store(limit, Relaxed);
        }
        c.at = now;
        c.busy_ns = busy_ns;
        c.events = events;
        c.batches = batches;
        c.cpu = cpu;
    }
}

pub(crate) struct Shared {
    bus: Arc<Bus>,
    stages: Vec<StageRt>,
    domains: Vec<DomainRt>,
    tick: Duration,
    stop: AtomicBool,
}

impl Refresh for Shared {
    fn refresh(&self, scrape: bool) {
        for s in &self.stages {
            let p = &s.stats.produce;
            let c = &s.stats.consume;
            s.stats.metrics.publish_counts(&StageCounts {
                enqueued: p.enqueued.load(Relaxed),
                processed: c.processed.load(Relaxed),
                rejected: p.rejected.load(Relaxed),
                dropped_newest: p.dropped_newest.load(Relaxed),
                dropped_oldest: p.dropped_oldest.load(Relaxed),
                panicked: c.panicked.load(Relaxed),
            });
            if !s.entry {
                continue;
            }
            let d = &self.domains[s.domain];
            let depth = d.task.queue_len();
            let peak = if scrape {
                p.scrape_peak.swap(depth, Relaxed)
            } else {
                p.scrape_peak.load(Relaxed)
            };
            s.stats.metrics.publish_queue(&QueueGauges {
                depth,
                capacity: d.task.capacity(),
                peak: peak.max(depth),
                oldest_age: d.task.oldest_age(),
                threads: d.pool.threads(),
                threads_min: d.config.pool.min,
                threads_max: d.config.pool.max.get(),
                batch_limit: d.task.batch_limit().load(Relaxed),
                utilization: d.control.lock().utilization,
            });
        }
    }
}

/// Reads one queue's depth: one atomic load, cheap enough to call per batch from any thread.
#[derive(Clone)]
pub struct QueueProbe {
    task: Arc<dyn DomainTask>,
    entry: Arc<StageStats>,
}

impl QueueProbe {
    /// Events queued now.
    pub fn len(&self) -> usize {
        self.task.queue_len()
    }

    /// Events queued now or taken by the stage and not yet handed on: what admission control
    /// counts, since a batch being handled has left the queue but not yet reached the next.
    pub fn backlog(&self) -> usize {
        usize::try_from(self.entry.held()).unwrap_or(usize::MAX)
    }

    /// Whether the queue is empty now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The queue's capacity.
    pub fn capacity(&self) -> usize {
        self.task.capacity()
    }
}

impl fmt::Debug for QueueProbe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueueProbe")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .finish()
    }
}

/// A built pipeline: publish into it, start it, shut it down.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use sedaflow::{handler_fn, Batch, Pipeline};
///
/// let mut p = Pipeline::builder();
/// p.stage("parse", || handler_fn(|batch: &mut Batch<'_, String>, ctx| {
///     for line in batch {
///         ctx.emit(line.len() as u64);
///     }
/// }));
/// p.stage("sum", || handler_fn(|batch: &mut Batch<'_, u64>, _ctx| {
///     let _total: u64 = batch.sum();
/// }));
/// let pipeline = p.build()?;
/// let lines = pipeline.publisher::<String>()?;
/// pipeline.start();
/// lines.blocking_publish("hello".to_owned()).unwrap();
/// let report = pipeline.shutdown(Duration::from_secs(5));
/// assert!(report.drained);
/// assert_eq!(report.stage("sum").unwrap().processed, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Pipeline {
    shared: Arc<Shared>,
    controller: Mutex<Option<JoinHandle<()>>>,
    started: AtomicBool,
    finished: AtomicBool,
}

impl fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pipeline")
            .field(
                "stages",
                &self
                    .shared
                    .stages
                    .iter()
                    .map(|s| &*s.name)
                    .collect::<Vec<_>>(),
            )
            .field("started", &self.started.load(Relaxed))
            .finish()
    }
}

impl Pipeline {
    /// Starts declaring a pipeline.
    pub fn builder() -> crate::PipelineBuilder {
        crate::PipelineBuilder::default()
    }

    pub(crate) fn new(
        bus: Arc<Bus>,
        stages: Vec<StageRt>,
        domains: Vec<DomainRt>,
        tick: Duration,
    ) -> Self {
        let shared = Arc::new(Shared {
            bus,
            stages,
            domains,
            tick,
            stop: AtomicBool::new(false),
        });
        let as_refresh: Arc<dyn Refresh> = shared.clone();
        internal_events::register(&as_refresh);
        Pipeline {
            shared,
            controller: Mutex::new(None),
            started: AtomicBool::new(false),
            finished: AtomicBool::new(false),
        }
    }

    /// A publisher for the untopiced stream of `T`.
    ///
    /// # Errors
    /// When `T`'s subscribers all sit behind other stages in fused domains.
    pub fn publisher<T: Event>(&self) -> Result<Publisher<T>, PublisherError> {
        self.make_publisher(None)
    }

    /// A publisher for `T` on `topic`.
    ///
    /// # Errors
    /// As [`Pipeline::publisher`].
    pub fn publisher_on<T: Event>(
        &self,
        topic: &'static str,
    ) -> Result<Publisher<T>, PublisherError> {
        self.make_publisher(Some(topic))
    }

    fn make_publisher<T: Event>(
        &self,
        topic: Option<&'static str>,
    ) -> Result<Publisher<T>, PublisherError> {
        let route = self.shared.bus.resolve::<T>(topic, None);
        if !route.targets.is_empty() && !route.reachable() {
            return Err(PublisherError::Unroutable {
                event_type: std::any::type_name::<T>(),
            });
        }
        Ok(Publisher::new(route, self.shared.bus.clone()))
    }

    /// A live reading of the queue `stage` leads, for admission control outside the
    /// pipeline; `None` for an unknown stage or one fused behind another (it has no queue of
    /// its own: its events wait in its domain's queue).
    pub fn queue_probe(&self, stage: &str) -> Option<QueueProbe> {
        let st = self
            .shared
            .stages
            .iter()
            .find(|s| &*s.name == stage && s.entry)?;
        Some(QueueProbe {
            task: self.shared.domains[st.domain].task.clone(),
            entry: st.stats.clone(),
        })
    }

    /// Starts every pool and the controller. Calling it again does nothing.
    pub fn start(&self) {
        if self.started.swap(true, Ordering::AcqRel) {
            return;
        }
        for d in &self.shared.domains {
            d.pool.resize(d.initial_threads());
        }
        let shared = self.shared.clone();
        let spawned = std::thread::Builder::new()
            .name("sf-controller".into())
            .spawn(move || {
                while !shared.stop.load(Ordering::Acquire) {
                    std::thread::park_timeout(shared.tick);
                    for d in &shared.domains {
                        d.steer();
                    }
                    shared.refresh(false);
                }
            });
        match spawned {
            Ok(h) => *self.controller.lock() = Some(h),
            Err(e) => {
                tracing::error!(error = %e, "controller thread failed to start; pools stay at their initial size")
            }
        }
    }

    /// Per-stage counts now (in-flight batches make a running pipeline's sums approximate).
    pub fn report(&self) -> Report {
        let s = &self.shared;
        Report {
            stages: s
                .stages
                .iter()
                .map(|st| {
                    let d = &s.domains[st.domain];
                    let p = &st.stats.produce;
                    let c = &st.stats.consume;
                    StageReport {
                        name: st.name.to_string(),
                        domain: d.name.to_string(),
                        offered: p.offered.load(Relaxed),
                        enqueued: p.enqueued.load(Relaxed),
                        rejected: p.rejected.load(Relaxed),
                        dropped_newest: p.dropped_newest.load(Relaxed),
                        dropped_oldest: p.dropped_oldest.load(Relaxed),
                        processed: c.processed.load(Relaxed),
                        panicked: c.panicked.load(Relaxed),
                        queued: if st.entry { d.task.queued() as u64 } else { 0 },
                        peak_depth: if st.entry {
                            p.peak_depth.load(Relaxed)
                        } else {
                            0
                        },
                        threads: d.pool.threads(),
                        batch_limit: d.task.batch_limit().load(Relaxed),
                        service_p99: st.stats.service.quantile(0.99),
                        queue_wait_p99: if st.entry {
                            st.stats.queue_wait.quantile(0.99)
                        } else {
                            None
                        },
                        blocked: Duration::from_nanos(p.blocked_ns.load(Relaxed)),
                    }
                })
                .collect(),
            dead_letters: s
                .bus
                .dead
                .snapshot()
                .into_iter()
                .map(|(event_type, reason, count)| DeadLetterCount {
                    event_type,
                    reason,
                    count,
                })
                .collect(),
            drained: true,
            elapsed: Duration::ZERO,
        }
    }

    /// Stops sources, drains every queue in pipeline order within `deadline`, joins all
    /// threads and reports. A pipeline that was never started is started so it can drain.
    pub fn shutdown(self, deadline: Duration) -> Report {
        self.stop(deadline)
    }

    fn stop(&self, deadline: Duration) -> Report {
        let began = Instant::now();
        if self.finished.swap(true, Ordering::AcqRel) {
            return self.report();
        }
        self.start();
        let until = began + deadline;
        let domains = &self.shared.domains;
        for d in domains {
            d.task.close();
        }
        let drained = drain(domains, until);
        if !drained {
            tracing::warn!("shutdown deadline passed; aborting queues with events left");
            for d in domains {
                d.task.abort();
            }
        }
        self.shared.stop.store(true, Ordering::Release);
        if let Some(h) = self.controller.lock().take() {
            h.thread().unpark();
            let _ = h.join();
        }
        let threads: Vec<usize> = domains.iter().map(|d| d.pool.threads()).collect();
        for d in domains {
            d.pool.stop();
        }
        self.shared.refresh(false);
        let mut report = self.report();
        for (r, st) in report.stages.iter_mut().zip(&self.shared.stages) {
            r.threads = threads[st.domain];
        }
        report.drained = drained;
        report.elapsed = began.elapsed();
        report
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        if self.started.load(Relaxed) && !self.finished.load(Relaxed) {
            self.stop(Duration::ZERO);
        }
    }
}

/// Waits for each domain in order to go quiet, then once more for all (stages may publish
/// back upstream). Returns whether everything drained before `until`.
fn drain(domains: &[DomainRt], until: Instant) -> bool {
    loop {
        for d in domains {
            while !d.task.is_quiet() {
                if Instant::now() >= until {
                    return false;
                }
                std::thread::sleep(Duration::from_micros(200));
            }
        }
        if domains.iter().all(|d| d.task.is_quiet()) {
            return true;
        }
    }
}

/// Counts of one stage. After a full drain, `is_balanced` holds for every stage.
#[derive(Debug, Clone, PartialEq)]
pub struct StageReport {
    /// Stage name.
    pub name: String,
    /// Name of its domain (the domain's entry stage).
    pub domain: String,
    /// Events offered to the stage.
    pub offered: u64,
    /// Events taken into its queue (or handed in directly, when fused).
    pub enqueued: u64,
    /// Events handed back to producers (full, timed out, closed).
    pub rejected: u64,
    /// Arriving events dropped by `DropNewest`.
    pub dropped_newest: u64,
    /// Queued events evicted by `DropOldest`.
    pub dropped_oldest: u64,
    /// Events the handler processed.
    pub processed: u64,
    /// Events whose handling panicked.
    pub panicked: u64,
    /// Events still queued.
    pub queued: u64,
    /// Highest queue depth seen.
    pub peak_depth: usize,
    /// Threads of its domain's pool.
    pub threads: usize,
    /// Its domain's batch limit.
    pub batch_limit: usize,
    /// P99 per-event service time (per batch samples).
    pub service_p99: Option<Duration>,
    /// P99 queue wait of the oldest event of each batch.
    pub queue_wait_p99: Option<Duration>,
    /// Time producers spent blocked on the full queue.
    pub blocked: Duration,
}

impl StageReport {
    /// offered = enqueued + rejected + dropped_newest, and
    /// enqueued = processed + panicked + dropped_oldest + queued.
    pub fn is_balanced(&self) -> bool {
        self.offered == self.enqueued + self.rejected + self.dropped_newest
            && self.enqueued == self.processed + self.panicked + self.dropped_oldest + self.queued
    }
}

/// Dead letters of one type and reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetterCount {
    /// The event's Rust type name.
    pub event_type: &'static str,
    /// The reason label.
    pub reason: &'static str,
    /// How many.
    pub count: u64,
}

/// What a pipeline did: per stage counts, dead letters, and whether shutdown drained it.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Stages in pipeline order.
    pub stages: Vec<StageReport>,
    /// Dead letters by type and reason.
    pub dead_letters: Vec<DeadLetterCount>,
    /// Whether every queue was empty at the end.
    pub drained: bool,
    /// How long shutdown took.
    pub elapsed: Duration,
}

impl Report {
    /// The report of the stage named `name`.
    pub fn stage(&self, name: &str) -> Option<&StageReport> {
        self.stages.iter().find(|s| s.name == name)
    }

    /// Whether every stage's accounting balances.
    pub fn is_balanced(&self) -> bool {
        self.stages.iter().all(StageReport::is_balanced)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<12} {:<10} {:>10} {:>10} {:>8} {:>8} {:>8} {:>7} {:>7} {:>6} {:>11}",
            "stage",
            "domain",
            "enqueued",
            "processed",
            "rejected",
            "dropped",
            "panicked",
            "queued",
            "peak",
            "thr",
            "p99 service"
        )?;
        for s in &self.stages {
            let p99 = s
                .service_p99
                .map_or_else(|| "-".to_owned(), |d| format!("{:.1?}", d));
            writeln!(
                f,
                "{:<12} {:<10} {:>10} {:>10} {:>8} {:>8} {:>8} {:>7} {:>7} {:>6} {:>11}",
                s.name,
                s.domain,
                s.enqueued,
                s.processed,
                s.rejected,
                s.dropped_newest + s.dropped_oldest,
                s.panicked,
                s.queued,
                s.peak_depth,
                s.threads,
                p99
            )?;
        }
        for d in &self.dead_letters {
            writeln!(
                f,
                "dead letters: {} × {} ({})",
                d.count, d.event_type, d.reason
            )?;
        }
        Ok(())
    }
}
