//! An async stage as declared, and the factories that turn it into its run-time parts.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::{Arc, OnceLock, Weak};

use tokio::runtime::Handle;

use super::domain::{AsyncDomain, AsyncLane};
use super::handler::AsyncHandler;
use super::limiter::Limiter;
use super::shared::{AsyncShared, Wired};
use crate::bus::{Bus, LaneStage, RouteKey};
use crate::config::{BatchConfig, PoolConfig, StageConfig};
use crate::domain::DomainTask;
use crate::event::KeyFn;
use crate::queue::handoff::LaneRunner;
use crate::queue::Queue;
use crate::stage::decl::{add_route, make_queue, AnyArc, StageDecl};
use crate::stage::OnPanic;
use crate::stats::StageStats;

/// Lanes of an async stage unless set: output is delivered in order per lane, so more lanes
/// mean less waiting behind a slow call; each lane is one task on the runtime.
const LANES: usize = 4;
/// Default bounds of the in-flight limit.
const MIN_IN_FLIGHT: usize = 1;
const MAX_IN_FLIGHT: usize = 256;

/// An async stage as declared: what [`AsyncStageBuilder`](super::AsyncStageBuilder) fills in.
pub(crate) struct AsyncDecl<H: AsyncHandler> {
    pub(super) name: String,
    factory: Arc<dyn Fn() -> H + Send + Sync>,
    pub(super) config: StageConfig,
    pub(super) key: Option<KeyFn<H::In>>,
    pub(super) topic: Option<&'static str>,
    pub(super) on_panic: OnPanic,
    pub(super) in_flight: (usize, usize),
    pub(super) runtime: Option<Handle>,
    pub(super) problem: Option<String>,
    /// What `shared` made, for `domain` to wire.
    built: OnceLock<Arc<AsyncShared<H::In>>>,
}

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
        AsyncDecl {
            name,
            factory,
            config: async_config(StageConfig::default()),
            key: None,
            topic: None,
            on_panic: OnPanic::default(),
            in_flight: (MIN_IN_FLIGHT, MAX_IN_FLIGHT),
            runtime,
            problem,
            built: OnceLock::new(),
        }
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

impl<H: AsyncHandler> StageDecl for AsyncDecl<H> {
    fn name(&self) -> &str {
        &self.name
    }

    fn config(&self) -> &StageConfig {
        &self.config
    }

    fn keyed(&self) -> bool {
        self.key.is_some()
    }

    fn problem(&self) -> Option<&str> {
        self.problem.as_deref()
    }

    fn is_async(&self) -> bool {
        true
    }

    fn route_key(&self) -> RouteKey {
        (TypeId::of::<H::In>(), self.topic)
    }

    fn in_type_name(&self) -> &'static str {
        std::any::type_name::<H::In>()
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }

    fn make_queue(&self, stats: &Arc<StageStats>) -> AnyArc {
        make_queue(&self.config, self.key.clone(), stats)
    }

    fn add_route(
        &self,
        routes: &mut HashMap<RouteKey, Box<dyn Any + Send + Sync>>,
        index: usize,
        queue: Option<&AnyArc>,
    ) {
        add_route::<H::In>(routes, self.route_key(), index, queue);
    }

    fn shared(&self, index: usize, name: Arc<str>, stats: Arc<StageStats>, _entry: bool) -> AnyArc {
        let (min, max) = self.in_flight;
        let shared = Arc::new(AsyncShared {
            index,
            name,
            stats,
            key: self.key.clone(),
            on_panic: self.on_panic,
            limiter: Arc::new(Limiter::new(min, max)),
            wired: OnceLock::new(),
            halt: Default::default(),
            active: Default::default(),
        });
        let _ = self.built.set(shared.clone());
        Arc::new(shared)
    }

    fn lane_stage(&self, shared: &AnyArc, lane: usize) -> Option<Box<dyn LaneStage>> {
        let shared = shared.downcast_ref::<Arc<AsyncShared<H::In>>>()?.clone();
        let runtime = self.runtime.clone()?;
        Some(Box::new(AsyncLane::new(
            shared,
            runtime,
            (self.factory)(),
            lane,
        )))
    }

    fn domain(
        &self,
        queue: &AnyArc,
        lanes: Vec<Vec<Box<dyn LaneStage>>>,
        bus: Arc<Bus>,
        _stats: Arc<StageStats>,
    ) -> Option<Arc<dyn DomainTask>> {
        let queue = queue.downcast_ref::<Arc<Queue<H::In>>>()?.clone();
        // The lane stages carry the shared part; every lane holds this stage alone.
        let lanes: Vec<Box<dyn LaneStage>> = lanes
            .into_iter()
            .filter_map(|c| c.into_iter().next())
            .collect();
        let shared = self.built.get()?.clone();
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
