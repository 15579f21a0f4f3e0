//! Declaring a pipeline: stages (code) and their placement (domains), checked and assembled
//! into a [`Pipeline`] by [`PipelineBuilder::build`].
//!
//! Building goes in steps, each its own function: validate the declarations, plan the
//! domains, give each stage its counters (and its queue, if it leads a domain), wire the bus,
//! then make every domain's lanes.

use std::any::{Any, TypeId};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use crate::async_stage::decl::AsyncDecl;
use crate::async_stage::{self, AsyncHandler, AsyncStageBuilder};
use crate::bus::{Bus, DeadLetter, DeadLetterFn, DeadLetters, Place, RouteKey};
use crate::domain::Plan;
use crate::error::BuildError;
use crate::event::Event;
use crate::external::{ExternalDecl, ExternalQueue, ExternalStageBuilder};
use crate::internal_events::stage::{StageInfo, StageMetrics};
use crate::pipeline::Pipeline;
use crate::runtime::{DomainRt, Runs, StageRt};
use crate::stage::decl::{AnyArc, StageDecl, TypedDecl};
use crate::stage::{Handler, StageBuilder};
use crate::stats::StageStats;

impl Pipeline {
    /// Starts declaring a pipeline.
    ///
    /// # Examples
    /// ```
    /// use sedaflow::{handler_fn, Batch, BuildError, Pipeline};
    ///
    /// assert_eq!(Pipeline::builder().build().unwrap_err(), BuildError::Empty);
    /// let mut p = Pipeline::builder();
    /// p.stage("sink", || handler_fn(|batch: &mut Batch<'_, u32>, _ctx| batch.for_each(drop)));
    /// assert!(p.build().is_ok());
    /// ```
    pub fn builder() -> PipelineBuilder {
        PipelineBuilder::default()
    }
}

/// Declares a pipeline. See [`Pipeline::builder`].
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use sedaflow::{handler_fn, Batch, BuildError, Pipeline, PipelineBuilder};
///
/// fn declare() -> PipelineBuilder {
///     let mut p = Pipeline::builder();
///     p.stage("audit", || handler_fn(|b: &mut Batch<'_, u32>, _ctx| b.for_each(drop)));
///     p.stage("sum", || handler_fn(|b: &mut Batch<'_, u32>, _ctx| b.for_each(drop)));
///     p
/// }
/// // Two stages take `u32`: the bus must be told it may clone them.
/// let refused = declare().build().unwrap_err();
/// assert!(matches!(refused, BuildError::FanOutNeedsClone { event_type: "u32" }));
/// let mut p = declare();
/// p.fan_out::<u32>().controller_interval(Duration::from_millis(10));
/// let pipeline = p.build()?;
/// let input = pipeline.publisher::<u32>()?;
/// pipeline.start();
/// input.blocking_publish(5).unwrap();
/// let report = pipeline.shutdown(Duration::from_secs(5));
/// assert_eq!(report.stage("audit").unwrap().processed, 1);
/// assert_eq!(report.stage("sum").unwrap().processed, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct PipelineBuilder {
    name: String,
    stages: Vec<Box<dyn StageDecl>>,
    externals: Vec<ExternalDecl>,
    fused: Vec<Vec<String>>,
    cloners: HashMap<TypeId, Box<dyn Any + Send + Sync>>,
    dead_letter: Option<DeadLetterFn>,
    tick: Duration,
}

impl std::fmt::Debug for PipelineBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PipelineBuilder")
            .field("name", &self.name)
            .field(
                "stages",
                &self.stages.iter().map(|s| s.name()).collect::<Vec<_>>(),
            )
            .field(
                "externals",
                &self.externals.iter().map(|e| &e.name).collect::<Vec<_>>(),
            )
            .field("fused", &self.fused)
            .finish()
    }
}

impl Default for PipelineBuilder {
    fn default() -> Self {
        PipelineBuilder {
            name: "default".to_owned(),
            stages: Vec::new(),
            externals: Vec::new(),
            fused: Vec::new(),
            cloners: HashMap::new(),
            dead_letter: None,
            tick: Duration::from_millis(100),
        }
    }
}

