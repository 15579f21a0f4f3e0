//! The market-data stage: adapts [`Books`] to the pipeline, keyed by symbol.

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

use sedaflow::{Batch, Context, Handler, PipelineBuilder, PoolConfig, StageConfig};

use super::{Books, DeltaBuffers, Feeds, MarketIn};
use crate::internal_events::MarketMetrics;

/// The stage's name in the pipeline (reports, `top`, `graph`).
pub(crate) const STAGE: &str = "market";

pub(crate) struct MarketStage {
    books: Books,
}

impl Handler for MarketStage {
    type In = MarketIn;

    fn handle(&mut self, batch: &mut Batch<'_, MarketIn>, _ctx: &mut Context<'_>) {
        for event in batch {
            self.books.handle(event);
        }
        self.books.flush();
    }
}

/// Declares the stage. Its own pool, no hand-off: fan-out to many subscribers is work that
/// must not ride on matching's (or a network reader's) thread. Event loops run its batches
/// only in their idle moments, and only while those stay short (the loops' idle work, see
/// `net::loops`). A full queue blocks its producers rather than drop: a dropped delta would
/// be a gap in every subscriber's chain. It never waits on a socket (outboxes never block),
/// so it stays full only while starved of CPU.
pub(crate) fn declare(
    p: &mut PipelineBuilder,
    metrics: &MarketMetrics,
    (feeds, buffers): (&Arc<Feeds>, &Arc<DeltaBuffers>),
) {
    let (metrics, feeds, buffers) = (metrics.clone(), feeds.clone(), buffers.clone());
    p.stage(STAGE, move || MarketStage {
        books: Books::new(metrics.clone(), feeds.clone(), buffers.clone()),
    })
    .config(config())
    .keyed_by_digest(MarketIn::digest);
}

/// How long the market stage's worker waits for more book changes before it parks: twice
/// the idle loops' round, so while they have idle moments they take the batches and the
/// worker rarely runs one.
const LINGER: Duration = Duration::from_millis(2);

/// The stage's settings (also what `sedaflow graph` shows).
pub(crate) fn config() -> StageConfig {
    StageConfig {
        lanes: NonZeroUsize::new(super::LANES),
        pool: PoolConfig {
            min: 1,
            max: NonZeroUsize::MIN,
            // Public market data may be a few milliseconds late: the worker then takes each
            // linger's book changes in one batch (one wake-up, more conflation) instead of
            // being woken for every matching batch.
            linger: LINGER,
            ..PoolConfig::default()
        },
        handoff: false,
        ..StageConfig::default()
    }
}
