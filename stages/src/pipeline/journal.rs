//! The journal stage: between matching and encode, it makes the records of everything
//! matching changed durable, one `write` and one `fdatasync` per batch, then releases the
//! reports those requests caused, as the LMAX journaller gates the output of its business
//! logic.

use std::num::NonZeroUsize;
use std::sync::Arc;

use sedaflow::{Batch, BatchConfig, Context, Handler, PoolConfig, StageConfig};

use super::events::EncodeIn;
use super::market::MarketIn;
use crate::journal::format::{encode_record, Record};
use crate::journal::Journal;

/// From matching: a record to make durable, or output to release once every record sent
/// before it is durable.
#[derive(Debug)]
pub(crate) enum ToJournal {
    Record(Record),
    Out(EncodeIn),
    /// Book changes for market data, released like output.
    Market(MarketIn),
}

pub(crate) struct JournalStage {
    journal: Arc<Journal>,
    records: Vec<u8>,
    held: Vec<EncodeIn>,
    market: Vec<MarketIn>,
}

impl JournalStage {
    pub(crate) fn new(journal: Arc<Journal>) -> JournalStage {
        JournalStage {
            journal,
            records: Vec::new(),
            held: Vec::new(),
            market: Vec::new(),
        }
    }

    /// One lane and one thread, so records keep matching's order (per symbol, each matching
    /// lane's), and a worker takes everything queued: all of it shares one sync. It blocks
    /// on the disk, so no other stage's worker may run it (no hand-off).
    pub(crate) fn config() -> StageConfig {
        let one = NonZeroUsize::MIN;
        let most = NonZeroUsize::new(8192).expect("non-zero");
        StageConfig {
            lanes: Some(one),
            pool: PoolConfig {
                min: 1,
                max: one,
                ..PoolConfig::default()
            },
            batch: BatchConfig {
                max: most,
                initial: most,
                adaptive: false,
                ..BatchConfig::default()
            },
            handoff: false,
            ..StageConfig::default()
        }
    }
}

impl Handler for JournalStage {
    type In = ToJournal;

    fn handle(&mut self, batch: &mut Batch<'_, ToJournal>, ctx: &mut Context<'_>) {
        for event in batch {
            match event {
                ToJournal::Record(r) => encode_record(&r, &mut self.records),
                ToJournal::Out(out) => self.held.push(out),
                ToJournal::Market(changes) => self.market.push(changes),
            }
        }
        // A journal that cannot be written stops the process before any report of this batch
        // leaves: the books are already ahead of the disk, and after a failed `fsync`
        // retrying proves nothing (the kernel may have dropped the pages).
        if let Err(e) = self.journal.commit(&mut self.records) {
            let what = "journal: batch not durable; aborting before its reports leave";
            tracing::error!(error = %e, "{what}");
            std::process::abort();
        }
        for out in self.held.drain(..) {
            ctx.emit(out);
        }
        for changes in self.market.drain(..) {
            ctx.emit(changes);
        }
    }
}
