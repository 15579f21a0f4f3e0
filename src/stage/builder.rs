//! Declaring a pipeline: stages (code) and their placement (domains).

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::hash::Hash;
use std::num::NonZeroUsize;
use std::sync::{Arc, Weak};
use std::time::Duration;

use crate::bus::{
    Bus, DeadLetter, DeadLetterFn, DeadLetters, LaneStage, Place, RouteKey, RouteTable,
};
use crate::config::{StageConfig, WhenFull};
use crate::domain::{Domain, DomainTask, Plan};
use crate::error::BuildError;
use crate::event::{key_hash, Event, KeyFn};
use crate::internal_events::stage::{StageInfo, StageMetrics};
use crate::lifecycle::{DomainRt, Pipeline, StageRt};
use crate::queue::handoff::LaneRunner;
use crate::queue::Queue;
use crate::stage::handler::{Handler, OnPanic};
use crate::stage::runner::{StageShared, StageSlot};
use crate::stats::StageStats;

type AnyArc = Arc<dyn Any + Send + Sync>;

/// A stage as declared, with its types erased so the builder can hold any mix.
trait StageDecl {
    fn name(&self) -> &str;
    fn config(&self) -> &StageConfig;
    fn keyed(&self) -> bool;
    fn problem(&self) -> Option<&str>;
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

struct TypedDecl<H: Handler> {
    name: String,
    factory: Arc<dyn Fn() -> H + Send + Sync>,
    config: StageConfig,
    key: Option<KeyFn<H::In>>,
    topic: Option<&'static str>,
    on_panic: OnPanic,
    problem: Option<String>,
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
        let c = &self.config;
        Arc::new(Arc::new(
            Queue::<H::In>::new(
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
            .and_then(|q| q.downcast_ref::<Arc<Queue<H::In>>>())
            .cloned();
        let table = routes.entry(self.route_key()).or_insert_with(|| {
            Box::new(RouteTable::<H::In> {
                subscribers: Vec::new(),
            })
        });
        if let Some(t) = table.downcast_mut::<RouteTable<H::In>>() {
            t.subscribers.push((index, queue));
        }
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

/// Declares a pipeline. See [`Pipeline::builder`].
pub struct PipelineBuilder {
    stages: Vec<Box<dyn StageDecl>>,
    fused: Vec<Vec<String>>,
    cloners: HashMap<TypeId, Box<dyn Any + Send + Sync>>,
    dead_letter: Option<DeadLetterFn>,
    tick: Duration,
}

impl std::fmt::Debug for PipelineBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PipelineBuilder")
            .field(
                "stages",
                &self.stages.iter().map(|s| s.name()).collect::<Vec<_>>(),
            )
            .field("fused", &self.fused)
            .finish()
    }
}

impl Default for PipelineBuilder {
    fn default() -> Self {
        PipelineBuilder {
            stages: Vec::new(),
            fused: Vec::new(),
            cloners: HashMap::new(),
            dead_letter: None,
            tick: Duration::from_millis(100),
        }
    }
}

impl PipelineBuilder {
    /// Adds a stage subscribed to its handler's input type. `factory` makes one handler per
    /// lane. Stages are declared in pipeline order (the order shutdown drains them in).
    pub fn stage<H, F>(&mut self, name: impl Into<String>, factory: F) -> StageBuilder<'_, H>
    where
        H: Handler,
        F: Fn() -> H + Send + Sync + 'static,
    {
        self.stages.push(Box::new(TypedDecl::<H> {
            name: name.into(),
            factory: Arc::new(factory),
            config: StageConfig::default(),
            key: None,
            topic: None,
            on_panic: OnPanic::default(),
            problem: None,
        }));
        let decl = self
            .stages
            .last_mut()
            .and_then(|d| d.as_any_mut().downcast_mut::<TypedDecl<H>>())
            .expect("the stage just pushed has this type");
        StageBuilder { decl }
    }

    /// Fuses consecutive stages into one domain: one queue and pool, direct calls between them.
    pub fn fuse<I, S>(&mut self, stages: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.fused
            .push(stages.into_iter().map(Into::into).collect());
        self
    }

    /// Lets several stages subscribe to `T`: each gets a clone.
    pub fn fan_out<T: Event + Clone>(&mut self) -> &mut Self {
        let clone: fn(&T) -> T = T::clone;
        self.cloners.insert(TypeId::of::<T>(), Box::new(clone));
        self
    }

    /// Hands every dead letter to `f` (they are counted either way).
    pub fn on_dead_letter(&mut self, f: impl Fn(DeadLetter) + Send + Sync + 'static) -> &mut Self {
        self.dead_letter = Some(Arc::new(f));
        self
    }

    /// How often the pool and batch controllers look at the stages (default 100 ms).
    pub fn controller_interval(&mut self, every: Duration) -> &mut Self {
        self.tick = every.max(Duration::from_millis(1));
        self
    }

    /// Validates the declaration and builds the pipeline (not started).
    ///
    /// # Errors
    /// See [`BuildError`].
    pub fn build(self) -> Result<Pipeline, BuildError> {
        if self.stages.is_empty() {
            return Err(BuildError::Empty);
        }
        let mut seen = std::collections::HashSet::new();
        for s in &self.stages {
            if !seen.insert(s.name()) {
                return Err(BuildError::DuplicateStage(s.name().to_owned()));
            }
            let problem = s
                .problem()
                .map(str::to_owned)
                .or_else(|| s.config().validate().err());
            if let Some(message) = problem {
                return Err(BuildError::Config {
                    stage: s.name().to_owned(),
                    message,
                });
            }
        }
        let names: Vec<&str> = self.stages.iter().map(|s| s.name()).collect();
        let keyed: Vec<bool> = self.stages.iter().map(|s| s.keyed()).collect();
        let single_lane: Vec<bool> = self
            .stages
            .iter()
            .map(|s| s.config().lane_count(s.keyed()) == 1)
            .collect();
        let plan = Plan::new(&names, &keyed, &single_lane, &self.fused)?;

        let mut places = vec![None; self.stages.len()];
        for (d, members) in plan.domains.iter().enumerate() {
            for (position, &s) in members.iter().enumerate() {
                places[s] = Some(Place {
                    name: Arc::from(names[s]),
                    domain: d,
                    position,
                });
            }
        }
        let places: Vec<Place> = places.into_iter().flatten().collect();

        let mut stats = Vec::with_capacity(self.stages.len());
        let mut queues: Vec<Option<AnyArc>> = Vec::with_capacity(self.stages.len());
        for (i, s) in self.stages.iter().enumerate() {
            let place = &places[i];
            let entry_of_domain = plan.domains[place.domain][0];
            let entry = place.position == 0;
            let info = StageInfo {
                position: i,
                domain: Arc::from(names[entry_of_domain]),
                entry,
                keyed: s.keyed(),
                when_full: s.config().when_full.as_str(),
            };
            let st = Arc::new(StageStats::new(StageMetrics::register(&place.name, &info)));
            queues.push(entry.then(|| s.make_queue(&st)));
            stats.push(st);
        }

        let mut routes = HashMap::new();
        let mut subscribers: HashMap<RouteKey, usize> = HashMap::new();
        for (i, s) in self.stages.iter().enumerate() {
            s.add_route(&mut routes, i, queues[i].as_ref());
            *subscribers.entry(s.route_key()).or_default() += 1;
        }
        for (key, n) in &subscribers {
            if *n > 1 && !self.cloners.contains_key(&key.0) {
                let stage = self.stages.iter().find(|s| s.route_key() == *key);
                return Err(BuildError::FanOutNeedsClone {
                    event_type: stage.map_or("?", |s| s.in_type_name()),
                });
            }
        }
        let bus = Arc::new(Bus {
            routes,
            cloners: self.cloners,
            places: places.clone(),
            dead: DeadLetters::new(self.dead_letter),
        });

        let mut stage_rts = Vec::with_capacity(self.stages.len());
        let mut shared = Vec::with_capacity(self.stages.len());
        for (i, s) in self.stages.iter().enumerate() {
            let entry = places[i].position == 0;
            shared.push(s.shared(i, places[i].name.clone(), stats[i].clone(), entry));
            stage_rts.push(StageRt {
                name: places[i].name.clone(),
                stats: stats[i].clone(),
                domain: places[i].domain,
                entry,
            });
        }
        let mut domains = Vec::with_capacity(plan.domains.len());
        for members in &plan.domains {
            let entry = members[0];
            let decl = &self.stages[entry];
            let queue = queues[entry].as_ref().ok_or_else(|| {
                BuildError::Placement(format!(
                    "stage `{}` leads a domain without a queue",
                    names[entry]
                ))
            })?;
            let lane_count = decl.config().lane_count(decl.keyed());
            let mut lanes = Vec::with_capacity(lane_count);
            for lane in 0..lane_count {
                let chain: Option<Vec<_>> = members
                    .iter()
                    .map(|&s| self.stages[s].lane_stage(&shared[s], lane))
                    .collect();
                lanes.push(chain.ok_or_else(|| internal(names[entry]))?);
            }
            let task = decl
                .domain(queue, lanes, bus.clone(), stats[entry].clone())
                .ok_or_else(|| internal(names[entry]))?;
            domains.push(DomainRt::new(
                places[entry].name.clone(),
                task,
                decl.config().clone(),
            ));
        }
        Ok(Pipeline::new(bus, stage_rts, domains, self.tick))
    }
}

fn internal(stage: &str) -> BuildError {
    BuildError::Placement(format!(
        "stage `{stage}`: internal type mismatch while building"
    ))
}

/// Configures the stage just declared. Methods consume and return the builder for chaining.
pub struct StageBuilder<'a, H: Handler> {
    decl: &'a mut TypedDecl<H>,
}

impl<H: Handler> std::fmt::Debug for StageBuilder<'_, H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StageBuilder")
            .field("name", &self.decl.name)
            .finish()
    }
}

impl<H: Handler> StageBuilder<'_, H> {
    /// Replaces the whole configuration (for example one read from TOML).
    pub fn config(self, config: StageConfig) -> Self {
        self.decl.config = config;
        self
    }

    /// Queue capacity in events (0 is refused at build).
    pub fn capacity(self, events: usize) -> Self {
        match NonZeroUsize::new(events) {
            Some(n) => self.decl.config.capacity = n,
            None => self.decl.problem = Some("capacity must be at least 1".into()),
        }
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
        self.decl.key = Some(Arc::new(move |e: &H::In| key_hash(&key(e))));
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
