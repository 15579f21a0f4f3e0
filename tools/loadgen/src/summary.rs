use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use hdrhistogram::Histogram;

use super::tracker::{Event, Outcome};
use super::MarketSummary;

/// The reject reason of requests the server refused for load.
const OVERLOADED: &str = "overloaded";

/// The longest latency told apart: longer ones count as this.
const MAX_LATENCY_NS: u64 = 60_000_000_000;

/// The counts of one connection (or, merged, of a run), measured requests only.
#[derive(Debug)]
pub(crate) struct Tally {
    pub(crate) sent: u64,
    answered: u64,
    acks: u64,
    cancelled: u64,
    amended: u64,
    rejects: BTreeMap<String, u64>,
    fills: u64,
    errors: u64,
    /// Answer time minus intended send time, in nanoseconds, of answers other than
    /// `reject`/`overloaded` (admitted requests).
    admitted: Histogram<u64>,
    /// The same, of `reject`/`overloaded` answers: the two add up to every answer's, and
    /// each answer is recorded once.
    refused: Histogram<u64>,
    /// Open loop: actual minus intended send time, in nanoseconds.
    send_lag: Histogram<u64>,
    /// When the last measured answer arrived, in nanoseconds since the run's start.
    pub(crate) last_answer_ns: u64,
}

impl Tally {
    pub(crate) fn new() -> Tally {
        Tally {
            sent: 0,
            answered: 0,
            acks: 0,
            cancelled: 0,
            amended: 0,
            rejects: BTreeMap::new(),
            fills: 0,
            errors: 0,
            admitted: histogram(),
            refused: histogram(),
            send_lag: histogram(),
            last_answer_ns: 0,
        }
    }

    /// Counts a measured open-loop request that left `lag_ns` after its intended time.
    pub(crate) fn record_send_lag(&mut self, lag_ns: u64) {
        self.send_lag.saturating_record(lag_ns);
    }

    /// Counts one response that arrived at `now_ns`; fills and errors count from
    /// `measure_from_ns` on, answers when their request was measured.
    pub(crate) fn record(&mut self, event: &Event<'_>, now_ns: u64, measure_from_ns: u64) {
        match *event {
            Event::Answered { pending, outcome } => {
                if !pending.measured {
                    return;
                }
                self.answered += 1;
                self.last_answer_ns = self.last_answer_ns.max(now_ns);
                let latency = now_ns.saturating_sub(pending.intended_ns);
                match outcome {
                    Outcome::Rejected(OVERLOADED) => self.refused.saturating_record(latency),
                    _ => self.admitted.saturating_record(latency),
                }
                match outcome {
                    Outcome::Acked => self.acks += 1,
                    Outcome::Cancelled => self.cancelled += 1,
                    Outcome::Amended => self.amended += 1,
                    Outcome::Rejected(reason) => {
                        // Reasons are few; allocate only the first time each is seen.
                        match self.rejects.get_mut(reason) {
                            Some(count) => *count += 1,
                            None => {
                                self.rejects.insert(reason.to_owned(), 1);
                            }
                        }
                    }
                }
            }
            Event::Fill if now_ns >= measure_from_ns => self.fills += 1,
            Event::Error(_) if now_ns >= measure_from_ns => self.errors += 1,
            _ => {}
        }
    }

    pub(crate) fn merge(&mut self, other: Tally) {
        self.sent += other.sent;
        self.answered += other.answered;
        self.acks += other.acks;
        self.cancelled += other.cancelled;
        self.amended += other.amended;
        for (reason, count) in other.rejects {
            *self.rejects.entry(reason).or_default() += count;
        }
        self.fills += other.fills;
        self.errors += other.errors;
        // Same bounds on both sides, so adding cannot fail.
        let _ = self.admitted.add(&other.admitted);
        let _ = self.refused.add(&other.refused);
        let _ = self.send_lag.add(&other.send_lag);
        self.last_answer_ns = self.last_answer_ns.max(other.last_answer_ns);
    }
}

pub(crate) fn histogram() -> Histogram<u64> {
    // Two significant digits (within 1%) over 1 ns ..= 60 s: the bounds are valid
    // constants. Three made each histogram 300 KB; with three per connection, recording
    // missed the caches and took a tenth of the generator's CPU at 700k requests/s.
    Histogram::new_with_bounds(1, MAX_LATENCY_NS, 2)
        .unwrap_or_else(|_| unreachable!("valid histogram bounds"))
}

/// Latency percentiles, from intended send time to answer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Latency {
    /// Answers measured.
    pub count: u64,
    /// Median.
    pub p50: Duration,
    /// 75th percentile.
    pub p75: Duration,
    /// 90th percentile.
    pub p90: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// 99.9th percentile.
    pub p999: Duration,
    /// Slowest answer.
    pub max: Duration,
    /// Mean.
    pub mean: Duration,
    /// Standard deviation.
    pub stdev: Duration,
}

