//! Histograms for hot paths: fixed Prometheus buckets, counted with relaxed atomic adds.
//!
//! The `metrics` crate's histograms (as metrics-exporter-prometheus records them) keep every
//! sample until the exporter's upkeep: a clock read, an epoch pin and two atomic
//! read-modify-writes per sample, and an allocation per 64 samples. Taken once per batch per
//! stage and once per answered read, that was a tenth of the order server's CPU
//! (BENCHMARKS.md). These add one to their bucket and the value to a sum instead, and the
//! exporter renders them after the recorder's own metrics, in the same exposition format.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use super::exposition::{self, Exposition, Metric};

/// Bucket bounds of every `_seconds` histogram: 1 µs to 10 s.
pub(crate) const SECONDS: &[f64] = &[
    1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2,
    5e-2, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Bucket bounds of size histograms (events per batch).
pub(crate) const SIZES: &[f64] = &[
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 2048.0, 4096.0,
];

/// Every histogram made with `seconds` or `sizes`, rendered by the exporter (like the
/// recorder's series, they live for the process; a pipeline's own go with it).
static ALL: Mutex<Vec<Arc<Series>>> = Mutex::new(Vec::new());

struct Series {
    name: &'static str,
    help: &'static str,
    /// Rendered as `k="v",...` (empty for an owned series, labelled when written).
    labels: String,
    bounds: &'static [f64],
    /// `bounds` in recorded units (nanoseconds for seconds), ascending.
    limits: Box<[u64]>,
    /// Recorded units per rendered unit (1e9 nanoseconds a second).
    per: f64,
    /// Per bucket, not cumulative; the last one is `+Inf`.
    counts: Box<[AtomicU64]>,
    sum: AtomicU64,
}

/// A Prometheus histogram with fixed buckets, cheap enough to record per batch from several
/// threads at once. Clones share the series; making one with the name and labels of an
/// existing series returns that series, as the `histogram!` macro does.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use sedaflow::{install_prometheus, Histogram};
///
/// let exporter = install_prometheus("127.0.0.1:0".parse()?)?;
/// let latency = Histogram::seconds("app_reply_seconds", "Reply latency.", &[("side", "buy")]);
/// latency.record_duration(Duration::from_micros(40));
/// // Same name and labels: the same series.
/// Histogram::seconds("app_reply_seconds", "Reply latency.", &[("side", "buy")])
///     .record_duration(Duration::from_millis(3));
/// let text = exporter.render();
/// assert!(text.contains(r#"app_reply_seconds_bucket{side="buy",le="0.00005"} 1"#), "{text}");
/// assert!(text.contains(r#"app_reply_seconds_count{side="buy"} 2"#), "{text}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Histogram(Arc<Series>);

impl std::fmt::Debug for Histogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Histogram")
            .field("name", &self.0.name)
            .field("labels", &self.0.labels)
            .finish()
    }
}

impl Histogram {
    /// A histogram of durations, in seconds (buckets from 1 µs to 10 s).
    pub fn seconds(name: &'static str, help: &'static str, labels: &[(&str, &str)]) -> Self {
        Self::series(name, help, labels, SECONDS, 1e9)
    }

    /// A histogram of counts (buckets 1, 2, 4, … 4096).
    pub fn sizes(name: &'static str, help: &'static str, labels: &[(&str, &str)]) -> Self {
        Self::series(name, help, labels, SIZES, 1.0)
    }

    fn series(
        name: &'static str,
        help: &'static str,
        labels: &[(&str, &str)],
        bounds: &'static [f64],
        per: f64,
    ) -> Self {
        let rendered = exposition::labels(labels);
        let mut all = ALL.lock();
        if let Some(s) = all.iter().find(|s| s.name == name && s.labels == rendered) {
            return Histogram(s.clone());
        }
        let series = Arc::new(Series::new(name, help, rendered, bounds, per));
        all.push(series.clone());
        Histogram(series)
    }

    /// A seconds histogram owned by its maker, not listed for the process: rendered with the
    /// labels [`write`](Self::write) is given (a pipeline's stage histograms, which go with
    /// their pipeline).
    pub(crate) fn owned_seconds(name: &'static str, help: &'static str) -> Self {
        Histogram(Arc::new(Series::new(
            name,
            help,
            String::new(),
            SECONDS,
            1e9,
        )))
    }

    /// A sizes histogram owned by its maker (see [`owned_seconds`](Self::owned_seconds)).
    pub(crate) fn owned_sizes(name: &'static str, help: &'static str) -> Self {
        Histogram(Arc::new(Series::new(name, help, String::new(), SIZES, 1.0)))
    }

    /// Appends the series, labelled `labels`, to its family.
    pub(crate) fn write(&self, ex: &mut Exposition, labels: &str) {
        self.0.write(ex, labels);
    }

