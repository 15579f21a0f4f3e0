//! Configuring one declared async stage: queue, lanes, in-flight bounds, keys, runtime.

use std::hash::Hash;
use std::num::NonZeroUsize;
use std::sync::Arc;

use tokio::runtime::Handle;

use super::decl::{async_config, AsyncDecl};
use super::executor;
use super::handler::AsyncHandler;
use crate::config::{StageConfig, WhenFull};
use crate::stage::{OnPanic, StageId};

/// Configures the async stage just declared (see
/// [`PipelineBuilder::async_stage`](crate::PipelineBuilder::async_stage)). Methods consume
/// and return the builder for chaining.
///
/// # Examples
/// ```
/// use sedaflow::{AsyncHandler, BuildError, Context, Pipeline, WhenFull};
///
/// struct Lookup;
/// impl AsyncHandler for Lookup {
///     type In = (u32, String);
///     async fn handle(&self, _order: (u32, String), _ctx: &mut Context<'_>) {}
/// }
///
/// let mut p = Pipeline::builder();
/// p.async_stage("lookup", || Lookup)
///     .capacity(4096)
///     .when_full(WhenFull::Block)
///     .concurrency(4, 512)
///     .keyed_by(|(account, _)| *account);
/// assert!(p.build().is_ok());
///
/// let mut p = Pipeline::builder();
/// p.async_stage("lookup", || Lookup).concurrency(8, 4);
/// assert_eq!(
///     p.build().unwrap_err(),
///     BuildError::Config {
///         stage: "lookup".into(),
///         message: "concurrency bounds must be 1 <= min <= max".into(),
///     }
/// );
/// ```
pub struct AsyncStageBuilder<'a, H: AsyncHandler> {
    decl: &'a mut AsyncDecl<H>,
    /// The stage's position in pipeline order.
    position: usize,
}

impl<'a, H: AsyncHandler> AsyncStageBuilder<'a, H> {
    pub(crate) fn new(decl: &'a mut AsyncDecl<H>, position: usize) -> Self {
        AsyncStageBuilder { decl, position }
    }
}

impl<H: AsyncHandler> std::fmt::Debug for AsyncStageBuilder<'_, H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncStageBuilder")
            .field("name", &self.decl.name)
            .finish()
    }
}

impl<H: AsyncHandler> AsyncStageBuilder<'_, H> {
    /// The stage's id, for lookups in the built pipeline and its reports (see [`StageId`]).
    pub fn id(&self) -> StageId {
        StageId::new(self.position, &self.decl.name)
    }

    /// Replaces the queue configuration (for example one read from TOML). Pool and batch
    /// settings do not apply: one thread dispatches lanes, and events leave the queue as
    /// the in-flight limit has room for them.
    pub fn config(self, config: StageConfig) -> Self {
        self.decl.config = async_config(config);
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

    /// Lanes (default 4): output is delivered in arrival order per lane, so a slow call
    /// holds back the output of later calls of its lane only (0 is refused at build).
    pub fn lanes(self, n: usize) -> Self {
        match NonZeroUsize::new(n) {
            Some(n) => self.decl.config.lanes = Some(n),
            None => self.decl.problem = Some("lanes must be at least 1".into()),
        }
        self
    }

    /// Bounds of the in-flight limit (default 1..=256): the controller starts at `min` and
    /// moves between the bounds, growing while latency stays flat and events wait, cutting
    /// when latency rises. `max` is the most calls the service should ever see at once.
    pub fn concurrency(self, min: usize, max: usize) -> Self {
        if min >= 1 && min <= max {
            self.decl.kind.in_flight = (min, max);
        } else {
            self.decl.problem = Some("concurrency bounds must be 1 <= min <= max".into());
        }
        self
    }

    /// Makes the stage keyed: a key's events are handled one after another, in arrival
    /// order, while other keys' calls run meanwhile.
    pub fn keyed_by<K: Hash>(self, key: impl Fn(&H::In) -> K + Send + Sync + 'static) -> Self {
        self.decl.set_key(key);
        self
    }

    /// Makes the stage keyed by a digest the caller computes (see
    /// [`StageBuilder::keyed_by_digest`](crate::StageBuilder::keyed_by_digest)).
    pub fn keyed_by_digest(self, digest: impl Fn(&H::In) -> u64 + Send + Sync + 'static) -> Self {
        self.decl.key = Some(Arc::new(digest));
        self
    }

    /// Subscribes on `topic` instead of the untopiced stream of the input type.
    pub fn topic(self, topic: &'static str) -> Self {
        self.decl.topic = Some(topic);
        self
    }

    /// What to do after a call panics.
    pub fn on_panic(self, policy: OnPanic) -> Self {
        self.decl.on_panic = policy;
        self
    }

    /// Runs the calls on the embedder's runtime instead of the engine's (one shared
    /// multi-threaded runtime, a worker per core). It must be multi-threaded: a call's
    /// output is delivered with `block_in_place`, as a full downstream queue may block.
    pub fn runtime(self, handle: Handle) -> Self {
        match executor::refusal(&handle) {
            Some(problem) => self.decl.problem = Some(problem),
            None => self.decl.kind.runtime = Some(handle),
        }
        self
    }
}