impl Latency {
    pub(crate) fn of(histogram: &Histogram<u64>) -> Latency {
        if histogram.is_empty() {
            return Latency::default();
        }
        let at = |quantile| Duration::from_nanos(histogram.value_at_quantile(quantile));
        Latency {
            count: histogram.len(),
            p50: at(0.5),
            p75: at(0.75),
            p90: at(0.9),
            p99: at(0.99),
            p999: at(0.999),
            max: Duration::from_nanos(histogram.max()),
            mean: Duration::from_nanos(histogram.mean() as u64),
            stdev: Duration::from_nanos(histogram.stdev() as u64),
        }
    }
}

/// The result of a load run; `Display` prints it like `wrk --latency`.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadgenSummary {
    /// Requests sent after the warm-up.
    pub sent: u64,
    /// Of those, the ones answered.
    pub answered: u64,
    /// Answers that were `ack`.
    pub acks: u64,
    /// Cancels answered with `done`/`cancelled`.
    pub cancelled: u64,
    /// Amends answered with `amended`.
    pub amended: u64,
    /// Answers that were `reject`, by reason.
    pub rejects: BTreeMap<String, u64>,
    /// `fill`s received after the warm-up.
    pub fills: u64,
    /// `error` responses received after the warm-up (none are expected: every request the
    /// load generator sends is well formed).
    pub errors: u64,
    /// Requests still unanswered after the drain wait: `sent - answered`.
    pub lost: u64,
    /// From the end of the warm-up to the end of sending or the last answer, if later.
    pub elapsed: Duration,
    /// Answers per second over `elapsed`.
    pub throughput: f64,
    /// Latency from intended send time to answer.
    pub latency: Latency,
    /// The same, of admitted requests only (answers other than `reject`/`overloaded`).
    pub admitted_latency: Latency,
    /// Open loop: how late requests left against their schedule (pacer and scheduler
    /// wake-ups, a busy sender), a part of `latency`; empty in closed loop.
    pub send_lag: Latency,
    /// What the market-data subscribers saw, when the run had any.
    pub market: Option<MarketSummary>,
}

impl LoadgenSummary {
    pub(crate) fn new(tally: Tally, elapsed: Duration) -> LoadgenSummary {
        let seconds = elapsed.as_secs_f64();
        LoadgenSummary {
            sent: tally.sent,
            answered: tally.answered,
            acks: tally.acks,
            cancelled: tally.cancelled,
            amended: tally.amended,
            rejects: tally.rejects,
            fills: tally.fills,
            errors: tally.errors,
            lost: tally.sent.saturating_sub(tally.answered),
            elapsed,
            throughput: if seconds > 0.0 {
                tally.answered as f64 / seconds
            } else {
                0.0
            },
            latency: Latency::of(&{
                let mut all = tally.admitted.clone();
                // Same bounds on both sides, so adding cannot fail.
                let _ = all.add(&tally.refused);
                all
            }),
            admitted_latency: Latency::of(&tally.admitted),
            send_lag: Latency::of(&tally.send_lag),
            market: None,
        }
    }

    /// Answers `reject`/`overloaded`: refused by the server's admission control or a full
    /// queue.
    pub fn overloaded(&self) -> u64 {
        self.rejects.get(OVERLOADED).copied().unwrap_or(0)
    }

    /// All rejects, whatever the reason.
    pub fn rejected(&self) -> u64 {
        self.rejects.values().sum()
    }
}

/// A duration the way `wrk` prints one: two decimals in `us`, `ms` or `s`.
pub(crate) struct Wrk(pub(crate) Duration);

impl fmt::Display for Wrk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nanos = self.0.as_nanos() as f64;
        let text = if nanos < 1e6 {
            format!("{:.2}us", nanos / 1e3)
        } else if nanos < 1e9 {
            format!("{:.2}ms", nanos / 1e6)
        } else {
            format!("{:.2}s", nanos / 1e9)
        };
        f.pad(&text)
    }
}

