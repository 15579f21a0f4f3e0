//! A stage as declared, with its types erased so the pipeline builder can hold any mix, and
//! the factories that turn it into its run-time parts: queue, route, lane slots, domain.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::marker::PhantomData;
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
    fn is_async(&self) -> bool;
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

/// What differs between the kinds of stage (sync handlers, async handlers): the run-time
/// parts a declaration turns into. Everything else a [`Decl`] does is the same for all.
pub(crate) trait Kind: Sized + 'static {
    type In: Event;
    type Handler;
    /// Runs futures: the stage must lead its domain alone.
    const ASYNC: bool;
    fn shared(
        decl: &Decl<Self>,
        index: usize,
        name: Arc<str>,
        stats: Arc<StageStats>,
        entry: bool,
    ) -> AnyArc;
    fn lane_stage(decl: &Decl<Self>, shared: &AnyArc, lane: usize) -> Option<Box<dyn LaneStage>>;
    fn domain(
        decl: &Decl<Self>,
        queue: &AnyArc,
        lanes: Vec<Vec<Box<dyn LaneStage>>>,
        bus: Arc<Bus>,
        stats: Arc<StageStats>,
    ) -> Option<Arc<dyn DomainTask>>;
}

/// A stage as declared, typed: what [`StageBuilder`](super::StageBuilder) (or
/// [`AsyncStageBuilder`](crate::AsyncStageBuilder)) fills in.
pub(crate) struct Decl<K: Kind> {
    pub(crate) name: String,
    pub(crate) factory: Arc<dyn Fn() -> K::Handler + Send + Sync>,
    pub(crate) config: StageConfig,
    pub(crate) key: Option<KeyFn<K::In>>,
    pub(crate) topic: Option<&'static str>,
    pub(crate) on_panic: OnPanic,
    /// A setter's refusal, reported at build.
    pub(crate) problem: Option<String>,
    /// What the kind adds to the declaration.
    pub(crate) kind: K,
}

impl<K: Kind> Decl<K> {
    /// Sets the queue capacity; 0 is kept as the problem reported at build.
    pub(crate) fn set_capacity(&mut self, events: usize) {
        match std::num::NonZeroUsize::new(events) {
            Some(n) => self.config.capacity = n,
            None => self.problem = Some("capacity must be at least 1".into()),
        }
    }

    /// Keys the stage by `key`, hashed to a digest.
    pub(crate) fn set_key<Q: std::hash::Hash>(
        &mut self,
        key: impl Fn(&K::In) -> Q + Send + Sync + 'static,
    ) {
        self.key = Some(Arc::new(move |e: &K::In| crate::event::key_hash(&key(e))));
    }

    /// A stage named `name` with `config`; `factory` makes a handler per lane.
    pub(crate) fn with_kind(
        name: String,
        factory: Arc<dyn Fn() -> K::Handler + Send + Sync>,
        config: StageConfig,
        kind: K,
    ) -> Self {
        Decl {
            name,
            factory,
            config,
            key: None,
            topic: None,
            on_panic: OnPanic::default(),
            problem: None,
            kind,
        }
    }
}

/// The kind of a stage whose [`Handler`] runs batches on its domain's threads.
pub(crate) struct SyncKind<H>(PhantomData<fn() -> H>);

/// A sync stage as declared.
pub(crate) type TypedDecl<H> = Decl<SyncKind<H>>;

impl<H: Handler> TypedDecl<H> {
    /// A stage named `name` with the default configuration; `factory` makes a handler per lane.
    pub(crate) fn new(name: String, factory: Arc<dyn Fn() -> H + Send + Sync>) -> Self {
        Decl::with_kind(name, factory, StageConfig::default(), SyncKind(PhantomData))
    }
}

impl<K: Kind> StageDecl for Decl<K> {
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
        K::ASYNC
    }

    fn route_key(&self) -> RouteKey {
        (TypeId::of::<K::In>(), self.topic)
    }

    fn in_type_name(&self) -> &'static str {
        std::any::type_name::<K::In>()
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }

    fn make_queue(&self, stats: &Arc<StageStats>) -> AnyArc {
        let c = &self.config;
        Arc::new(Arc::new(
            Queue::<K::In>::new(
                c.capacity.get(),
                c.when_full,
                c.lane_count(self.keyed()),
                self.key.clone(),
                stats.clone(),
                c.batch.initial.get(),
            )
            .with_handoff(c.handoff),
        ))
    }

    fn add_route(
        &self,
        routes: &mut HashMap<RouteKey, Box<dyn Any + Send + Sync>>,
        index: usize,
        queue: Option<&AnyArc>,
    ) {
        let queue = queue
            .and_then(|q| q.downcast_ref::<Arc<Queue<K::In>>>())
            .cloned();
        let table = routes.entry(self.route_key()).or_insert_with(|| {
            Box::new(RouteTable::<K::In> {
                subscribers: Vec::new(),
            })
        });
        if let Some(t) = table.downcast_mut::<RouteTable<K::In>>() {
            t.subscribers.push((index, queue));
        }
    }

    fn shared(&self, index: usize, name: Arc<str>, stats: Arc<StageStats>, entry: bool) -> AnyArc {
        K::shared(self, index, name, stats, entry)
    }

    fn lane_stage(&self, shared: &AnyArc, lane: usize) -> Option<Box<dyn LaneStage>> {
        K::lane_stage(self, shared, lane)
    }

    fn domain(
        &self,
        queue: &AnyArc,
        lanes: Vec<Vec<Box<dyn LaneStage>>>,
        bus: Arc<Bus>,
        stats: Arc<StageStats>,
    ) -> Option<Arc<dyn DomainTask>> {
        K::domain(self, queue, lanes, bus, stats)
    }
}

impl<H: Handler> Kind for SyncKind<H> {
    type In = H::In;
    type Handler = H;
    const ASYNC: bool = false;

    fn shared(
        decl: &Decl<Self>,
        index: usize,
        name: Arc<str>,
        stats: Arc<StageStats>,
        entry: bool,
    ) -> AnyArc {
        Arc::new(Arc::new(StageShared {
            index,
            name,
            stats,
            key: decl.key.clone(),
            on_panic: decl.on_panic,
            entry,
        }))
    }

    fn lane_stage(decl: &Decl<Self>, shared: &AnyArc, lane: usize) -> Option<Box<dyn LaneStage>> {
        let shared = shared.downcast_ref::<Arc<StageShared<H::In>>>()?.clone();
        Some(Box::new(StageSlot::new((decl.factory)(), shared, lane)))
    }

    fn domain(
        _decl: &Decl<Self>,
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
