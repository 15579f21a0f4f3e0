//! A matching lane's handle on the shared journal.

use std::sync::Arc;

use super::format::{encode_record, Record};
use super::Journal;
use crate::matching::{Engine, OrderId, Outcome, Owner, Report, Request};

/// One matching lane's journal: the records of its current batch, committed together.
pub(crate) struct Lane {
    journal: Arc<Journal>,
    records: Vec<u8>,
}

impl Lane {
    pub(crate) fn new(journal: Arc<Journal>) -> Lane {
        Lane {
            journal,
            records: Vec::new(),
        }
    }

    /// Starts a batch; it is committed when the returned guard drops, also when the handler
    /// unwinds, since the reports of the orders before a panic are still sent.
    pub(crate) fn batch(&mut self) -> LaneBatch<'_> {
        LaneBatch { lane: self }
    }
}

/// A batch being matched; see [`Lane::batch`].
pub(crate) struct LaneBatch<'a> {
    lane: &'a mut Lane,
}

impl LaneBatch<'_> {
    /// [`Engine::submit`], after handing the engine its symbol's recovered book, and recording
    /// the request if it changed a book. Rejections change nothing, so replay needs none.
    pub(crate) fn submit(
        &mut self,
        engine: &mut Engine,
        owner: Owner,
        req: &Request,
        floor: OrderId,
        out: &mut Vec<Report>,
    ) -> Outcome {
        if let Some(symbol) = req.symbol() {
            self.lane.journal.adopt(symbol, engine);
        }
        let outcome = engine.submit(owner, req, floor, out);
        if matches!(outcome, Outcome::Accepted | Outcome::Cancelled) {
            let record = Record::Request {
                owner,
                floor,
                req: *req,
            };
            encode_record(&record, &mut self.lane.records);
        }
        outcome
    }

    /// Makes the batch durable (one group commit). The batch's reports leave the stage after
    /// the handler returns, so they follow their records onto the disk.
    pub(crate) fn commit(self) {
        // Dropping commits, the one path also taken when a handler unwinds.
        drop(self);
    }
}

impl Drop for LaneBatch<'_> {
    /// Commits the batch. A journal that cannot be written stops the process: the books are
    /// already ahead of the disk, and after a failed `fsync` retrying proves nothing (the
    /// kernel may have dropped the pages), so nothing of this batch may be acked.
    fn drop(&mut self) {
        if self.lane.records.is_empty() {
            return;
        }
        if let Err(e) = self.lane.journal.commit(&mut self.lane.records) {
            tracing::error!(error = %e, "journal: batch not durable; aborting before its reports leave");
            std::process::abort();
        }
    }
}
