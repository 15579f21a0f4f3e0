//! A pipeline's life: build → start → graceful shutdown with a report.
//!
//! # Shutdown
//! Shutdown stops sources first (outside publishers get `Closed`), then drains every domain in
//! pipeline order while stages keep delivering to each other, joins every thread, and returns
//! a [`Report`]. If the deadline passes first, queues are aborted and running batches end
//! early (within a few events: a handler's call in progress is not interrupted); what is
//! still queued, or was left untaken by a cut batch, is reported as queued, never lost
//! silently and never counted as processed. External stages
//! ([`PipelineBuilder::external_stage`](crate::PipelineBuilder::external_stage)) are not
//! waited for: their owner stops them first, and the report shows their counts and depth
//! as their owner left them.
//!
//! # Idle
//! [`Pipeline::wait_idle`] waits, without shutting down, until every queue is empty and no
//! batch is running: a test or a batch job can publish, wait, and read a settled report.
//! External stages are not waited for.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering, Ordering::Relaxed};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::bus::{Bus, Publisher, PublisherError};
use crate::concurrency::Concurrency;
use crate::event::Event;
use crate::idle_runner::IdleRunner;
use crate::internal_events::{self, Registration, Scraped};
use crate::queue_probe::QueueProbe;
use crate::report::Report;
use crate::runtime::{DomainRt, Runs, Shared, StageRt};
use crate::stage::{locate, StageId, StageRef};

/// A built pipeline: publish into it, start it, shut it down.
///
/// Declared with [`Pipeline::builder`].
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
    /// Lists the pipeline's series for scrapes until it is dropped.
    metrics: Registration,
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
            .field("name", &self.name())
            .field("started", &self.started.load(Relaxed))
            .finish()
    }
}

impl Pipeline {
    pub(crate) fn new(
        name: &str,
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
        let scraped: Arc<dyn Scraped> = shared.clone();
        let metrics = internal_events::register(name, &scraped);
        Pipeline {
            shared,
            metrics,
            controller: Mutex::new(None),
            started: AtomicBool::new(false),
            finished: AtomicBool::new(false),
        }
    }

