//! Two scrapes and the time between them → what `top` shows: rates, percentiles of what was
//! observed in between, and the stage that limits throughput. Pure.

use std::cmp::Ordering;
use std::time::Duration;

use crate::activity::{Accounts, MarketData};
use crate::histogram::Histogram;
use crate::parse::Scrape;

const INFO: &str = "sedaflow_stage_info";
/// A growing queue counts as saturation from this fill on (below it, growth is noise from
/// when the scrape fell inside a batch).
const GROWING_FILL: f64 = 0.01;

/// The server-wide line.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Header {
    /// Requests that reached matching, per second.
    pub orders_per_s: f64,
    /// Replies written, per second.
    pub answered_per_s: f64,
    /// Requests refused (every reason), per second.
    pub refused_per_s: f64,
    /// Median read → reply latency over the interval, seconds.
    pub latency_p50: Option<f64>,
    /// 99th percentile read → reply latency over the interval, seconds.
    pub latency_p99: Option<f64>,
    /// Open connections.
    pub connections: Option<f64>,
}

/// One stage. Queue and pool figures are `None` for a stage fused behind another (the
/// domain's entry stage owns them).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StageRow {
    /// Stage name; `pipeline/stage` when the server runs more than one pipeline.
    pub name: String,
    /// The pipeline it belongs to (its `pipeline` label; empty without one).
    pub pipeline: String,
    /// Place in the pipeline (from `sedaflow_stage_info`).
    pub position: u32,
    /// Domain (entry stage's name).
    pub domain: String,
    /// `entry` or `fused`.
    pub role: String,
    /// Whether the stage is keyed.
    pub keyed: bool,
    /// Admission policy.
    pub when_full: String,
    /// Events queued now.
    pub depth: Option<f64>,
    /// Queue bound.
    pub capacity: Option<f64>,
    /// Highest depth since the previous scrape.
    pub peak: Option<f64>,
    /// Change of depth since the previous scrape.
    pub depth_change: f64,
    /// Events taken in, per second.
    pub in_per_s: f64,
    /// Events processed, per second.
    pub out_per_s: f64,
    /// Events handed back to producers, per second.
    pub rejected_per_s: f64,
    /// Events dropped (newest and oldest), per second.
    pub dropped_per_s: f64,
    /// Seconds producers spent blocked on the queue per second (1.0 = one producer always).
    pub backpressure: Option<f64>,
    /// Pool threads now.
    pub threads: Option<f64>,
    /// Pool bound.
    pub threads_max: Option<f64>,
    /// Mean events per batch over the interval.
    pub batch: Option<f64>,
    /// 99th percentile handler time per event over the interval, seconds.
    pub service_p99: Option<f64>,
    /// 99th percentile queue wait over the interval, seconds.
    pub wait_p99: Option<f64>,
    /// Share of the pool's thread time spent in handlers.
    pub utilization: Option<f64>,
    /// The stage limiting throughput (see the module docs).
    pub bottleneck: bool,
}

impl StageRow {
    /// Depth over capacity, 0..=1.
    pub fn fill(&self) -> Option<f64> {
        match (self.depth, self.capacity) {
            (Some(d), Some(c)) if c > 0.0 => Some((d / c).clamp(0.0, 1.0)),
            _ => None,
        }
    }

    fn saturated(&self) -> bool {
        self.utilization.unwrap_or(0.0) >= 0.5
            || (self.depth_change > 0.0 && self.fill().unwrap_or(0.0) >= GROWING_FILL)
            || self.backpressure.unwrap_or(0.0) > 0.01
            || self.rejected_per_s > 0.0
            || self.dropped_per_s > 0.0
            || self.fill().unwrap_or(0.0) >= 0.5
    }
}

/// How rows are ordered; `s` cycles through them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SortKey {
    /// Pipeline order.
    #[default]
    Pipeline,
    /// Highest utilisation first.
    Utilization,
    /// Deepest queue first.
    Depth,
    /// Most events in per second first.
    Throughput,
}

impl SortKey {
    /// The next key in the cycle.
    pub fn next(self) -> SortKey {
        match self {
            SortKey::Pipeline => SortKey::Utilization,
            SortKey::Utilization => SortKey::Depth,
            SortKey::Depth => SortKey::Throughput,
            SortKey::Throughput => SortKey::Pipeline,
        }
    }

