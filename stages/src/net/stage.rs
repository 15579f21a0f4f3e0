//! The network as two stages of the order pipeline (SEDA's aSocket read and write stages), so
//! `/metrics`, `sedaflow top`, `sedaflow graph` and the dashboard show it like decode or
//! match. Their queues and threads are the event loops' ([`loops`](super::loops)); the engine
//! reads them at each scrape ([`sedaflow::ExternalQueue`]), so the network pays nothing per
//! request for them beyond the per-read counts.
//!
//! # `net_read` (position 0)
//! Events are requests read off the network: frames of TCP sockets and `POST /orders` bodies
//! (HTTP connections run on the same loops).
//! - **enqueued**: requests read. **processed**: handed on to decode (or answered at the read:
//!   a login). **rejected**: refused at the read with a reason (a frame or body too long, a
//!   failed login, admission's `overloaded`, a closed pipeline).
//! - **depth**: requests read and not yet handed on (a reader waiting for room in decode).
//!   **capacity**: `max_connections × max_in_flight`, the most requests the readers may have
//!   read and not seen answered.
//! - **threads**: active event loops, between `[network] min_loops` and `max_loops`;
//!   **utilization**: the loops' busy share since the last scrape.
//!
//! # `net_write` (last position)
//! Events are bytes of output (replies and reports) for TCP clients: what the hard cap and the
//! watermarks bound.
//! - **processed**: bytes written to sockets. **dropped**: bytes discarded (for a connection
//!   cut at the hard cap or gone). **enqueued**: processed + dropped + depth.
//! - **depth**: bytes accepted and not yet written, over every session. **capacity**:
//!   `max_connections × write_hard_cap`.
//! - **threads**: the same event loops (writes are made by whichever thread files the output,
//!   the loop's writer task only while a socket is full).

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use sedaflow::{ExternalCounts, ExternalGauges, ExternalQueue};

use super::loops::EventLoops;
use crate::config::Limits;
use crate::internal_events::OutputCounts;

/// The read stage's name.
pub(crate) const NET_READ: &str = "net_read";
/// The write stage's name.
pub(crate) const NET_WRITE: &str = "net_write";

/// The two stages' views of the loops.
pub(crate) fn stages(
    loops: &Arc<EventLoops>,
    limits: &Limits,
    output: &Arc<OutputCounts>,
) -> (Arc<dyn ExternalQueue>, Arc<dyn ExternalQueue>) {
    let pool = Arc::new(LoopPool {
        loops: loops.clone(),
        seen: Mutex::new(None),
    });
    let read = NetRead {
        pool: pool.clone(),
        capacity: read_capacity(limits),
    };
    let write = NetWrite {
        pool,
        output: output.clone(),
        capacity: write_capacity(limits),
    };
    (Arc::new(read), Arc::new(write))
}

/// `net_read`'s bound: requests the readers may have read and not seen answered.
pub(crate) fn read_capacity(limits: &Limits) -> usize {
    limits.max_connections.saturating_mul(limits.max_in_flight)
}

/// `net_write`'s bound: bytes of output accepted and not yet written.
pub(crate) fn write_capacity(limits: &Limits) -> usize {
    limits.max_connections.saturating_mul(limits.write_hard_cap)
}

/// The loops' pool gauges, shared by both stages.
struct LoopPool {
    loops: Arc<EventLoops>,
    /// Busy time over every loop and when it was read, for utilization between scrapes.
    seen: Mutex<Option<(Instant, Duration, f64)>>,
}

impl LoopPool {
    fn gauges(&self, depth: usize, capacity: usize) -> ExternalGauges {
        ExternalGauges {
            depth,
            capacity,
            threads: self.loops.threads(),
            threads_min: self.loops.min(),
            threads_max: self.loops.max(),
            utilization: self.utilization(),
            ..ExternalGauges::default()
        }
    }

    /// Busy share of the loops since the previous reading (by either stage, so the two show
    /// the same figure within a scrape).
    fn utilization(&self) -> f64 {
        let busy = self.loops.work().0;
        let now = Instant::now();
        let threads = self.loops.threads().max(1) as f64;
        let mut seen = self.seen.lock();
        let share = match *seen {
            Some((at, _, share)) if now - at < Duration::from_millis(100) => return share,
            Some((at, before, _)) => {
                let wall = (now - at).as_secs_f64() * threads;
                (busy.saturating_sub(before).as_secs_f64() / wall).clamp(0.0, 1.0)
            }
            None => 0.0,
        };
        *seen = Some((now, busy, share));
        share
    }
}

struct NetRead {
    pool: Arc<LoopPool>,
    capacity: usize,
}

impl ExternalQueue for NetRead {
    fn gauges(&self) -> ExternalGauges {
        let held = self.pool.loops.reads().held();
        self.pool
            .gauges(usize::try_from(held).unwrap_or(usize::MAX), self.capacity)
    }

    fn counts(&self) -> Option<ExternalCounts> {
        let r = self.pool.loops.reads();
        Some(ExternalCounts {
            enqueued: r.read.load(Relaxed),
            processed: r.handed.load(Relaxed),
            rejected: r.refused.load(Relaxed),
            ..ExternalCounts::default()
        })
    }
}

struct NetWrite {
    pool: Arc<LoopPool>,
    output: Arc<OutputCounts>,
    capacity: usize,
}

impl NetWrite {
    fn pending(&self) -> usize {
        let mut pending = 0;
        self.pool.loops.each_session(|c| pending += c.pending());
        pending
    }
}

impl ExternalQueue for NetWrite {
    fn gauges(&self) -> ExternalGauges {
        self.pool.gauges(self.pending(), self.capacity)
    }

    fn counts(&self) -> Option<ExternalCounts> {
        let written = self.output.written.load(Relaxed);
        let dropped = self.output.discarded.load(Relaxed);
        Some(ExternalCounts {
            enqueued: written + dropped + self.pending() as u64,
            processed: written,
            dropped_oldest: dropped,
            ..ExternalCounts::default()
        })
    }
}
