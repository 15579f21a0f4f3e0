//! The load sweep (`sedaflow loadgen --sweep`): the server at offered loads from below to
//! well above its capacity, open loop, once per server variant — SEDA's well-conditioning
//! figure. This module holds what is not process handling: the variants' configurations,
//! the rows, the CSV, the verdict and the plot.

mod plot;

use std::fmt::Write as _;
use std::time::Duration;

pub use plot::plot;

/// A server set-up the sweep compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Variant {
    /// The default: admission control on, bounded queues.
    Adaptive,
    /// Admission control off; the queues stay bounded and block, so TCP pushes back.
    NoAdmission,
    /// Admission control off and every queue and per-connection limit practically
    /// unbounded: what a naive server does.
    Unbounded,
}

impl Variant {
    /// Its name in the CSV and the plot.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Adaptive => "adaptive",
            Variant::NoAdmission => "no-admission",
            Variant::Unbounded => "unbounded",
        }
    }
}

/// The synthetic business stage every variant runs, so one load generator on a small
/// machine can offer several times the capacity (`threads / delay`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Workload {
    /// Matching threads, each waiting `delay` per order. The stage gets eight lanes per
    /// thread, so an unlucky spread of symbols over lanes leaves no thread idle.
    pub threads: usize,
    /// Synthetic wait per order on a lane.
    pub delay: Duration,
    /// The admission controller's P90 target.
    pub target: Duration,
}

impl Workload {
    /// Capacity on paper: orders per second.
    pub fn capacity(&self) -> f64 {
        self.threads as f64 / self.delay.as_secs_f64()
    }

    /// The server configuration (TOML) of `variant`, listening on free loopback ports.
    pub fn server_config(&self, variant: Variant) -> String {
        let (threads, lanes) = (self.threads, self.threads * 8);
        let mut toml = format!(
            "tcp = \"127.0.0.1:0\"\nhttp = \"127.0.0.1:0\"\nmetrics = \"127.0.0.1:0\"\n\n\
             [synthetic]\nmatch_delay = \"{}\"\n\n",
            humantime::format_duration(self.delay)
        );
        // Decode must not carry batches on into a sleeping matching lane (hand-off), and
        // matching needs a fixed pool for capacity to be threads / delay.
        toml += "[stages.decode]\nhandoff = false\n";
        let unbounded = variant == Variant::Unbounded;
        if unbounded {
            toml += "capacity = 100000000\n";
        }
        let _ = write!(
            toml,
            "\n[stages.match]\nhandoff = false\nlanes = {lanes}\nbatch = {{ max = 4, initial = 2 }}\n\
             pool = {{ min = {threads}, max = {threads}, adaptive = false }}\n"
        );
        if unbounded {
            toml += "capacity = 100000000\n\n[stages.encode]\ncapacity = 100000000\n\n\
                     [limits]\nmax_in_flight = 1000000000\nwrite_high_watermark = 1000000000000\n\
                     write_low_watermark = 1000000000000\nwrite_hard_cap = 1000000000000\n";
        }
        let _ = write!(
            toml,
            "\n[admission]\nenabled = {}\ntarget = \"{}\"\n",
            variant == Variant::Adaptive,
            humantime::format_duration(self.target)
        );
        toml
    }
}

/// One step of the sweep.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// The server variant.
    pub variant: Variant,
    /// Offered load as a multiple of the measured capacity.
    pub multiplier: f64,
    /// Requests offered per second.
    pub offered: f64,
    /// Requests served per second (answered, not refused for load).
    pub goodput: f64,
    /// Requests answered `reject`/`overloaded` per second.
    pub refused: f64,
    /// P50 latency of every answered request.
    pub p50: Duration,
    /// P99 latency of every answered request.
    pub p99: Duration,
    /// P99 latency of the admitted (not refused) requests.
    pub admitted_p99: Duration,
    /// Requests never answered.
    pub lost: u64,
    /// The server's peak resident memory during the step, in bytes.
    pub peak_rss: u64,
}

/// The sweep's CSV, one row per step.
pub fn csv(rows: &[Row]) -> String {
    let mut out = String::from(
        "variant,multiplier,offered_per_s,goodput_per_s,refused_per_s,p50_ms,p99_ms,admitted_p99_ms,lost,peak_rss_mb\n",
    );
    for r in rows {
        let _ = writeln!(
            out,
            "{},{},{:.0},{:.0},{:.0},{:.3},{:.3},{:.3},{},{:.1}",
            r.variant.name(),
            r.multiplier,
            r.offered,
            r.goodput,
            r.refused,
            ms(r.p50),
            ms(r.p99),
            ms(r.admitted_p99),
            r.lost,
            r.peak_rss as f64 / (1 << 20) as f64
        );
    }
    out
}

pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The targets of a well-conditioned server, checked on one variant's rows: at the highest
/// load, goodput ≥ 90% of the peak, admitted P99 ≤ 5× the P99 at 0.5×, peak RSS ≤ 1.5× the
/// RSS at 1×; nothing lost at any step. Each line says what was measured and whether it
/// holds.
pub fn verdict(rows: &[Row], variant: Variant) -> Vec<(String, bool)> {
    let rows: Vec<&Row> = rows.iter().filter(|r| r.variant == variant).collect();
    let at = |m: f64| {
        rows.iter()
            .find(|r| (r.multiplier - m).abs() < 1e-9)
            .copied()
    };
    let (Some(top), Some(half), Some(one)) = (
        rows.iter()
            .max_by(|a, b| a.multiplier.total_cmp(&b.multiplier)),
        at(0.5),
        at(1.0),
    ) else {
        return vec![("the sweep needs steps 0.5 and 1".into(), false)];
    };
    let peak = rows.iter().map(|r| r.goodput).fold(0.0, f64::max);
    let lost: u64 = rows.iter().map(|r| r.lost).sum();
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { f64::INFINITY };
    let goodput = ratio(top.goodput, peak);
    let p99 = ratio(ms(top.admitted_p99), ms(half.admitted_p99));
    let rss = ratio(top.peak_rss as f64, one.peak_rss as f64);
    let x = top.multiplier;
    vec![
        (
            format!("goodput at {x}x = {goodput:.2} of peak (target >= 0.90)"),
            goodput >= 0.9,
        ),
        (
            format!("admitted P99 at {x}x = {p99:.2}x the P99 at 0.5x (target <= 5)"),
            p99 <= 5.0,
        ),
        (
            format!("peak RSS at {x}x = {rss:.2}x the RSS at 1x (target <= 1.5)"),
            rss <= 1.5,
        ),
        (
            format!("lost over all steps = {lost} (target 0)"),
            lost == 0,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use sedaflow_stages::ServerConfig;

    fn workload() -> Workload {
        Workload {
            threads: 4,
            delay: Duration::from_micros(250),
            target: Duration::from_millis(2),
        }
    }

    #[test]
    fn every_variant_config_is_a_valid_server_config() {
        for v in [Variant::Adaptive, Variant::NoAdmission, Variant::Unbounded] {
            let text = workload().server_config(v);
            let config: ServerConfig =
                toml::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
            config.validate().unwrap();
            assert_eq!(config.admission.enabled, v == Variant::Adaptive);
            assert_eq!(config.synthetic.match_delay, Duration::from_micros(250));
            assert_eq!(config.stages.matching.pool.max.get(), 4);
            assert_eq!(
                config.stages.matching.capacity.get() > 1_000_000,
                v == Variant::Unbounded
            );
        }
        assert_eq!(workload().capacity(), 16_000.0);
    }

    fn row(multiplier: f64, goodput: f64, p99_ms: u64, rss: u64, lost: u64) -> Row {
        Row {
            variant: Variant::Adaptive,
            multiplier,
            offered: multiplier * 1000.0,
            goodput,
            refused: 0.0,
            p50: Duration::from_millis(1),
            p99: Duration::from_millis(p99_ms),
            admitted_p99: Duration::from_millis(p99_ms),
            lost,
            peak_rss: rss,
        }
    }

    #[test]
    fn verdict_checks_each_target() {
        let good = [
            row(0.5, 500.0, 2, 10, 0),
            row(1.0, 990.0, 4, 10, 0),
            row(4.0, 950.0, 9, 12, 0),
        ];
        assert!(verdict(&good, Variant::Adaptive).iter().all(|(_, ok)| *ok));
        let bad = [
            row(0.5, 500.0, 2, 10, 0),
            row(1.0, 990.0, 4, 10, 1),
            row(4.0, 500.0, 20, 30, 0),
        ];
        let v = verdict(&bad, Variant::Adaptive);
        assert_eq!(v.iter().filter(|(_, ok)| !ok).count(), 4, "{v:?}");
        let text = csv(&good);
        assert_eq!(text.lines().count(), 4);
        assert!(text
            .lines()
            .nth(3)
            .unwrap()
            .starts_with("adaptive,4,4000,950,0,1.000,9.000,9.000,0,"));
    }
}