    /// Name shown in the title.
    pub fn as_str(self) -> &'static str {
        match self {
            SortKey::Pipeline => "pipeline",
            SortKey::Utilization => "utilisation",
            SortKey::Depth => "depth",
            SortKey::Throughput => "in/s",
        }
    }
}

/// What one frame shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct View {
    /// Server-wide figures.
    pub header: Header,
    /// One row per stage.
    pub rows: Vec<StageRow>,
    /// Logins and sessions, when the server has accounts.
    pub accounts: Option<Accounts>,
    /// WebSocket market data, when the server serves it.
    pub market: Option<MarketData>,
}

impl View {
    /// Computes the view from the previous scrape, the current one and the time between them.
    /// Stages are those `current` declares in `sedaflow_stage_info`, in pipeline order.
    pub fn between(previous: &Scrape, current: &Scrape, elapsed: Duration) -> View {
        let d = Delta {
            previous,
            current,
            secs: elapsed.as_secs_f64().max(1e-3),
        };
        let header = Header {
            orders_per_s: d.rate("sedaflow_server_requests_total", &[]),
            answered_per_s: d.rate("sedaflow_server_answered_total", &[]),
            refused_per_s: d.rate("sedaflow_server_refused_total", &[]),
            latency_p50: d
                .histogram("sedaflow_server_order_latency_seconds", &[])
                .and_then(|h| h.quantile(0.5)),
            latency_p99: d
                .histogram("sedaflow_server_order_latency_seconds", &[])
                .and_then(|h| h.quantile(0.99)),
            connections: current.sum("sedaflow_server_connections", &[]),
        };
        let mut rows: Vec<StageRow> = current
            .select(INFO, &[])
            .filter_map(|info| Some((info, info.label("stage")?)))
            .map(|(info, name)| d.row(info, name))
            .collect();
        rows.sort_by(|a, b| (&a.pipeline, a.position).cmp(&(&b.pipeline, b.position)));
        // Stages of different pipelines may share a name: their rows must not look alike.
        if rows.iter().any(|r| r.pipeline != rows[0].pipeline) {
            for r in &mut rows {
                r.name = format!("{}/{}", r.pipeline, r.name);
            }
        }
        let bottleneck = rows
            .iter()
            .enumerate()
            .filter(|(_, r)| r.saturated())
            .max_by(|(_, a), (_, b)| {
                cmp_f(a.utilization, b.utilization).then(cmp_f(a.fill(), b.fill()))
            })
            .map(|(i, _)| i);
        if let Some(i) = bottleneck {
            rows[i].bottleneck = true;
        }
        View {
            header,
            rows,
            accounts: Accounts::from(&d),
            market: MarketData::from(&d),
        }
    }

    /// Orders the rows by `key` (ties keep pipeline order).
    pub fn sort(&mut self, key: SortKey) {
        self.rows.sort_by(|a, b| {
            let by = match key {
                SortKey::Pipeline => Ordering::Equal,
                SortKey::Utilization => cmp_f(b.utilization, a.utilization),
                SortKey::Depth => cmp_f(b.depth, a.depth),
                SortKey::Throughput => b.in_per_s.total_cmp(&a.in_per_s),
            };
            by.then(a.position.cmp(&b.position))
        });
    }
}

fn cmp_f(a: Option<f64>, b: Option<f64>) -> Ordering {
    a.unwrap_or(-1.0).total_cmp(&b.unwrap_or(-1.0))
}

/// Two scrapes and the seconds between them.
pub(crate) struct Delta<'a> {
    previous: &'a Scrape,
    pub(crate) current: &'a Scrape,
    secs: f64,
}

