//! An async stage as declared, and the factories that turn it into its run-time parts.

use std::num::NonZeroUsize;
use std::sync::{Arc, OnceLock, Weak};

use tokio::runtime::Handle;

use super::domain::{AsyncDomain, AsyncLane};
use super::handler::AsyncHandler;
use super::limiter::Limiter;
use super::shared::{AsyncShared, Wired};
use crate::bus::{Bus, LaneStage};
use crate::config::{BatchConfig, PoolConfig, StageConfig};
use crate::domain::DomainTask;
use crate::queue::handoff::LaneRunner;
use crate::queue::Queue;
use crate::stage::decl::{AnyArc, Decl, Kind};
use crate::stats::StageStats;

/// Lanes of an async stage unless set: output is delivered in order per lane, so more lanes
/// mean less waiting behind a slow call; each lane is one task on the runtime.
const LANES: usize = 4;
/// Default bounds of the in-flight limit.
const MIN_IN_FLIGHT: usize = 1;
const MAX_IN_FLIGHT: usize = 256;

/// What an async stage adds to its declaration.
pub(crate) struct AsyncKind<H: AsyncHandler> {
    pub(super) in_flight: (usize, usize),
    pub(super) runtime: Option<Handle>,
    /// What `shared` made, for `domain` to wire.
    built: OnceLock<Arc<AsyncShared<H::In>>>,
}

/// An async stage as declared: what [`AsyncStageBuilder`](super::AsyncStageBuilder) fills in.
pub(crate) type AsyncDecl<H> = Decl<AsyncKind<H>>;

impl<H: AsyncHandler> AsyncDecl<H> {
    /// An async stage named `name` with the default configuration, on `runtime` (the
    /// engine's, or `Err` if it could not start).
    pub(crate) fn new(
        name: String,
        factory: Arc<dyn Fn() -> H + Send + Sync>,
        runtime: std::io::Result<Handle>,
    ) -> Self {
        let (runtime, problem) = match runtime {
            Ok(h) => (Some(h), None),
            Err(e) => (None, Some(format!("the async runtime did not start: {e}"))),
        };
        let kind = AsyncKind {
            in_flight: (MIN_IN_FLIGHT, MAX_IN_FLIGHT),
            runtime,
            built: OnceLock::new(),
        };
        let mut decl = Decl::with_kind(name, factory, async_config(StageConfig::default()), kind);
        decl.problem = problem;
        decl
    }
}

/// `config` as an async stage runs it: one dispatching thread (the calls run on the runtime),
/// no batch controller (the limiter decides how many events leave the queue).
pub(super) fn async_config(config: StageConfig) -> StageConfig {
    StageConfig {
        lanes: config.lanes.or(NonZeroUsize::new(LANES)),
        pool: PoolConfig::fixed(NonZeroUsize::MIN),
        batch: BatchConfig {
            adaptive: false,
            ..config.batch
        },
        ..config
    }
}

impl<H: AsyncHandler> Kind for AsyncKind<H> {
    type In = H::In;
    type Handler = H;
    const ASYNC: bool = true;

    fn shared(
        decl: &Decl<Self>,
        index: usize,
        name: Arc<str>,
        stats: Arc<StageStats>,
        _entry: bool,
    ) -> AnyArc {
        let (min, max) = decl.kind.in_flight;
        let shared = Arc::new(AsyncShared {
            index,
            name,
            stats,
            key: decl.key.clone(),
            on_panic: decl.on_panic,
            limiter: Arc::new(Limiter::new(min, max)),
            wired: OnceLock::new(),
            halt: Default::default(),
            active: Default::default(),
        });
        let _ = decl.kind.built.set(shared.clone());
        Arc::new(shared)
    }

    fn lane_stage(decl: &Decl<Self>, shared: &AnyArc, lane: usize) -> Option<Box<dyn LaneStage>> {
        let shared = shared.downcast_ref::<Arc<AsyncShared<H::In>>>()?.clone();
        let runtime = decl.kind.runtime.clone()?;
        Some(Box::new(AsyncLane::new(
            shared,
            runtime,
            (decl.factory)(),
            lane,
        )))
    }

    fn domain(
        decl: &Decl<Self>,
        queue: &AnyArc,
        lanes: Vec<Vec<Box<dyn LaneStage>>>,
        bus: Arc<Bus>,
        _stats: Arc<StageStats>,
    ) -> Option<Arc<dyn DomainTask>> {
        let queue = queue.downcast_ref::<Arc<Queue<H::In>>>()?.clone();
        // Every lane holds this stage alone (an async stage is never fused).
        let lanes: Vec<Box<dyn LaneStage>> = lanes
            .into_iter()
            .filter_map(|c| c.into_iter().next())
            .collect();
        let shared = decl.kind.built.get()?.clone();
        let _ = shared.wired.set(Wired {
            queue: queue.clone(),
            bus: bus.clone(),
        });
        let domain = Arc::new(AsyncDomain::new(shared, queue.clone(), lanes, bus));
        let runner: Weak<dyn LaneRunner> = Arc::downgrade(&domain) as Weak<AsyncDomain<H::In>>;
        queue.set_domain(runner);
        Some(domain)
    }
}
