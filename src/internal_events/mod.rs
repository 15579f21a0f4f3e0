//! Internal events: the one place that talks to the metrics exporter.
//!
//! The hot path bumps the stages' own atomics and records histograms once per batch. The
//! engine's series are not kept in the `metrics` recorder: each scrape renders them from
//! the live pipelines themselves, labelled `pipeline` and `stage`. So they are right whenever
//! the exporter was installed (a handle taken before a recorder exists records nothing), and a
//! pipeline's series go when it does (the Prometheus recorder cannot forget one series).
//!
//! # Pipelines
//! A pipeline registers at build under its name and stays listed until dropped (shutdown
//! consumes it). A name already listed gets a suffix (`-2`, `-3`, …) so two live pipelines
//! never render the same series.

pub(crate) mod async_stage;
pub(crate) mod bus;
mod exporter;
mod exposition;
mod histogram;
pub(crate) mod stage;

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Weak};

use parking_lot::Mutex;

pub use exporter::{install_prometheus, ExporterError, MetricsExporter};
pub(crate) use exposition::Exposition;
pub use histogram::Histogram;

/// A pipeline's series, as a scrape renders them.
pub(crate) trait Scraped: Send + Sync {
    /// Appends the series labelled `pipeline` ("since last scrape" peaks restart after it).
    fn render(&self, pipeline: &str, ex: &mut Exposition);
}

struct Listed {
    id: u64,
    label: Arc<str>,
    source: Weak<dyn Scraped>,
}

static LIVE: Mutex<Vec<Listed>> = Mutex::new(Vec::new());
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// A pipeline's place among the rendered ones: dropping it removes the pipeline's series.
#[derive(Debug)]
pub(crate) struct Registration {
    id: u64,
    label: Arc<str>,
}

impl Registration {
    /// The `pipeline` label: the name asked for, suffixed if another live pipeline had it.
    pub(crate) fn label(&self) -> &str {
        &self.label
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        LIVE.lock().retain(|l| l.id != self.id);
    }
}

/// Lists `source` under `name` (or the first free `name-N`).
pub(crate) fn register(name: &str, source: &Arc<dyn Scraped>) -> Registration {
    let mut live = LIVE.lock();
    let taken = |label: &str| live.iter().any(|l| &*l.label == label);
    let label: Arc<str> = if taken(name) {
        (2..)
            .map(|n| format!("{name}-{n}"))
            .find(|l| !taken(l))
            .unwrap_or_default()
            .into()
    } else {
        name.into()
    };
    let id = NEXT_ID.fetch_add(1, Relaxed);
    live.push(Listed {
        id,
        label: label.clone(),
        source: Arc::downgrade(source),
    });
    Registration { id, label }
}

/// Every live pipeline's series, then the process's own histograms, in the text format.
pub(crate) fn render_all(out: &mut String) {
    let live: Vec<(Arc<str>, Arc<dyn Scraped>)> = LIVE
        .lock()
        .iter()
        .filter_map(|l| Some((l.label.clone(), l.source.upgrade()?)))
        .collect();
    let mut ex = Exposition::default();
    for (label, source) in live {
        source.render(&label, &mut ex);
    }
    histogram::render(&mut ex);
    ex.write(out);
}
