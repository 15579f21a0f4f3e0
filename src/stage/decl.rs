//! A stage as declared, with its types erased so the pipeline builder can hold any mix, and
//! the factories that turn it into its run-time parts: queue, route, lane slots, domain.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, Weak};

use crate::bus::{Bus, LaneStage, RouteKey, RouteTable};
use crate::config::StageConfig;
use crate::domain::{Domain, DomainTask};
use crate::event::{Event, KeyFn};
use crate::queue::handoff::LaneRunner;
use crate::queue::Queue;
use crate::stage::handler::{Handler, OnPanic};
use crate::stage::runner::{StageShared, StageSlot};
use crate::stats::StageStats;

pub(crate) type AnyArc = Arc<dyn Any + Send + Sync>;

/// A stage as declared, with its types erased so the builder can hold any mix.
pub(crate) trait StageDecl {
    fn name(&self) -> &str;
    fn config(&self) -> &StageConfig;
    fn keyed(&self) -> bool;
    fn problem(&self) -> Option<&str>;
    /// Runs futures (an async stage): it must lead its domain alone.
    fn is_async(&self) -> bool {
        false
    }
    fn route_key(&self) -> RouteKey;
    fn in_type_name(&self) -> &'static str;
    fn as_any_mut(&mut self) -> &mut dyn Any;
    fn make_queue(&self, stats: &Arc<StageStats>) -> AnyArc;
    fn add_route(
        &self,
        routes: &mut HashMap<RouteKey, Box<dyn Any + Send + Sync>>,
        index: usize,
        queue: Option<&AnyArc>,
    );
    fn shared(&self, index: usize, name: Arc<str>, stats: Arc<StageStats>, entry: bool) -> AnyArc;
    fn lane_stage(&self, shared: &AnyArc, lane: usize) -> Option<Box<dyn LaneStage>>;
    fn domain(
        &self,
        queue: &AnyArc,
        lanes: Vec<Vec<Box<dyn LaneStage>>>,
        bus: Arc<Bus>,
        stats: Arc<StageStats>,
    ) -> Option<Arc<dyn DomainTask>>;
}

/// A stage as declared, typed: what [`StageBuilder`](super::StageBuilder) fills in.
pub(crate) struct TypedDecl<H: Handler> {
    pub(super) name: String,
    factory: Arc<dyn Fn() -> H + Send + Sync>,
    pub(super) config: StageConfig,
    pub(super) key: Option<KeyFn<H::In>>,
    pub(super) topic: Option<&'static str>,
    pub(super) on_panic: OnPanic,
    /// A setter's refusal, reported at build.
    pub(super) problem: Option<String>,
}

impl<H: Handler> TypedDecl<H> {
    /// A stage named `name` with the default configuration; `factory` makes a handler per lane.
    pub(crate) fn new(name: String, factory: Arc<dyn Fn() -> H + Send + Sync>) -> Self {
        TypedDecl {
            name,
            factory,
            config: StageConfig::default(),
            key: None,
            topic: None,
            on_panic: OnPanic::default(),
            problem: None,
        }
    }
}

impl<H: Handler> StageDecl for TypedDecl<H> {
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

    fn shared(&self, index: usize, name: Arc<str>, stats: Arc<StageStats>, entry: bool) -> AnyArc {
        Arc::new(Arc::new(StageShared {
            index,
            name,
            stats,
            key: self.key.clone(),
            on_panic: self.on_panic,
            entry,
        }))
    }

    fn lane_stage(&self, shared: &AnyArc, lane: usize) -> Option<Box<dyn LaneStage>> {
        let shared = shared.downcast_ref::<Arc<StageShared<H::In>>>()?.clone();
        Some(Box::new(StageSlot::new((self.factory)(), shared, lane)))
    }

    fn domain(
        &self,
        queue: &AnyArc,
        lanes: Vec<Vec<Box<dyn LaneStage>>>,
        bus: Arc<Bus>,
        stats: Arc<StageStats>,
    ) -> Option<Arc<dyn DomainTask>> {
        let queue = queue.downcast_ref::<Arc<Queue<H::In>>>()?.clone();
        let domain = Arc::new(Domain::new(queue.clone(), lanes, bus, stats));
        let runner: Weak<dyn LaneRunner> = Arc::downgrade(&domain) as Weak<Domain<H::In>>;
        queue.set_domain(runner);
        Some(domain)
    }
}

/// The queue of a stage taking `E` that leads its domain.
pub(crate) fn make_queue<E: Event>(
    c: &StageConfig,
    key: Option<KeyFn<E>>,
    stats: &Arc<StageStats>,
) -> AnyArc {
    let lanes = c.lane_count(key.is_some());
    Arc::new(Arc::new(
        Queue::<E>::new(
            c.capacity.get(),
            c.when_full,
            lanes,
            key,
            stats.clone(),
            c.batch.initial.get(),
        )
        .with_handoff(c.handoff),
    ))
}

/// Subscribes stage `index` (taking `E` on `route`) in the bus's route tables.
pub(crate) fn add_route<E: Event>(
    routes: &mut HashMap<RouteKey, Box<dyn Any + Send + Sync>>,
    route: RouteKey,
    index: usize,
    queue: Option<&AnyArc>,
) {
    let queue = queue
        .and_then(|q| q.downcast_ref::<Arc<Queue<E>>>())
        .cloned();
    let table = routes.entry(route).or_insert_with(|| {
        Box::new(RouteTable::<E> {
            subscribers: Vec::new(),
        })
    });
    if let Some(t) = table.downcast_mut::<RouteTable<E>>() {
        t.subscribers.push((index, queue));
    }
}
