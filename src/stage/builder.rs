//! Configuring one declared stage: queue, pool, batching, keys, topic, panic policy.

use std::hash::Hash;
use std::num::NonZeroUsize;
use std::sync::Arc;

use crate::config::{StageConfig, WhenFull};
use crate::stage::decl::TypedDecl;
use crate::stage::handler::{Handler, OnPanic};
use crate::stage::StageId;

/// Configures the stage just declared. Methods consume and return the builder for chaining.
///
/// # Examples
/// ```
/// use sedaflow::{handler_fn, Batch, BuildError, Pipeline, WhenFull};
///
/// let sink = || handler_fn(|b: &mut Batch<'_, (u32, String)>, _ctx| b.for_each(drop));
/// let mut p = Pipeline::builder();
/// p.stage("orders", sink)
///     .capacity(4096)
///     .when_full(WhenFull::Reject)
///     .threads(1, 4)
///     .batch(16, 512)
///     .keyed_by(|(account, _)| *account);
/// assert!(p.build().is_ok());
///
/// let mut p = Pipeline::builder();
/// p.stage("orders", sink).capacity(0);
/// assert_eq!(
///     p.build().unwrap_err(),
///     BuildError::Config {
///         stage: "orders".into(),
///         message: "capacity must be at least 1".into(),
///     }
/// );
/// ```
pub struct StageBuilder<'a, H: Handler> {
    decl: &'a mut TypedDecl<H>,
    /// The stage's position in pipeline order.
    position: usize,
}

impl<'a, H: Handler> StageBuilder<'a, H> {
    pub(crate) fn new(decl: &'a mut TypedDecl<H>, position: usize) -> Self {
        StageBuilder { decl, position }
    }
}

impl<H: Handler> std::fmt::Debug for StageBuilder<'_, H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StageBuilder")
            .field("name", &self.decl.name)
            .finish()
    }
}

impl<H: Handler> StageBuilder<'_, H> {
    /// The stage's id, for lookups in the built pipeline and its reports (see [`StageId`]).
    pub fn id(&self) -> StageId {
        StageId::new(self.position, &self.decl.name)
    }

    /// Replaces the whole configuration (for example one read from TOML).
    pub fn config(self, config: StageConfig) -> Self {
        self.decl.config = config;
        self
    }

    /// Queue capacity in events (0 is refused at build).
    pub fn capacity(self, events: usize) -> Self {
        self.decl.set_capacity(events);
        self
    }

    /// Admission policy when the queue is full.
    pub fn when_full(self, policy: WhenFull) -> Self {
        self.decl.config.when_full = policy;
        self
    }

    /// Pool bounds (`max` 0 is refused at build).
    pub fn threads(self, min: usize, max: usize) -> Self {
        match NonZeroUsize::new(max) {
            Some(m) => {
                self.decl.config.pool.min = min;
                self.decl.config.pool.max = m;
            }
            None => self.decl.problem = Some("pool.max must be at least 1".into()),
        }
        self
    }

    /// Pins the pool at `n` threads.
    pub fn fixed_threads(self, n: usize) -> Self {
        let s = self.threads(n, n);
        s.decl.config.pool.adaptive = false;
        s
    }

    /// Batch bounds; the controller starts at the default initial limit clamped into them.
    pub fn batch(self, min: usize, max: usize) -> Self {
        match (NonZeroUsize::new(min), NonZeroUsize::new(max)) {
            (Some(lo), Some(hi)) if lo <= hi => {
                let b = &mut self.decl.config.batch;
                b.min = lo;
                b.max = hi;
                b.initial = b.initial.clamp(lo, hi);
            }
            _ => self.decl.problem = Some("batch bounds must be 1 <= min <= max".into()),
        }
        self
    }

    /// Makes the stage keyed: events with equal keys are handled in arrival order by one
    /// handler instance, one thread at a time.
    pub fn keyed_by<K: Hash>(self, key: impl Fn(&H::In) -> K + Send + Sync + 'static) -> Self {
        self.decl.set_key(key);
        self
    }

    /// Makes the stage keyed by a digest the caller computes: an event goes to lane
    /// `digest % lanes`, and events with equal digests are handled in arrival order by one
    /// handler instance. [`keyed_by`](Self::keyed_by) is this with
    /// [`key_digest`](crate::key_digest) of the key. A digest below the lane count
    /// ([`Pipeline::lanes`](crate::Pipeline::lanes)) addresses that lane itself, so a
    /// request can be fanned out to every lane, behind each lane's earlier events.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use sedaflow::{handler_fn, key_digest, Batch, Pipeline};
    ///
    /// // Words are keyed by their text; `None` is a question for every lane.
    /// let mut p = Pipeline::builder();
    /// p.stage("words", || handler_fn(|batch: &mut Batch<'_, (Option<&'static str>, u64)>, _ctx| {
    ///     batch.for_each(drop)
    /// }))
    /// .fixed_threads(1) // a keyed stage gets 4 lanes per thread
    /// .keyed_by_digest(|&(word, lane)| word.map_or(lane, |w| key_digest(w)));
    /// let pipeline = p.build()?;
    /// assert_eq!(pipeline.lanes("words"), Some(4));
    /// let input = pipeline.publisher::<(Option<&'static str>, u64)>()?;
    /// input.try_publish((Some("ask"), 0)).unwrap();
    /// for lane in 0..4 {
    ///     input.try_publish((None, lane)).unwrap();
    /// }
    /// let report = pipeline.shutdown(Duration::from_secs(5));
    /// assert_eq!(report.stage("words").unwrap().processed, 5);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn keyed_by_digest(self, digest: impl Fn(&H::In) -> u64 + Send + Sync + 'static) -> Self {
        self.decl.key = Some(Arc::new(digest));
        self
    }

    /// Subscribes on `topic` instead of the untopiced stream of the input type.
    pub fn topic(self, topic: &'static str) -> Self {
        self.decl.topic = Some(topic);
        self
    }

    /// What to do after the handler panics.
    pub fn on_panic(self, policy: OnPanic) -> Self {
        self.decl.on_panic = policy;
        self
    }
}
