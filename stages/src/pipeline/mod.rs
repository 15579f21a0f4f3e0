//! The order pipeline: decode → match → encode, wired through the sedaflow bus.
//!
//! # Ordering
//! Decode is keyed by connection, matching by symbol, so a connection's requests for different
//! symbols may finish out of order; every request carries its connection's sequence number and
//! the connection's writer puts the replies back in order.

mod decode;
mod encode;
mod events;

use std::sync::Arc;

use sedaflow::{BuildError, OnPanic, Pipeline, Publisher, PublisherError};
use thiserror::Error;

pub(crate) use decode::settle;
pub(crate) use events::{DecodeIn, EncodeIn, OrderIn};

use crate::config::ServerConfig;
use crate::internal_events::ServerMetrics;
use crate::matching::MatchStage;
use crate::net::Registry;

/// Why the pipeline could not be built.
#[derive(Debug, Error)]
pub enum PipelineError {
    /// The engine refused the declaration (placement, config).
    #[error(transparent)]
    Build(#[from] BuildError),
    /// Decode has no queue to publish frames into (fused behind another stage).
    #[error(transparent)]
    Publisher(#[from] PublisherError),
}

/// The built pipeline and the handle the network stage publishes frames with.
pub(crate) struct OrderPipeline {
    pub(crate) pipeline: Pipeline,
    pub(crate) input: Publisher<DecodeIn>,
}

pub(crate) fn build(
    config: &ServerConfig,
    registry: Arc<Registry>,
    metrics: ServerMetrics,
) -> Result<OrderPipeline, PipelineError> {
    let stages = &config.stages;
    let mut p = Pipeline::builder();
    let m = metrics.clone();
    p.stage("decode", move || decode::Decode { metrics: m.clone() })
        .config(stages.decode.clone())
        .keyed_by(|e: &DecodeIn| e.conn().id);
    p.stage("match", MatchStage::default)
        .config(stages.matching.clone())
        .keyed_by(|o: &OrderIn| o.req.symbol())
        .on_panic(OnPanic::QuarantineKey);
    p.stage("encode", move || {
        encode::Encode::new(registry.clone(), metrics.clone())
    })
    .config(stages.encode.clone());
    for group in &config.placement.fuse {
        p.fuse(group.iter().cloned());
    }
    let pipeline = p.build()?;
    let input = pipeline.publisher::<DecodeIn>()?;
    Ok(OrderPipeline { pipeline, input })
}
