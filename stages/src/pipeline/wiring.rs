//! Declares the order pipeline's stages, their configuration and placement.

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use sedaflow::{
    BuildError, ExternalQueue, OnPanic, Pipeline, PipelineBuilder, Publisher, PublisherError,
};
use thiserror::Error;

use super::client::{ClientRef, Clients};
use super::decode::Decode;
use super::encode::Encode;
use super::events::{DecodeIn, EncodeIn, Order};
use super::journal::JournalStage;
use super::market::{DeltaBuffers, Direct, Feeds};
use super::matching::MatchStage;
use super::publish::Publish;
use crate::admission::Admission;
use crate::cluster::ingress::IngressLink;
use crate::config::ServerConfig;
use crate::internal_events::{MarketMetrics, ServerMetrics};
use crate::journal::Journal;

/// The decode stage's name.
const DECODE: &str = "decode";

/// The topic decode publishes orders on when a stage runs before matching.
const PRE_MATCH: &str = "pre-match";

/// Declares an operator's stage that takes [`Order`]s on [`PRE_MATCH`] and passes them on.
pub(crate) type Extension = Box<dyn FnOnce(&mut PipelineBuilder, &'static str) + Send>;

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

/// What the stages share with the rest of the server.
pub(crate) struct Wiring {
    pub(crate) clients: Arc<dyn Clients>,
    pub(crate) metrics: ServerMetrics,
    pub(crate) admission: Arc<Admission>,
    /// An operator's stage before matching.
    pub(crate) extension: Option<Extension>,
    /// With a journal, matching's output goes through the journal stage.
    pub(crate) journal: Option<Arc<Journal>>,
    /// An ingress's link to the order log, which then takes matching's place.
    pub(crate) forward: Option<Arc<IngressLink<ClientRef>>>,
    /// The network's read and write stages, first and last ([`Network`]).
    pub(crate) network: Network,
}

/// The network as the pipeline's first and last stages: their queues and threads are the
/// network's own, shown like the others'.
pub(crate) struct Network {
    pub(crate) read: (&'static str, Arc<dyn ExternalQueue>),
    pub(crate) write: (&'static str, Arc<dyn ExternalQueue>),
}

/// The built pipeline and the handle the network stage publishes frames with.
pub(crate) struct OrderPipeline {
    pub(crate) pipeline: Pipeline,
    pub(crate) input: Publisher<DecodeIn>,
}

/// The order pipeline's name: its metrics' `pipeline` label.
pub(crate) const PIPELINE: &str = "orders";

pub(crate) fn build(config: &ServerConfig, w: Wiring) -> Result<OrderPipeline, PipelineError> {
    let mut p = Pipeline::builder();
    p.name(PIPELINE);
    let m = w.metrics.clone();
    let topic = w.extension.as_ref().map(|_| PRE_MATCH);
    let lanes = Arc::new(AtomicUsize::new(1));
    let (l, a) = (lanes.clone(), w.admission.clone());
    let (read, read_queue) = w.network.read;
    p.external_stage(read, read_queue);
    p.stage(DECODE, move || {
        Decode::new(m.clone(), topic, l.clone(), a.clone())
    })
    .config(config.stages.decode.clone())
    .keyed_by(|e: &DecodeIn| e.conn().owner());
    if let Some(declare) = w.extension {
        declare(&mut p, PRE_MATCH);
    }
    let ingress = w.forward.is_some();
    let buffers = Arc::new(DeltaBuffers::default());
    let feeds = Arc::new(Feeds::default());
    match w.forward {
        None => matching(
            &mut p,
            config,
            &w.admission,
            w.journal,
            (&lanes, &buffers, &feeds),
            w.metrics.market(),
        ),
        Some(link) => {
            // A request on every book goes to every partition, one part each.
            lanes.store(link.partitions() as usize, Ordering::Release);
            // Keyed like matching: a symbol's orders reach the log in the order decode sent them.
            p.stage("publish", move || Publish { link: link.clone() })
                .config(config.stages.matching.clone())
                .keyed_by(|o: &Order| o.req.symbol());
        }
    }
    let mut encode = config.stages.encode.clone();
    if ingress {
        // An ingress's responses reach encode from one router task in log order; one lane keeps
        // that order (a resting order's fill before its done), as matching's batches do here.
        encode.lanes = NonZeroUsize::new(1);
    }
    let (clients, metrics) = (w.clients, w.metrics);
    let market = metrics.market().clone();
    p.stage("encode", move || {
        Encode::new(clients.clone(), metrics.clone())
    })
    .config(encode)
    .keyed_by(EncodeIn::owner);
    // Fed by matching (after the journal: what it publishes, a restart cannot take back);
    // declared after encode so `decode, match, encode` may share a domain.
    super::market::declare(&mut p, &market, (&feeds, &buffers));
    let (write, write_queue) = w.network.write;
    p.external_stage(write, write_queue);
    for group in &config.placement.fuse {
        p.fuse(group.iter().cloned());
    }
    let pipeline = p.build()?;
    if !ingress {
        lanes.store(pipeline.lanes("match").unwrap_or(1), Ordering::Release);
    }
    // A reader task runs its frames through decode (and the stages decode hands off to) on
    // its own thread when decode allows hand-off, instead of waking decode's pool.
    let input = pipeline.publisher::<DecodeIn>()?.caller_runs(true);
    watch_admitted(
        &pipeline,
        &w.admission,
        read,
        if ingress { "publish" } else { "match" },
    );
    Ok(OrderPipeline { pipeline, input })
}

/// Matching, and the journal stage after it when there is a journal.
fn matching(
    p: &mut PipelineBuilder,
    config: &ServerConfig,
    admission: &Arc<Admission>,
    journal: Option<Arc<Journal>>,
    (lanes, buffers, feeds): (&Arc<AtomicUsize>, &Arc<DeltaBuffers>, &Arc<Feeds>),
    metrics: &MarketMetrics,
) {
    let delay = config.synthetic.match_delay;
    let (a, j, l, b) = (
        admission.clone(),
        journal.clone(),
        lanes.clone(),
        buffers.clone(),
    );
    // With a journal, every change waits in the journal stage until durable.
    let direct = journal.is_none().then(|| (feeds.clone(), metrics.clone()));
    p.stage("match", move || {
        let direct = direct.clone().map(|(f, m)| Direct::new(f, m));
        MatchStage::new(a.clone(), delay, j.clone(), l.clone(), b.clone(), direct)
    })
    .config(config.stages.matching.clone())
    .keyed_by_digest(|o: &Order| o.route)
    .on_panic(OnPanic::QuarantineKey);
    if let Some(journal) = journal {
        p.stage("journal", move || JournalStage::new(journal.clone()))
            .config(JournalStage::config());
    }
}

/// Admission watches every queue after decode up to `last_admitted` (matching, or an
/// ingress's log): they hold admitted orders; the ones after it (journal, encode) hold
/// answers. The network's read stage comes before admission; decode's queue holds reads,
/// whose requests decode counts itself ([`Admission::left_decode`]).
fn watch_admitted(pipeline: &Pipeline, admission: &Admission, network: &str, last_admitted: &str) {
    let stages = pipeline.report().stages;
    let through = stages
        .iter()
        .position(|s| s.name == last_admitted)
        .map_or(stages.len(), |i| i + 1);
    let ahead_of_matching = stages[..through]
        .iter()
        .filter(|s| s.name != network && s.name != DECODE)
        .filter_map(|s| pipeline.queue_probe(&s.name))
        .collect();
    admission.watch(ahead_of_matching);
}
