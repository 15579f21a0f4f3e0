//! The order pipeline: decode → match → encode, wired through the sedaflow bus.
//!
//! # Ordering
//! Decode is keyed by connection, matching by symbol, so a connection's requests for different
//! symbols may finish out of order; every request carries its connection's sequence number and
//! the connection's writer puts the replies back in order.

mod decode;
mod encode;
mod events;

use std::num::NonZeroUsize;
use std::sync::Arc;

use sedaflow::{BuildError, OnPanic, Pipeline, PipelineBuilder, Publisher, PublisherError};
use thiserror::Error;

pub(crate) use decode::settle;
pub use events::Order;
pub(crate) use events::{DecodeIn, EncodeIn};

/// The topic decode publishes orders on when a stage runs before matching.
pub(crate) const PRE_MATCH: &str = "pre-match";

/// Declares an operator's stage that takes [`Order`]s on [`PRE_MATCH`] and passes them on.
pub(crate) type Extension = Box<dyn FnOnce(&mut PipelineBuilder, &'static str) + Send>;

use crate::admission::Admission;
use crate::cluster::ingress::{Forward, IngressLink};
use crate::config::ServerConfig;
use crate::internal_events::ServerMetrics;
use crate::journal::{Journal, JournalStage};
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

/// `forward`: an ingress's link to the order log, which then takes matching's place.
pub(crate) fn build(
    config: &ServerConfig,
    registry: Arc<Registry>,
    metrics: ServerMetrics,
    admission: Arc<Admission>,
    extension: Option<Extension>,
    journal: Option<Arc<Journal>>,
    forward: Option<Arc<IngressLink>>,
) -> Result<OrderPipeline, PipelineError> {
    let stages = &config.stages;
    let mut p = Pipeline::builder();
    let m = metrics.clone();
    let topic = extension.as_ref().map(|_| PRE_MATCH);
    p.stage("decode", move || decode::Decode {
        metrics: m.clone(),
        topic,
    })
    .config(stages.decode.clone())
    .keyed_by(|e: &DecodeIn| e.conn().id);
    if let Some(declare) = extension {
        declare(&mut p, PRE_MATCH);
    }
    match forward.clone() {
        None => {
            let delay = config.synthetic.match_delay;
            let a = admission.clone();
            let j = journal.clone();
            let matching = move || MatchStage::new(a.clone(), delay, j.clone());
            p.stage("match", matching)
                .config(stages.matching.clone())
                .keyed_by(|o: &Order| o.req.symbol())
                .on_panic(OnPanic::QuarantineKey);
            if let Some(journal) = journal {
                p.stage("journal", move || JournalStage::new(journal.clone()))
                    .config(JournalStage::config());
            }
        }
        Some(link) => {
            // Keyed like matching: a symbol's orders reach the log in the order decode sent them.
            p.stage("publish", move || Forward { link: link.clone() })
                .config(stages.matching.clone())
                .keyed_by(|o: &Order| o.req.symbol());
        }
    }
    let mut encode_config = stages.encode.clone();
    if forward.is_some() {
        // An ingress's responses reach encode from one router task in log order; one lane keeps
        // that order (a resting order's fill before its done), as matching's batches do here.
        encode_config.lanes = NonZeroUsize::new(1);
    }
    p.stage("encode", move || {
        encode::Encode::new(registry.clone(), metrics.clone())
    })
    .config(encode_config)
    .keyed_by(EncodeIn::conn_id);
    for group in &config.placement.fuse {
        p.fuse(group.iter().cloned());
    }
    let pipeline = p.build()?;
    // A reader task runs its frames through decode (and the stages decode hands off to) on
    // its own thread when decode allows hand-off, instead of waking decode's pool.
    let input = pipeline.publisher::<DecodeIn>()?.caller_runs(true);
    // Every queue up to matching (an ingress: up to the log) holds admitted orders; the ones
    // after it (journal, encode) hold answers.
    let last_admitted = if forward.is_some() {
        "publish"
    } else {
        "match"
    };
    let stages = pipeline.report().stages;
    let through_match = stages
        .iter()
        .position(|s| s.name == last_admitted)
        .map_or(stages.len(), |i| i + 1);
    let ahead_of_matching = stages[..through_match]
        .iter()
        .filter_map(|s| pipeline.queue_probe(&s.name))
        .collect();
    admission.watch(ahead_of_matching);
    Ok(OrderPipeline { pipeline, input })
}