    /// Records a duration (on a seconds histogram).
    pub fn record_duration(&self, d: Duration) {
        self.record(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    }

    /// Records a value in the histogram's unit (nanoseconds, or a count).
    pub fn record(&self, value: u64) {
        let s = &self.0;
        let bucket = s.limits.partition_point(|&limit| limit < value);
        s.counts[bucket].fetch_add(1, Relaxed);
        s.sum.fetch_add(value, Relaxed);
    }
}

impl Series {
    fn new(
        name: &'static str,
        help: &'static str,
        labels: String,
        bounds: &'static [f64],
        per: f64,
    ) -> Self {
        Series {
            name,
            help,
            labels,
            bounds,
            // Exact for these bounds: integral numbers of nanoseconds or events.
            limits: bounds.iter().map(|b| (b * per).round() as u64).collect(),
            per,
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum: AtomicU64::new(0),
        }
    }

    /// Buckets (cumulative), sum and count, labelled `labels` (rendered, possibly empty).
    fn write(&self, ex: &mut Exposition, labels: &str) {
        let name = self.name;
        let out = ex.family(Metric::histogram(name, self.help));
        let lead = if labels.is_empty() {
            String::new()
        } else {
            format!("{labels},")
        };
        let mut total = 0;
        for (i, count) in self.counts.iter().enumerate() {
            total += count.load(Relaxed);
            let _ = match self.bounds.get(i) {
                Some(le) => writeln!(out, "{name}_bucket{{{lead}le=\"{le}\"}} {total}"),
                None => writeln!(out, "{name}_bucket{{{lead}le=\"+Inf\"}} {total}"),
            };
        }
        let braced = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let sum = self.sum.load(Relaxed) as f64 / self.per;
        let _ = writeln!(out, "{name}_sum{braced} {sum}");
        let _ = writeln!(out, "{name}_count{braced} {total}");
    }
}

/// Appends every histogram made with [`Histogram::seconds`] or [`Histogram::sizes`].
pub(crate) fn render(ex: &mut Exposition) {
    for s in ALL.lock().iter() {
        s.write(ex, &s.labels);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered() -> String {
        let mut ex = Exposition::default();
        render(&mut ex);
        let mut text = String::new();
        ex.write(&mut text);
        text
    }

    fn lines_of(text: &str, prefix: &str) -> Vec<String> {
        text.lines()
            .filter(|l| l.starts_with(prefix))
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn values_land_in_the_first_bucket_at_or_above_them_and_render_cumulatively() {
        let h = Histogram::seconds("test_render_seconds", "A test.", &[("stage", "a\"b")]);
        h.record_duration(Duration::from_nanos(1_000)); // on the 1 µs bound
        h.record_duration(Duration::from_nanos(1_001)); // just above it
        h.record_duration(Duration::from_secs(60)); // past every bound
        let text = rendered();
        let family = lines_of(&text, "test_render_seconds");
        assert_eq!(
            family[0],
            "test_render_seconds_bucket{stage=\"a\\\"b\",le=\"0.000001\"} 1"
        );
        assert_eq!(
            family[1],
            "test_render_seconds_bucket{stage=\"a\\\"b\",le=\"0.0000025\"} 2"
        );
        assert_eq!(
            family[21],
            "test_render_seconds_bucket{stage=\"a\\\"b\",le=\"10\"} 2"
        );
        assert_eq!(
            family[22],
            "test_render_seconds_bucket{stage=\"a\\\"b\",le=\"+Inf\"} 3"
        );
        assert_eq!(
            family[23],
            "test_render_seconds_sum{stage=\"a\\\"b\"} 60.000002001"
        );
        assert_eq!(family[24], "test_render_seconds_count{stage=\"a\\\"b\"} 3");
        assert!(text.contains(
            "# HELP test_render_seconds A test.\n# TYPE test_render_seconds histogram\n"
        ));
    }

    #[test]
    fn one_name_and_labels_is_one_series_and_a_family_is_rendered_together() {
        let a = Histogram::sizes("test_family_size", "Sizes.", &[("stage", "a")]);
        let b = Histogram::sizes("test_family_size", "Sizes.", &[("stage", "b")]);
        Histogram::sizes("test_other_size", "Other.", &[]).record(1);
        Histogram::sizes("test_family_size", "Sizes.", &[("stage", "a")]).record(3);
        a.record(4);
        b.record(5000);
        let text = rendered();
        assert_eq!(text.matches("# TYPE test_family_size histogram").count(), 1);
        let family = lines_of(&text, "test_family_size");
        assert_eq!(family.len(), 2 * (SIZES.len() + 3));
        assert!(family[..SIZES.len() + 3]
            .iter()
            .all(|l| l.contains("stage=\"a\"")));
        assert!(family.contains(&"test_family_size_bucket{stage=\"a\",le=\"4\"} 2".to_owned()));
        assert!(family.contains(&"test_family_size_bucket{stage=\"b\",le=\"4096\"} 0".to_owned()));
        assert!(family.contains(&"test_family_size_count{stage=\"b\"} 1".to_owned()));
        assert!(family.contains(&"test_family_size_sum{stage=\"a\"} 7".to_owned()));
        assert!(text.contains("\ntest_other_size_count 1\n"));
    }
}