    /// The pipeline's name: its `pipeline` metric label. It is the name given to
    /// [`PipelineBuilder::name`](crate::PipelineBuilder::name) (`default` if none), with a
    /// suffix (`-2`, `-3`, …) if a live pipeline had that name already.
    ///
    /// # Examples
    /// ```
    /// use sedaflow::{handler_fn, Batch, Pipeline};
    ///
    /// let build = |name: Option<&str>| {
    ///     let mut p = Pipeline::builder();
    ///     if let Some(name) = name {
    ///         p.name(name);
    ///     }
    ///     p.stage("sink", || handler_fn(|b: &mut Batch<'_, u32>, _ctx| b.for_each(drop)));
    ///     p.build()
    /// };
    /// let orders = build(Some("orders"))?;
    /// let again = build(Some("orders"))?;
    /// assert_eq!((orders.name(), again.name()), ("orders", "orders-2"));
    /// assert!(build(None)?.name().starts_with("default"));
    /// drop(again);
    /// assert_eq!(build(Some("orders"))?.name(), "orders-2");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn name(&self) -> &str {
        self.metrics.label()
    }

    /// A publisher for the untopiced stream of `T`.
    ///
    /// # Errors
    /// [`PublisherError::NoSubscriber`] when no stage takes `T`;
    /// [`PublisherError::Unroutable`] when `T`'s subscribers all sit behind other stages in
    /// fused domains.
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
        if route.targets.is_empty() {
            return Err(PublisherError::NoSubscriber {
                event_type: std::any::type_name::<T>(),
            });
        }
        if !route.reachable() {
            return Err(PublisherError::Unroutable {
                event_type: std::any::type_name::<T>(),
            });
        }
        Ok(Publisher::new(route, self.shared.bus.clone()))
    }

    /// The id of the stage named `name`, for the typed lookups (`None`: no such stage).
    pub fn stage_id(&self, name: &str) -> Option<StageId> {
        let at = locate(name, self.stage_names())?;
        Some(StageId::new(at, name))
    }

    fn stage_names(&self) -> impl Iterator<Item = &str> {
        self.shared.stages.iter().map(|s| &*s.name)
    }

    fn stage_rt<S: StageRef + ?Sized>(&self, stage: &S) -> Option<&StageRt> {
        self.shared.stages.get(locate(stage, self.stage_names())?)
    }

    /// A live reading of the queue `stage` (its [`StageId`] or name) leads, for admission
    /// control outside the pipeline; `None` for an unknown stage or one fused behind another
    /// (it has no queue of its own: its events wait in its domain's queue). An external
    /// stage's probe reads its owner's [`gauges`](crate::ExternalQueue::gauges).
    pub fn queue_probe<S: StageRef + ?Sized>(&self, stage: &S) -> Option<QueueProbe> {
        let st = self.stage_rt(stage)?;
        match &st.runs {
            Runs::Domain { index, entry: true } => Some(QueueProbe::domain(
                self.shared.domains[*index].task.clone(),
                st.stats.clone(),
            )),
            Runs::Domain { entry: false, .. } => None,
            Runs::Outside(queue) => Some(QueueProbe::external(queue.clone(), st.stats.clone())),
        }
    }

    /// The engine domain that runs `stage` (`None`: unknown or external).
    fn domain_of<S: StageRef + ?Sized>(&self, stage: &S) -> Option<&DomainRt> {
        match self.stage_rt(stage)?.runs {
            Runs::Domain { index, .. } => self.shared.domains.get(index),
            Runs::Outside(_) => None,
        }
    }

    /// The number of lanes of the domain that runs `stage` (1 when it is fused behind another
    /// stage of a one-lane domain); `None` for an unknown or external stage. With
    /// [`keyed_by_digest`](crate::StageBuilder::keyed_by_digest), digests `0..lanes` address
    /// each lane.
    pub fn lanes<S: StageRef + ?Sized>(&self, stage: &S) -> Option<usize> {
        Some(self.domain_of(stage)?.task.lanes())
    }

    /// An [`IdleRunner`] for the domain that runs `stage`: a thread of the caller's that is
    /// idle runs its ready batches, ahead of the domain's own workers. `None` for an unknown
    /// or external stage, and for an async one (its batches are futures on its runtime).
    pub fn idle_runner<S: StageRef + ?Sized>(&self, stage: &S) -> Option<IdleRunner> {
        let domain = self.domain_of(stage)?;
        if domain.task.concurrency().is_some() {
            return None;
        }
        Some(IdleRunner::new(
            domain.task.clone(),
            domain.config.pool.linger,
        ))
    }

    /// In-flight calls and limit of the async stage `stage`; `None` for an unknown stage or
    /// a sync or external one.
    pub fn concurrency<S: StageRef + ?Sized>(&self, stage: &S) -> Option<Concurrency> {
        self.domain_of(stage)?.task.concurrency()
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
        self.shared.report()
    }

    /// Waits until every queue is empty and no batch is running (in any domain at once, as
    /// stages may publish back upstream), or until `timeout` passes. The pipeline keeps
    /// running; outside publishers may make it busy again at once. Work a handler left for
    /// after its lane's release (`Context::after_release`) may still be running.
    ///
    /// Returns whether it went idle in time. A pipeline that was not started goes idle only
    /// if nothing was published to it.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use sedaflow::{handler_fn, Batch, Pipeline};
    ///
    /// let mut p = Pipeline::builder();
    /// p.stage("sink", || handler_fn(|b: &mut Batch<'_, u32>, _ctx| b.for_each(drop)));
    /// let pipeline = p.build()?;
    /// let input = pipeline.publisher::<u32>()?;
    /// pipeline.start();
    /// input.try_publish_batch(&mut (0..100).collect())?;
    /// assert!(pipeline.wait_idle(Duration::from_secs(5)));
    /// assert_eq!(pipeline.report().stage("sink").unwrap().processed, 100);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use = "the pipeline may not have gone idle before the timeout"]
    pub fn wait_idle(&self, timeout: Duration) -> bool {
        let until = Instant::now() + timeout;
        drain(&self.shared.domains, |d| d.task.is_quiet(), until)
    }

    /// Stops sources, drains every queue in pipeline order within `deadline`, joins all
    /// threads and reports. A pipeline that was never started is started so it can drain.
    ///
    /// Returns by about the deadline: once it passes, running batches stop handing out
    /// events (a handler's call on its current event still finishes) and the events they
    /// did not take are reported as queued.
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
        let drained = drain(domains, |d| d.task.is_quiet(), until);
        if !drained {
            tracing::warn!("shutdown deadline passed; aborting queues with events left");
            self.shared.bus.halt.store(true, Ordering::Release);
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
        let mut report = self.report();
        for (r, st) in report.stages.iter_mut().zip(&self.shared.stages) {
            if let Runs::Domain { index, .. } = st.runs {
                r.threads = threads[index];
            }
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
fn drain<D>(domains: &[D], is_quiet: impl Fn(&D) -> bool, until: Instant) -> bool {
    loop {
        for d in domains {
            while !is_quiet(d) {
                if Instant::now() >= until {
                    return false;
                }
                std::thread::sleep(Duration::from_micros(200));
            }
        }
        if domains.iter().all(&is_quiet) {
            return true;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    /// A domain that is busy for its first `busy` looks, then quiet.
    struct Busy {
        busy: Cell<u32>,
        looks: Cell<u32>,
    }

    impl Busy {
        fn new(busy: u32) -> Self {
            Busy {
                busy: Cell::new(busy),
                looks: Cell::new(0),
            }
        }

        fn is_quiet(&self) -> bool {
            self.looks.set(self.looks.get() + 1);
            let left = self.busy.get();
            self.busy.set(left.saturating_sub(1));
            left == 0
        }
    }

    #[test]
    fn quiet_domains_drain_at_once_even_past_the_deadline() {
        let domains = [Busy::new(0), Busy::new(0)];
        assert!(drain(&domains, Busy::is_quiet, Instant::now()));
        assert_eq!(domains.each_ref().map(|d| d.looks.get()), [2, 2]);
    }

    #[test]
    fn a_passed_deadline_stops_the_drain_at_the_first_busy_domain() {
        let domains = [Busy::new(0), Busy::new(u32::MAX), Busy::new(0)];
        assert!(!drain(&domains, Busy::is_quiet, Instant::now()));
        assert_eq!(domains.each_ref().map(|d| d.looks.get()), [1, 1, 0]);
    }

    #[test]
    fn domains_busy_for_a_while_drain_before_a_far_deadline() {
        let domains = [Busy::new(2), Busy::new(1)];
        let far = Instant::now() + Duration::from_secs(3600);
        assert!(drain(&domains, Busy::is_quiet, far));
        assert!(domains.iter().all(|d| d.busy.get() == 0));
    }

    #[test]
    fn a_domain_made_busy_again_downstream_is_waited_for_once_more() {
        // The second domain publishes back into the first while draining: the first pass
        // finds the first domain quiet, the final check does not, so the drain goes round.
        let first = Cell::new(0u32);
        let quiet = |d: &u8| match d {
            0 => {
                first.set(first.get() + 1);
                first.get() != 2
            }
            _ => true,
        };
        let far = Instant::now() + Duration::from_secs(3600);
        assert!(drain(&[0u8, 1], quiet, far));
        assert_eq!(
            first.get(),
            4,
            "first pass, final check, second pass, final check"
        );
    }
}
