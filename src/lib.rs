//! sedaflow: a staged event-driven (SEDA) processing engine.
//!
//! A pipeline is a list of **stages**. Each stage has a [`Handler`] (the business step), and
//! each domain of stages has a bounded queue with an admission policy ([`WhenFull`]), an
//! adaptive thread pool and an adaptive batch size. Stages talk only through the **bus**:
//! a handler emits typed events, the bus routes them to the stages subscribed to that type.
//! Consecutive stages can be **fused** into one domain (no queue hop between them) without
//! changing their code.
//!
//! ```
//! use std::time::Duration;
//! use sedaflow::{Batch, Context, Handler, Pipeline, WhenFull};
//!
//! struct Words;
//! impl Handler for Words {
//!     type In = String;
//!     fn handle(&mut self, batch: &mut Batch<'_, String>, ctx: &mut Context<'_>) {
//!         for line in batch {
//!             ctx.emit(line.split_whitespace().count() as u64);
//!         }
//!     }
//! }
//!
//! #[derive(Default)]
//! struct Total(u64);
//! impl Handler for Total {
//!     type In = u64;
//!     fn handle(&mut self, batch: &mut Batch<'_, u64>, _ctx: &mut Context<'_>) {
//!         self.0 += batch.sum::<u64>();
//!     }
//! }
//!
//! let mut p = Pipeline::builder();
//! p.stage("words", || Words).capacity(1024).when_full(WhenFull::Block).threads(1, 2);
//! p.stage("total", Total::default).threads(1, 1);
//! let pipeline = p.build()?;
//! let input = pipeline.publisher::<String>()?;
//! pipeline.start();
//! input.blocking_publish("one two three".into()).unwrap();
//! let report = pipeline.shutdown(Duration::from_secs(5));
//! assert!(report.is_balanced());
//! assert_eq!(report.stage("total").unwrap().processed, 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]

mod async_stage;
mod batch;
mod builder;
mod bus;
mod concurrency;
mod config;
mod control;
mod domain;
mod error;
mod event;
mod external;
mod idle_runner;
mod internal_events;
mod pipeline;
mod pool;
mod queue;
mod queue_probe;
mod report;
mod runtime;
mod scrape;
mod stage;
mod stats;

pub use async_stage::{AsyncHandler, AsyncStageBuilder};
pub use batch::{Batch, Drain};
pub use builder::PipelineBuilder;
pub use bus::{Bounced, DeadLetter, DeadReason, HandlerError, Publisher, PublisherError};
pub use concurrency::Concurrency;
pub use config::{BatchConfig, PoolConfig, StageConfig, WhenFull};
pub use error::BuildError;
pub use event::{key_digest, Event};
pub use external::{
    ExternalCounts, ExternalGauges, ExternalQueue, ExternalStage, ExternalStageBuilder,
};
pub use idle_runner::IdleRunner;
pub use internal_events::{install_prometheus, ExporterError, Histogram, MetricsExporter};
pub use pipeline::Pipeline;
pub use pool::{CpuDemand, CpuUse, PoolController, PoolObservation};
pub use queue::{OfferError, Published};
pub use queue_probe::QueueProbe;
pub use report::{DeadLetterCount, Report, StageReport};
pub use stage::{
    handler_fn, Context, Fallible, FnHandler, Handler, OnPanic, StageBuilder, StageId, StageRef,
    TryHandler,
};
