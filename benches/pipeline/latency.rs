//! Open-loop latency harness, usable with any pipeline.
//!
//! The harness offers events at a fixed rate. Each event carries a stamp: the
//! nanoseconds (on a shared [`Clock`]) at which it was *due*, not when it was
//! actually sent, so a producer that falls behind or blocks on a full queue is
//! charged for it (no coordinated omission). The pipeline's last stage hands
//! each stamp to a [`LatencySink`], which records `now - stamp`.
//!
//! To plug a pipeline in, give [`measure_latency`] a builder that receives the
//! sink, moves it into the last stage, and returns a "send one stamped event"
//! closure. Dropping that closure must shut the pipeline down so that the
//! sink is dropped: the sink hands its histogram back from `Drop`.

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

/// How a latency run is driven.
#[derive(Clone, Copy, Debug)]
pub struct LatencyConfig {
    /// Offered events per second.
    pub rate: u64,
    /// Measured period, after the warm-up.
    pub duration: Duration,
    /// Events due in this leading period are delivered but not recorded.
    pub warmup: Duration,
}

/// Nanoseconds since a common origin; copies share the origin.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    origin: Instant,
}

impl Clock {
    fn new() -> Self {
        Self {
            origin: Instant::now(),
        }
    }

    pub fn now_nanos(&self) -> u64 {
        self.origin.elapsed().as_nanos() as u64
    }
}

/// Lives in the pipeline's last stage and records each event's latency.
pub struct LatencySink {
    clock: Clock,
    warmup_nanos: u64,
    /// Stamps before this are warm-up; fixed by the first stamp seen, which is
    /// the start of the schedule.
    record_from: Option<u64>,
    received: u64,
    histogram: Histogram<u64>,
    done: mpsc::Sender<(Histogram<u64>, u64)>,
}

impl LatencySink {
    /// Record one event that reached the last stage; `stamp` is the value the
    /// harness passed to the send closure.
    #[inline]
    pub fn record(&mut self, stamp: u64) {
        let now = self.clock.now_nanos();
        self.received += 1;
        let from = *self.record_from.get_or_insert(stamp + self.warmup_nanos);
        if stamp >= from {
            self.histogram.saturating_record(now.saturating_sub(stamp));
        }
    }
}

impl Drop for LatencySink {
    fn drop(&mut self) {
        let histogram = std::mem::replace(&mut self.histogram, new_histogram());
        // The harness may have given up waiting; nothing to do then.
        let _ = self.done.send((histogram, self.received));
    }
}

fn new_histogram() -> Histogram<u64> {
    // 1 ns .. 60 s at 3 significant digits.
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("histogram bounds")
}

/// What a latency run measured. Latencies are in microseconds.
#[derive(Clone, Debug)]
pub struct LatencyReport {
    /// Events offered, including warm-up.
    pub sent: u64,
    /// Events that reached the sink, including warm-up.
    pub received: u64,
    /// Events recorded in the histogram (after warm-up).
    pub recorded: u64,
    /// The rate the producer actually achieved, events/s.
    pub achieved_rate: f64,
    /// How late the producer got behind its schedule at worst.
    pub max_send_lag_us: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub p999_us: f64,
    pub max_us: f64,
}

/// Drive a pipeline open-loop at `config.rate` and collect its latency.
///
/// `build` receives the sink (to move into the last stage) and returns the
/// closure that sends one event carrying the given stamp into the first stage.
/// The harness paces on the calling thread, yielding while it waits so that
/// the pipeline's threads get the CPU on a small machine.
pub fn measure_latency<S, B>(config: &LatencyConfig, build: B) -> LatencyReport
where
    S: FnMut(u64),
    B: FnOnce(LatencySink) -> S,
{
    let clock = Clock::new();
    let (done_tx, done_rx) = mpsc::channel();
    let sink = LatencySink {
        clock,
        warmup_nanos: config.warmup.as_nanos() as u64,
        record_from: None,
        received: 0,
        histogram: new_histogram(),
        done: done_tx,
    };
    let mut send = build(sink);

    let total = config.rate as f64 * (config.warmup + config.duration).as_secs_f64();
    let total = total as u64;
    let start = clock.now_nanos();
    let mut max_lag = 0;
    for i in 0..total {
        let due = start + i * 1_000_000_000 / config.rate;
        let mut now = clock.now_nanos();
        while now < due {
            thread::yield_now();
            now = clock.now_nanos();
        }
        max_lag = max_lag.max(now - due);
        send(due);
    }
    let offer_nanos = clock.now_nanos() - start;
    drop(send);

    let (histogram, received) = done_rx
        .recv_timeout(Duration::from_secs(60))
        .expect("pipeline did not drop its LatencySink after the sender was dropped");
    let us = |nanos: u64| nanos as f64 / 1e3;
    LatencyReport {
        sent: total,
        received,
        recorded: histogram.len(),
        achieved_rate: total as f64 / (offer_nanos as f64 / 1e9),
        max_send_lag_us: us(max_lag),
        p50_us: us(histogram.value_at_quantile(0.50)),
        p99_us: us(histogram.value_at_quantile(0.99)),
        p999_us: us(histogram.value_at_quantile(0.999)),
        max_us: us(histogram.max()),
    }
}
