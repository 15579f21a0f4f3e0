//! Running a stage's ready work on a thread of the embedder's, while that thread is idle.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::domain::DomainTask;
use crate::queue::handoff;

/// Runs the ready lanes of a stage's domain on the calling thread, for threads outside the
/// pipeline's pools that would otherwise go idle: an event loop about to park, say.
///
/// A stage with a pool of its own keeps its work off its producers' threads, but each time
/// its worker wakes for a batch it takes a CPU from them, with a thread switch and cold
/// caches on both sides. A thread that has nothing else to do can run the batch instead, at
/// no cost to its own work. The pool's workers still take whatever is left (a lane runs on
/// one thread at a time either way), so the stage never waits for an idle moment that does
/// not come; events go through the same queue, batches and accounting as on a worker.
///
/// Idle threads run at most one round per the domain's
/// [`linger`](crate::PoolConfig::linger), so a stage that lingers to batch keeps its batches,
/// and, [with a budget](IdleRunner::budget), only while rounds stay short.
///
/// Got from [`Pipeline::idle_runner`](crate::Pipeline::idle_runner).
///
/// # Examples
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use std::sync::Arc;
/// use std::time::Duration;
/// use sedaflow::{handler_fn, Batch, Pipeline};
///
/// let seen = Arc::new(AtomicU64::new(0));
/// let counted = seen.clone();
/// let mut p = Pipeline::builder();
/// p.stage("count", move || {
///     let counted = counted.clone();
///     handler_fn(move |batch: &mut Batch<'_, u64>, _ctx| {
///         counted.fetch_add(batch.count() as u64, Ordering::Relaxed);
///     })
/// });
/// let pipeline = p.build()?;
/// let idle = pipeline.idle_runner("count").unwrap();
/// let input = pipeline.publisher::<u64>()?;
/// // Not started: no worker runs, so the events wait for whoever runs them.
/// input.try_publish(1).unwrap();
/// input.try_publish(2).unwrap();
/// assert!(idle.run_ready(8) > 0);
/// assert_eq!(seen.load(Ordering::Relaxed), 2, "run here");
/// assert_eq!(idle.run_ready(8), 0, "nothing left");
/// let report = pipeline.shutdown(Duration::from_secs(5));
/// assert_eq!(report.stage("count").unwrap().processed, 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct IdleRunner {
    task: Arc<dyn DomainTask>,
    pace: Arc<Pace>,
}

/// When an idle thread may run the next round, shared by every clone.
struct Pace {
    /// At most one round per this long: by default the domain's linger, so its batches stay
    /// as large as its lingering workers make them (zero: a round whenever asked).
    every: Duration,
    /// A round that takes longer is too much for a thread that has work of its own.
    budget: Duration,
    epoch: Instant,
    /// The earliest start of the next round, in nanoseconds since `epoch`.
    next: AtomicU64,
}

/// How long the rounds stop after one that overran the budget, in multiples of its length:
/// the pool does the work meanwhile, and the idle threads spend about 1% of their time on
/// the probe rounds that tell whether the batches got small again.
const BACKOFF: u32 = 100;

impl fmt::Debug for IdleRunner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdleRunner")
            .field("lanes", &self.task.lanes())
            .field("every", &self.pace.every)
            .field("budget", &self.pace.budget)
            .finish()
    }
}

impl IdleRunner {
    pub(crate) fn new(task: Arc<dyn DomainTask>, linger: Duration) -> Self {
        IdleRunner {
            task,
            pace: Arc::new(Pace::new(linger, Duration::MAX)),
        }
    }

    /// Runs at most one round per `every` instead of per the domain's linger: shorter, and
    /// the idle threads take most rounds before a lingering worker wakes for them.
    pub fn every(self, every: Duration) -> Self {
        let budget = self.pace.budget;
        IdleRunner {
            pace: Arc::new(Pace::new(every, budget)),
            ..self
        }
    }

    /// Runs rounds only while they take at most `budget`: a round that took longer (a stage
    /// whose batches grew heavy) stops them for [`BACKOFF`] times its length, then one round
    /// probes again. Without a budget an idle thread runs whatever is ready.
    pub fn budget(self, budget: Duration) -> Self {
        let every = self.pace.every;
        IdleRunner {
            pace: Arc::new(Pace::new(every, budget)),
            ..self
        }
    }

    /// Runs a round: one batch of each lane that is ready now, up to `max` batches, and
    /// answers how many ran. Nothing runs (0) when nothing is ready, within `every` (the
    /// domain's linger unless [set](IdleRunner::every)) of the last round, or while an
    /// overrun keeps rounds off. What the batches emit
    /// goes on as from the caller's [publishing](crate::Publisher::try_publish_batch): lanes
    /// it makes ready of stages that allow hand-off run here too.
    pub fn run_ready(&self, max: usize) -> usize {
        let pace = &*self.pace;
        let started = Instant::now();
        let now = pace.nanos(started);
        if now < pace.next.load(Relaxed) {
            return 0;
        }
        let (ready, lanes) = (self.task.ready(), self.task.lanes());
        let mut ran = 0;
        while ran < max {
            let Ok(token) = ready.try_recv() else {
                break;
            };
            if token >= lanes {
                // A wake-up meant for a worker: it goes back for one.
                self.task.send_token(token);
                break;
            }
            handoff::caller_runs(|| self.task.run_lane(token));
            ran += 1;
        }
        if ran > 0 {
            let took = started.elapsed();
            let wait = if took > pace.budget {
                took.saturating_mul(BACKOFF)
            } else {
                pace.every
            };
            pace.next
                .store(now.saturating_add(pace.nanos_of(wait)), Relaxed);
        }
        ran
    }
}

impl Pace {
    fn new(every: Duration, budget: Duration) -> Pace {
        Pace {
            every,
            budget,
            epoch: Instant::now(),
            next: AtomicU64::new(0),
        }
    }

    fn nanos(&self, at: Instant) -> u64 {
        self.nanos_of(at.saturating_duration_since(self.epoch))
    }

    fn nanos_of(&self, d: Duration) -> u64 {
        u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
    }
}