impl fmt::Display for LoadgenSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let l = &self.latency;
        writeln!(
            f,
            "  Latency    avg {}  stdev {}  max {}",
            Wrk(l.mean),
            Wrk(l.stdev),
            Wrk(l.max)
        )?;
        writeln!(f, "  Latency Distribution")?;
        for (label, value) in [
            ("50%", l.p50),
            ("75%", l.p75),
            ("90%", l.p90),
            ("99%", l.p99),
            ("99.9%", l.p999),
            ("max", l.max),
        ] {
            writeln!(f, "  {label:>7}  {:>9}", Wrk(value))?;
        }
        let lag = &self.send_lag;
        if lag.count > 0 {
            writeln!(
                f,
                "  Send lag   50% {}  99% {}  max {} (behind schedule, part of latency)",
                Wrk(lag.p50),
                Wrk(lag.p99),
                Wrk(lag.max)
            )?;
        }
        let amended = match self.amended {
            0 => String::new(),
            n => format!(", {n} amended"),
        };
        writeln!(
            f,
            "  {} requests in {:.2}s, {} answered: {} acks, {} cancelled{amended}, {} rejects",
            self.sent,
            self.elapsed.as_secs_f64(),
            self.answered,
            self.acks,
            self.cancelled,
            self.rejected(),
        )?;
        if !self.rejects.is_empty() {
            let reasons: Vec<String> = self
                .rejects
                .iter()
                .map(|(reason, count)| format!("{reason} {count}"))
                .collect();
            writeln!(f, "  rejects: {}", reasons.join(", "))?;
        }
        writeln!(f, "  fills: {}, errors: {}", self.fills, self.errors)?;
        writeln!(f, "Requests/sec: {:>10.2}", self.throughput)?;
        write!(f, "lost: {}", self.lost)?;
        match &self.market {
            Some(market) => write!(f, "\n{market}"),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tracker::{Pending, PendingKind};

    fn answer(id: u64, intended_ns: u64, measured: bool, outcome: Outcome<'_>) -> Event<'_> {
        Event::Answered {
            pending: Pending {
                id,
                kind: PendingKind::Cancel,
                intended_ns,
                measured,
            },
            outcome,
        }
    }

    #[test]
    fn wrk_units() {
        assert_eq!(Wrk(Duration::from_nanos(635_910)).to_string(), "635.91us");
        assert_eq!(Wrk(Duration::from_micros(1_020)).to_string(), "1.02ms");
        assert_eq!(Wrk(Duration::from_millis(2_500)).to_string(), "2.50s");
        assert_eq!(format!("{:>9}", Wrk(Duration::from_micros(5))), "   5.00us");
    }

    #[test]
    fn tally_counts_measured_answers_and_percentiles() {
        let mut a = Tally::new();
        let mut b = Tally::new();
        a.sent = 60;
        b.sent = 42;
        // Latencies 1..=100 µs, spread over two connections.
        for i in 1..=100u64 {
            let tally = if i % 2 == 0 { &mut a } else { &mut b };
            let outcome = match i % 10 {
                0 => Outcome::Rejected("overloaded"),
                1 => Outcome::Cancelled,
                _ => Outcome::Acked,
            };
            tally.record(&answer(i, 1_000, true, outcome), 1_000 + i * 1_000, 0);
        }
        // Warm-up answers, fills and errors before the measurement count nowhere.
        a.record(&answer(0, 0, false, Outcome::Acked), 5, 10);
        a.record(&Event::Fill, 5, 10);
        a.record(&Event::Error("invalid json"), 5, 10);
        a.record(&Event::Fill, 10, 10);
        a.record(&Event::Left, 10, 10);
        a.record_send_lag(2_000);
        b.record_send_lag(1_000);
        a.merge(b);
        let summary = LoadgenSummary::new(a, Duration::from_secs(2));
        assert_eq!(summary.sent, 102);
        assert_eq!(summary.answered, 100);
        assert_eq!(summary.lost, 2);
        assert_eq!(summary.acks, 80);
        assert_eq!(summary.cancelled, 10);
        assert_eq!(summary.rejected(), 10);
        assert_eq!(summary.rejects.get("overloaded"), Some(&10));
        assert_eq!((summary.fills, summary.errors), (1, 0));
        assert_eq!(summary.throughput, 50.0);
        let l = summary.latency;
        assert_eq!(l.count, 100);
        // Within the histogram's 1%.
        let near = |d: Duration, micros: u64| {
            d.as_nanos().abs_diff(u128::from(micros) * 1000) <= u128::from(micros) * 10
        };
        assert!(near(l.p50, 50), "{:?}", l.p50);
        assert!(near(l.p90, 90), "{:?}", l.p90);
        assert!(near(l.p99, 99), "{:?}", l.p99);
        assert!(near(l.max, 100), "{:?}", l.max);
        assert_eq!(summary.send_lag.count, 2);
        assert!(near(summary.send_lag.max, 2), "{:?}", summary.send_lag.max);
        assert!(summary
            .to_string()
            .contains("  Send lag   50% 1.00us  99% 2.01us  max 2.01us"));
    }

    #[test]
    fn display_reads_like_wrk() {
        let mut tally = Tally::new();
        tally.sent = 3;
        // Below 256 ns the histogram is exact; above, within 1% (1.5 ms reads 1.51 ms).
        tally.record(&answer(1, 0, true, Outcome::Acked), 1_000, 0);
        tally.record(
            &answer(2, 0, true, Outcome::Rejected("unknown order")),
            1_500_000,
            0,
        );
        let text = LoadgenSummary::new(tally, Duration::from_secs(1)).to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[1], "  Latency Distribution");
        assert_eq!(lines[2], "      50%     1.00us");
        assert_eq!(lines[7], "      max     1.51ms");
        assert_eq!(
            lines[8],
            "  3 requests in 1.00s, 2 answered: 1 acks, 0 cancelled, 1 rejects"
        );
        assert_eq!(lines[9], "  rejects: unknown order 1");
        assert_eq!(lines[11], "Requests/sec:       2.00");
        assert_eq!(lines.last(), Some(&"lost: 1"));
    }

    #[test]
    fn empty_run_prints_zeros() {
        let summary = LoadgenSummary::new(Tally::new(), Duration::ZERO);
        assert_eq!(summary.latency, Latency::default());
        assert_eq!(summary.send_lag, Latency::default());
        assert!(!summary.to_string().contains("Send lag"));
        assert_eq!(summary.throughput, 0.0);
        assert!(summary.to_string().ends_with("lost: 0"));
    }
}
