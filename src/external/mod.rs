//! External stages: stages whose queue and threads live outside the engine (SEDA's aSocket
//! stages, a server's network event loops, a file tailer), declared on the builder with
//! [`PipelineBuilder::external_stage`](crate::PipelineBuilder::external_stage) and shown like
//! the engine's own stages: in the pipeline order, `sedaflow_stage_info` (its own domain,
//! role `entry`), every `sedaflow_stage_*` series, the [`Report`](crate::Report), and the
//! lookups ([`Pipeline::stage_id`](crate::Pipeline::stage_id),
//! [`Pipeline::queue_probe`](crate::Pipeline::queue_probe)).
//!
//! The engine runs nothing for such a stage: it subscribes to no event type, the bus never
//! routes to it, and it cannot be fused. Its owner counts what the stage does through an
//! [`ExternalStage`] handle and tells its queue's and threads' state through
//! [`ExternalQueue::gauges`], read at each scrape, report and probe.
//!
//! # Accounting
//! The owner keeps the same books as an engine stage, so
//! [`StageReport::is_balanced`](crate::StageReport::is_balanced) holds for it too:
//! `offered = enqueued + rejected + dropped_newest` and
//! `enqueued = processed + failed + dropped + queued`, where `queued` is the owner's
//! [`ExternalGauges::depth`] when the report is taken. Each count is one relaxed atomic add:
//! add once per batch (a read of many requests, a write of many frames), not per event.
//!
//! # Backpressure
//! The owner enforces its own bound and policy; [`ExternalStageBuilder::when_full`] only
//! labels the stage with that policy. The gauges' `capacity` should be the bound that
//! really applies.
//!
//! # Shutdown
//! [`Pipeline::shutdown`](crate::Pipeline::shutdown) does not wait for an external stage and
//! [`Pipeline::wait_idle`](crate::Pipeline::wait_idle) ignores it: the owner stops its own
//! threads first (so nothing more is offered), then shuts the pipeline down; the report
//! then holds the owner's final counts and its depth at that moment.

mod builder;
mod gauges;
mod handle;

pub use builder::ExternalStageBuilder;
pub use gauges::{ExternalCounts, ExternalGauges, ExternalQueue};
pub use handle::ExternalStage;

pub(crate) use builder::ExternalDecl;
pub(crate) use gauges::read;