impl Delta<'_> {
    /// Per-second increase of a counter; a counter that went down restarted from zero; one
    /// absent before has no rate yet.
    pub(crate) fn rate(&self, name: &str, filter: &[(&str, &str)]) -> f64 {
        match (
            self.previous.sum(name, filter),
            self.current.sum(name, filter),
        ) {
            (Some(p), Some(c)) if c >= p => (c - p) / self.secs,
            (Some(_), Some(c)) => c / self.secs,
            _ => 0.0,
        }
    }

    fn histogram(&self, name: &str, filter: &[(&str, &str)]) -> Option<Histogram> {
        let current = self.current.histogram(name, filter)?;
        Some(match self.previous.histogram(name, filter) {
            Some(previous) => current.since(&previous),
            None => current,
        })
    }

    fn row(&self, info: &crate::parse::Sample, name: &str) -> StageRow {
        let pipeline = info.label("pipeline");
        let both = [("pipeline", pipeline.unwrap_or_default()), ("stage", name)];
        // Each pipeline's own series: same-named stages of two pipelines are two rows.
        let f: &[(&str, &str)] = match pipeline {
            Some(_) => &both,
            None => &both[1..],
        };
        let gauge = |metric: &str| self.current.sum(metric, f);
        let depth = gauge("sedaflow_stage_queue_depth");
        let batch = self
            .histogram("sedaflow_stage_batch_size", f)
            .and_then(|h| h.mean());
        StageRow {
            name: name.to_owned(),
            pipeline: pipeline.unwrap_or_default().to_owned(),
            position: info
                .label("position")
                .and_then(|p| p.parse().ok())
                .unwrap_or(u32::MAX),
            domain: info.label("domain").unwrap_or(name).to_owned(),
            role: info.label("role").unwrap_or("entry").to_owned(),
            keyed: info.label("keyed") == Some("true"),
            when_full: info.label("when_full").unwrap_or("").to_owned(),
            depth,
            capacity: gauge("sedaflow_stage_queue_capacity"),
            peak: gauge("sedaflow_stage_queue_depth_peak"),
            depth_change: match (depth, self.previous.sum("sedaflow_stage_queue_depth", f)) {
                (Some(c), Some(p)) => c - p,
                _ => 0.0,
            },
            in_per_s: self.rate("sedaflow_stage_events_enqueued_total", f),
            out_per_s: self.rate("sedaflow_stage_events_processed_total", f),
            rejected_per_s: self.rate("sedaflow_stage_events_rejected_total", f),
            dropped_per_s: self.rate("sedaflow_stage_events_dropped_total", f),
            backpressure: self
                .current
                .sum("sedaflow_stage_blocked_seconds_sum", f)
                .map(|_| self.rate("sedaflow_stage_blocked_seconds_sum", f)),
            threads: gauge("sedaflow_stage_threads"),
            threads_max: gauge("sedaflow_stage_threads_max"),
            batch,
            service_p99: self
                .histogram("sedaflow_stage_service_seconds", f)
                .and_then(|h| h.quantile(0.99)),
            wait_p99: self
                .histogram("sedaflow_stage_queue_wait_seconds", f)
                .and_then(|h| h.quantile(0.99)),
            utilization: gauge("sedaflow_stage_utilization_ratio"),
            bottleneck: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scrape(text: &str) -> Scrape {
        Scrape::parse(text).expect("valid exposition")
    }

    fn stage(name: &str, pos: u32, enq: u64, depth: u64, util: f64, blocked: f64) -> String {
        format!(
            "sedaflow_stage_info{{stage=\"{name}\",position=\"{pos}\",domain=\"{name}\",role=\"entry\",keyed=\"false\",when_full=\"block\"}} 1\n\
             sedaflow_stage_events_enqueued_total{{stage=\"{name}\"}} {enq}\n\
             sedaflow_stage_events_processed_total{{stage=\"{name}\"}} {enq}\n\
             sedaflow_stage_events_dropped_total{{stage=\"{name}\",reason=\"newest\"}} {enq}\n\
             sedaflow_stage_events_dropped_total{{stage=\"{name}\",reason=\"oldest\"}} 1\n\
             sedaflow_stage_queue_depth{{stage=\"{name}\"}} {depth}\n\
             sedaflow_stage_queue_capacity{{stage=\"{name}\"}} 100\n\
             sedaflow_stage_utilization_ratio{{stage=\"{name}\"}} {util}\n\
             sedaflow_stage_blocked_seconds_sum{{stage=\"{name}\"}} {blocked}\n"
        )
    }

    #[test]
    fn same_named_stages_of_two_pipelines_are_two_rows() {
        let of = |pipeline: &str, enqueued: u64| {
            stage("a", 0, enqueued, 0, 0.1, 0.0)
                .replace("{stage=", &format!("{{pipeline=\"{pipeline}\",stage="))
        };
        let a = scrape(&(of("orders", 0) + &of("audit", 0)));
        let b = scrape(&(of("orders", 100) + &of("audit", 10)));
        let v = View::between(&a, &b, Duration::from_secs(1));
        let rows: Vec<_> = v
            .rows
            .iter()
            .map(|r| (r.name.as_str(), r.in_per_s))
            .collect();
        assert_eq!(rows, [("audit/a", 10.0), ("orders/a", 100.0)]);
        // One pipeline: plain stage names.
        let v = View::between(
            &scrape(&of("orders", 0)),
            &scrape(&of("orders", 5)),
            Duration::from_secs(1),
        );
        assert_eq!(v.rows[0].name, "a");
        assert_eq!(v.rows[0].pipeline, "orders");
    }

    #[test]
    fn rows_follow_stage_info_positions_with_rates() {
        let a = scrape(&(stage("b", 1, 100, 0, 0.1, 0.0) + &stage("a", 0, 10, 0, 0.1, 0.0)));
        let b = scrape(&(stage("b", 1, 300, 0, 0.1, 0.5) + &stage("a", 0, 30, 0, 0.1, 0.0)));
        let v = View::between(&a, &b, Duration::from_secs(2));
        let names: Vec<_> = v.rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(v.rows[0].in_per_s, 10.0);
        assert_eq!(v.rows[1].out_per_s, 100.0);
        // newest and oldest add up; oldest did not change
        assert_eq!(v.rows[1].dropped_per_s, 100.0);
        assert_eq!(v.rows[1].backpressure, Some(0.25));
        assert_eq!(v.rows[0].backpressure, Some(0.0));
    }

    #[test]
    fn a_restarted_server_counts_from_zero() {
        let a = scrape(&stage("a", 0, 1000, 0, 0.1, 0.0));
        let b = scrape(&stage("a", 0, 40, 0, 0.1, 0.0));
        let v = View::between(&a, &b, Duration::from_secs(1));
        assert_eq!(v.rows[0].in_per_s, 40.0);
    }

    #[test]
    fn bottleneck_is_the_busiest_saturated_stage() {
        let a = scrape(&(stage("a", 0, 0, 0, 0.9, 0.0) + &stage("b", 1, 0, 5, 0.6, 0.0)));
        // a: busy but its queue is steady and nobody waits on it; b: growing queue
        let b = scrape(&(stage("a", 0, 0, 0, 0.4, 0.0) + &stage("b", 1, 0, 50, 0.45, 0.0)));
        let v = View::between(&a, &b, Duration::from_secs(1));
        let flagged: Vec<_> = v
            .rows
            .iter()
            .filter(|r| r.bottleneck)
            .map(|r| &r.name)
            .collect();
        assert_eq!(flagged, ["b"]);
        // idle pipeline: nothing flagged
        let idle = scrape(&(stage("a", 0, 0, 0, 0.1, 0.0) + &stage("b", 1, 0, 2, 0.1, 0.0)));
        let v = View::between(&idle, &idle, Duration::from_secs(1));
        assert!(v.rows.iter().all(|r| !r.bottleneck));
    }

    #[test]
    fn sort_orders_by_key_and_back() {
        let a = scrape(&(stage("a", 0, 0, 1, 0.2, 0.0) + &stage("b", 1, 0, 9, 0.1, 0.0)));
        let mut v = View::between(&a, &a, Duration::from_secs(1));
        v.sort(SortKey::Depth);
        assert_eq!(v.rows[0].name, "b");
        v.sort(SortKey::Utilization);
        assert_eq!(v.rows[0].name, "a");
        v.sort(SortKey::Depth);
        v.sort(SortKey::Pipeline);
        assert_eq!(v.rows[0].name, "a");
        assert_eq!(SortKey::Throughput.next(), SortKey::Pipeline);
    }
}
