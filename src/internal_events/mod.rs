//! Internal events: the one place that talks to the `metrics` crate.
//!
//! The hot path bumps the stages' own atomics; this module turns them into metrics once per
//! batch (histograms) or once per tick and scrape (counters and gauges).

pub(crate) mod async_stage;
pub(crate) mod bus;
mod exporter;
mod histogram;
pub(crate) mod stage;

use std::sync::{Arc, Weak};

use parking_lot::Mutex;

pub use exporter::{install_prometheus, ExporterError, MetricsExporter};
pub use histogram::Histogram;

/// Something whose gauges can be brought up to date (a running pipeline).
pub(crate) trait Refresh: Send + Sync {
    /// `scrape`: a scrape is about to render, so "since last scrape" peaks restart after it.
    fn refresh(&self, scrape: bool);
}

static LIVE: Mutex<Vec<Weak<dyn Refresh>>> = Mutex::new(Vec::new());

pub(crate) fn register(r: &Arc<dyn Refresh>) {
    let mut live = LIVE.lock();
    live.retain(|w| w.strong_count() > 0);
    live.push(Arc::downgrade(r));
}

pub(crate) fn refresh_all(scrape: bool) {
    let live: Vec<Arc<dyn Refresh>> = LIVE.lock().iter().filter_map(Weak::upgrade).collect();
    for r in live {
        r.refresh(scrape);
    }
}
