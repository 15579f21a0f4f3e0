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

/// Bucket bounds of every `_seconds` histogram: 1 µs to 10 s.
pub(crate) const SECONDS: &[f64] = &[
    1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2,
    5e-2, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Bucket bounds of size histograms (events per batch).
pub(crate) const SIZES: &[f64] = &[
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 2048.0, 4096.0,
];

/// Every histogram made, rendered by the exporter (like the recorder's series, they live for
/// the process).
static ALL: Mutex<Vec<Arc<Series>>> = Mutex::new(Vec::new());

struct Series {
    name: &'static str,
    help: &'static str,
    /// Rendered as `{k="v",...}`, `le` appended.
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
        let mut rendered = String::new();
        for (k, v) in labels {
            let v = v
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            let _ = write!(rendered, "{k}=\"{v}\",");
        }
        let mut all = ALL.lock();
        if let Some(s) = all.iter().find(|s| s.name == name && s.labels == rendered) {
            return Histogram(s.clone());
        }
        let series = Arc::new(Series {
            name,
            help,
            labels: rendered,
            bounds,
            // Exact for these bounds: integral numbers of nanoseconds or events.
            limits: bounds.iter().map(|b| (b * per).round() as u64).collect(),
            per,
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum: AtomicU64::new(0),
        });
        all.push(series.clone());
        Histogram(series)
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

/// Appends every histogram in the text exposition format, one family per name.
pub(crate) fn render(out: &mut String) {
    let all = ALL.lock();
    let mut names: Vec<&'static str> = Vec::new();
    for s in all.iter() {
        if !names.contains(&s.name) {
            names.push(s.name);
        }
    }
    for name in names {
        let mut family = all.iter().filter(|s| s.name == name).peekable();
        if let Some(first) = family.peek() {
            let _ = writeln!(out, "# HELP {name} {}", first.help);
            let _ = writeln!(out, "# TYPE {name} histogram");
        }
        for s in family {
            let labels = &s.labels;
            let mut total = 0;
            for (i, count) in s.counts.iter().enumerate() {
                total += count.load(Relaxed);
                match s.bounds.get(i) {
                    Some(le) => {
                        let _ = writeln!(out, "{name}_bucket{{{labels}le=\"{le}\"}} {total}");
                    }
                    None => {
                        let _ = writeln!(out, "{name}_bucket{{{labels}le=\"+Inf\"}} {total}");
                    }
                }
            }
            let labels = match labels.trim_end_matches(',') {
                "" => String::new(),
                l => format!("{{{l}}}"),
            };
            let sum = s.sum.load(Relaxed) as f64 / s.per;
            let _ = writeln!(out, "{name}_sum{labels} {sum}");
            let _ = writeln!(out, "{name}_count{labels} {total}");
        }
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let mut text = String::new();
        render(&mut text);
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
        let mut text = String::new();
        render(&mut text);
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