/// Per stage (by index), what the build gave it before the bus exists.
struct Parts {
    places: Vec<Place>,
    stats: Vec<Arc<StageStats>>,
    /// `Some` for the stages that lead a domain.
    queues: Vec<Option<AnyArc>>,
}

impl PipelineBuilder {
    /// Names the pipeline (default `default`): the `pipeline` label of its metrics, so
    /// pipelines with stages of the same name keep apart. See [`Pipeline::name`].
    pub fn name(&mut self, name: impl Into<String>) -> &mut Self {
        self.name = name.into();
        self
    }

    /// Adds a stage subscribed to its handler's input type. `factory` makes one handler per
    /// lane. Stages are declared in pipeline order (the order shutdown drains them in).
    /// [`StageBuilder::id`] names the stage in the built pipeline's lookups.
    pub fn stage<H, F>(&mut self, name: impl Into<String>, factory: F) -> StageBuilder<'_, H>
    where
        H: Handler,
        F: Fn() -> H + Send + Sync + 'static,
    {
        let position = self.next_position();
        self.stages.push(Box::new(TypedDecl::<H>::new(
            name.into(),
            Arc::new(factory),
        )));
        let decl = self
            .stages
            .last_mut()
            .and_then(|d| d.as_any_mut().downcast_mut::<TypedDecl<H>>())
            .expect("the stage just pushed has this type");
        StageBuilder::new(decl, position)
    }

    /// Adds an async stage: each event's call is a future, many run at once (see
    /// [`AsyncHandler`]). `factory` makes one handler per lane, shared by that lane's calls.
    pub fn async_stage<H, F>(
        &mut self,
        name: impl Into<String>,
        factory: F,
    ) -> AsyncStageBuilder<'_, H>
    where
        H: AsyncHandler,
        F: Fn() -> H + Send + Sync + 'static,
    {
        let position = self.next_position();
        let runtime = async_stage::executor::engine();
        self.stages.push(Box::new(AsyncDecl::<H>::new(
            name.into(),
            Arc::new(factory),
            runtime,
        )));
        let decl = self
            .stages
            .last_mut()
            .and_then(|d| d.as_any_mut().downcast_mut::<AsyncDecl<H>>())
            .expect("the stage just pushed has this type");
        AsyncStageBuilder::new(decl, position)
    }

    /// Adds an external stage: one whose queue and threads live outside the engine (a
    /// server's network event loops, a file tailer), shown like the engine's stages in the
    /// pipeline order, metrics and report. Its owner counts through the
    /// [`handle`](ExternalStageBuilder::handle) and reports its queue through `queue`. It
    /// takes no events from the bus and cannot be fused. See
    /// [`ExternalStage`](crate::ExternalStage).
    ///
    /// # Examples
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use sedaflow::{handler_fn, Batch, ExternalGauges, Pipeline};
    ///
    /// let waiting = Arc::new(AtomicUsize::new(0));
    /// let depth = waiting.clone();
    /// let mut p = Pipeline::builder();
    /// let net = p
    ///     .external_stage("net_read", Arc::new(move || ExternalGauges {
    ///         depth: depth.load(Relaxed),
    ///         capacity: 64,
    ///         ..Default::default()
    ///     }))
    ///     .handle();
    /// p.stage("decode", || handler_fn(|b: &mut Batch<'_, u32>, _ctx| b.for_each(drop)));
    /// let pipeline = p.build()?;
    /// let decode = pipeline.publisher::<u32>()?;
    /// pipeline.start();
    /// // The owner's event loop: a read of three requests, two handed on, one still waiting.
    /// net.enqueued(3);
    /// decode.blocking_publish_batch(&mut vec![1, 2]).unwrap();
    /// net.processed(2);
    /// waiting.store(1, Relaxed);
    /// assert_eq!(pipeline.queue_probe(&net.id()).map(|q| (q.len(), q.capacity())), Some((1, 64)));
    /// let report = pipeline.shutdown(Duration::from_secs(5));
    /// let stage = &report.stages[0];
    /// assert_eq!((stage.name.as_str(), stage.domain.as_str()), ("net_read", "net_read"));
    /// assert_eq!((stage.enqueued, stage.processed, stage.queued), (3, 2, 1));
    /// assert!(report.is_balanced());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn external_stage(
        &mut self,
        name: impl Into<String>,
        queue: Arc<dyn ExternalQueue>,
    ) -> ExternalStageBuilder<'_> {
        let position = self.next_position();
        self.externals
            .push(ExternalDecl::new(name.into(), position, queue));
        let decl = self
            .externals
            .last_mut()
            .expect("the external stage just pushed");
        ExternalStageBuilder::new(decl)
    }

    /// The pipeline position of the next stage declared, engine or external.
    fn next_position(&self) -> usize {
        self.stages.len() + self.externals.len()
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
    pub fn build(mut self) -> Result<Pipeline, BuildError> {
        self.validate()?;
        let plan = self.plan()?;
        let parts = self.parts(&plan);
        let routes = self.routes(&parts)?;
        let bus = Arc::new(Bus {
            routes,
            cloners: self.cloners,
            places: parts.places.clone(),
            dead: DeadLetters::new(self.dead_letter),
            halt: AtomicBool::new(false),
        });
        let (engine_rts, domains) = assemble(&self.stages, &plan, &parts, &bus)?;
        let stage_rts = in_order(engine_rts, &mut self.externals);
        Ok(Pipeline::new(
            &self.name, bus, stage_rts, domains, self.tick,
        ))
    }

    /// Refuses an empty pipeline, repeated names and out-of-bounds configurations.
    fn validate(&self) -> Result<(), BuildError> {
        if self.next_position() == 0 {
            return Err(BuildError::Empty);
        }
        let mut seen = HashSet::new();
        if let Some(e) = self
            .externals
            .iter()
            .find(|e| !seen.insert(e.name.as_str()))
        {
            return Err(BuildError::DuplicateStage(e.name.clone()));
        }
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
        Ok(())
    }

    /// Which stages share a domain.
    fn plan(&self) -> Result<Plan, BuildError> {
        let is_async = |name: &String| {
            self.stages
                .iter()
                .any(|s| s.is_async() && s.name() == name.as_str())
        };
        if let Some(name) = self
            .fused
            .iter()
            .filter(|group| group.len() > 1)
            .find_map(|group| group.iter().find(|n| is_async(n)))
        {
            return Err(BuildError::Placement(format!(
                "async stage `{name}` cannot be fused: it leads a domain of its own"
            )));
        }
        let is_external = |name: &String| self.externals.iter().any(|e| e.name == *name);
        if let Some(name) = self.fused.iter().flatten().find(|n| is_external(n)) {
            return Err(BuildError::Placement(format!(
                "external stage `{name}` cannot be fused: its queue and threads are outside the engine"
            )));
        }
        let names: Vec<&str> = self.stages.iter().map(|s| s.name()).collect();
        let keyed: Vec<bool> = self.stages.iter().map(|s| s.keyed()).collect();
        let single_lane: Vec<bool> = self
            .stages
            .iter()
            .map(|s| s.config().lane_count(s.keyed()) == 1)
            .collect();
        Plan::new(&names, &keyed, &single_lane, &self.fused)
    }

    /// Each stage's place, its counters and metric histograms, and the queue of every
    /// stage that leads a domain.
    fn parts(&self, plan: &Plan) -> Parts {
        let mut places = vec![None; self.stages.len()];
        for (d, members) in plan.domains.iter().enumerate() {
            for (position, &s) in members.iter().enumerate() {
                places[s] = Some(Place {
                    name: Arc::from(self.stages[s].name()),
                    domain: d,
                    position,
                });
            }
        }
        let places: Vec<Place> = places.into_iter().flatten().collect();
        let mut stats = Vec::with_capacity(self.stages.len());
        let mut queues = Vec::with_capacity(self.stages.len());
        let taken: HashSet<usize> = self.externals.iter().map(|e| e.position).collect();
        let positions = (0..).filter(|p| !taken.contains(p));
        for ((i, s), position) in self.stages.iter().enumerate().zip(positions) {
            let place = &places[i];
            let entry_of_domain = plan.domains[place.domain][0];
            let entry = place.position == 0;
            let info = StageInfo {
                position,
                domain: Arc::from(self.stages[entry_of_domain].name()),
                entry,
                keyed: s.keyed(),
                when_full: s.config().when_full.as_str(),
            };
            let st = Arc::new(StageStats::new(StageMetrics::new(&place.name, &info)));
            queues.push(entry.then(|| s.make_queue(&st)));
            stats.push(st);
        }
        Parts {
            places,
            stats,
            queues,
        }
    }

    /// The bus's route tables; refuses a type with several subscribers and no `fan_out`.
    fn routes(
        &self,
        parts: &Parts,
    ) -> Result<HashMap<RouteKey, Box<dyn Any + Send + Sync>>, BuildError> {
        let mut routes = HashMap::new();
        let mut subscribers: HashMap<RouteKey, usize> = HashMap::new();
        for (i, s) in self.stages.iter().enumerate() {
            s.add_route(&mut routes, i, parts.queues[i].as_ref());
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
        Ok(routes)
    }
}

/// The run-time records: one per stage, and one per domain with its lanes of fused stages.
fn assemble(
    stages: &[Box<dyn StageDecl>],
    plan: &Plan,
    parts: &Parts,
    bus: &Arc<Bus>,
) -> Result<(Vec<StageRt>, Vec<DomainRt>), BuildError> {
    let mut stage_rts = Vec::with_capacity(stages.len());
    let mut shared = Vec::with_capacity(stages.len());
    for (i, s) in stages.iter().enumerate() {
        let place = &parts.places[i];
        let entry = place.position == 0;
        shared.push(s.shared(i, place.name.clone(), parts.stats[i].clone(), entry));
        stage_rts.push(StageRt {
            name: place.name.clone(),
            stats: parts.stats[i].clone(),
            runs: Runs::Domain {
                index: place.domain,
                entry,
            },
        });
    }
    let mut domains = Vec::with_capacity(plan.domains.len());
    for members in &plan.domains {
        let entry = members[0];
        let decl = &stages[entry];
        let queue = parts.queues[entry].as_ref().ok_or_else(|| {
            BuildError::Placement(format!(
                "stage `{}` leads a domain without a queue",
                decl.name()
            ))
        })?;
        let lane_count = decl.config().lane_count(decl.keyed());
        let mut lanes = Vec::with_capacity(lane_count);
        for lane in 0..lane_count {
            let chain: Option<Vec<_>> = members
                .iter()
                .map(|&s| stages[s].lane_stage(&shared[s], lane))
                .collect();
            lanes.push(chain.ok_or_else(|| internal(decl.name()))?);
        }
        let task = decl
            .domain(queue, lanes, bus.clone(), parts.stats[entry].clone())
            .ok_or_else(|| internal(decl.name()))?;
        domains.push(DomainRt::new(
            parts.places[entry].name.clone(),
            task,
            decl.config().clone(),
        ));
    }
    Ok((stage_rts, domains))
}

/// Every stage's run-time record in pipeline order: the engine's (in declaration order) with
/// the external ones at their declared positions.
fn in_order(engine: Vec<StageRt>, externals: &mut [ExternalDecl]) -> Vec<StageRt> {
    let total = engine.len() + externals.len();
    let mut engine = engine.into_iter();
    let mut externals = externals.iter_mut().peekable();
    (0..total)
        .filter_map(
            |position| match externals.next_if(|e| e.position == position) {
                Some(e) => Some(StageRt {
                    name: Arc::from(e.name.as_str()),
                    stats: e.handle().stats().clone(),
                    runs: Runs::Outside(e.queue.clone()),
                }),
                None => engine.next(),
            },
        )
        .collect()
}

fn internal(stage: &str) -> BuildError {
    BuildError::Placement(format!(
        "stage `{stage}`: internal type mismatch while building"
    ))
}
