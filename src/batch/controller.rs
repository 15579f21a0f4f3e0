//! The batching controller: a pure function of what a stage observed.
//!
//! Larger batches amortise per-batch costs (wake-ups, context switches, routing, metrics) but
//! make the first event of a batch wait for the whole batch. As SEDA's batching controller,
//! this one raises the limit while that raises the work done per CPU second (CPU, not handler
//! time: most of what batching saves is spent outside the handler), and tries smaller limits
//! while they cost nothing. A successful step up is followed by another at once (hill
//! climbing with momentum). It only moves when batches hit the limit: below it the limit
//! changes nothing.
//!
//! # Bounded batch time
//! Whatever pays per CPU second, a batch may not take longer than a share of a controller
//! tick ([`TICK_SHARE`]): events that block (IO) cost little CPU, so batching them looks
//! free, yet a thread inside a 1024-event batch of 1 ms events shows no progress for a
//! second. The pool controller judges its growth by the events finished per tick, and a
//! shutdown deadline waits for the batch, so the limit is capped at the events the stage
//! handles in that share of a tick (at the handler time per event of the last tick).

use std::time::Duration;

/// What a stage saw during one controller tick.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct BatchObservation {
    /// Events processed during the tick.
    pub(crate) events: u64,
    /// Batches processed during the tick.
    pub(crate) batches: u64,
    /// CPU time the stage's threads used during the tick.
    pub(crate) cpu: Duration,
    /// Handler time of the batches that ended during the tick, summed over threads.
    pub(crate) busy: Duration,
    /// Length of the tick.
    pub(crate) interval: Duration,
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    Steady { wait: u32 },
    Up { from: usize, base: f64 },
    Down { from: usize, base: f64 },
}

/// Decides the batch limit tick by tick.
#[derive(Debug, Clone)]
pub(crate) struct BatchController {
    min: usize,
    max: usize,
    limit: usize,
    phase: Phase,
    next_down: bool,
    /// The most events a batch may hold to end within [`TICK_SHARE`] of a tick.
    cap: usize,
}

const GAIN: f64 = 0.05;
const STEADY_TICKS: u32 = 10;
/// The share of a controller tick one batch may take, so every tick sees batches end.
pub(crate) const TICK_SHARE: f64 = 0.125;

impl BatchController {
    /// A controller choosing limits in `min..=max`, starting at `initial`.
    pub(crate) fn new(min: usize, max: usize, initial: usize) -> Self {
        let min = min.max(1);
        let max = max.max(min);
        BatchController {
            min,
            max,
            limit: initial.clamp(min, max),
            phase: Phase::Steady { wait: 0 },
            next_down: false,
            cap: max,
        }
    }

    /// The current limit (the tests' view; the pipeline reads the queue's).
    #[cfg(test)]
    pub(crate) fn limit(&self) -> usize {
        self.limit.min(self.cap)
    }

    /// The limit to use from now on.
    pub(crate) fn observe(&mut self, o: &BatchObservation) -> usize {
        if o.events > 0 && !o.busy.is_zero() {
            let per_event = o.busy.as_secs_f64() / o.events as f64;
            let fits = o.interval.as_secs_f64() * TICK_SHARE / per_event;
            self.cap = (fits as usize).clamp(self.min, self.max);
        }
        if self.cap < self.limit {
            // Capped: larger limits would change nothing, so there is nothing to probe.
            self.phase = Phase::Steady { wait: 0 };
            return self.cap;
        }
        if o.batches == 0 || o.cpu.is_zero() {
            return self.limit;
        }
        let efficiency = o.events as f64 / o.cpu.as_secs_f64();
        let full = o.events as f64 / o.batches as f64 >= 0.9 * self.limit as f64;
        self.phase = match self.phase {
            Phase::Up { from, base } => {
                if efficiency < base * (1.0 + GAIN) {
                    self.limit = from;
                    Phase::Steady { wait: STEADY_TICKS }
                } else if full && self.limit < self.max {
                    // It paid: keep climbing without a pause.
                    self.next_down = false;
                    self.probe(efficiency)
                } else {
                    Phase::Steady { wait: STEADY_TICKS }
                }
            }
            Phase::Down { from, base } => {
                if efficiency < base * (1.0 - GAIN) {
                    self.limit = from;
                }
                Phase::Steady { wait: STEADY_TICKS }
            }
            Phase::Steady { wait } if wait > 0 => Phase::Steady { wait: wait - 1 },
            Phase::Steady { .. } if !full => Phase::Steady { wait: 0 },
            Phase::Steady { .. } => self.probe(efficiency),
        };
        self.limit
    }

    /// Alternates probes up and down; an impossible direction falls to the other.
    fn probe(&mut self, base: f64) -> Phase {
        let from = self.limit;
        let down = (self.next_down || from == self.max) && from > self.min;
        self.next_down = !self.next_down;
        if down {
            self.limit = (from / 2).max(self.min);
            Phase::Down { from, base }
        } else if from < self.max {
            self.limit = (from * 2).min(self.max);
            Phase::Up { from, base }
        } else {
            Phase::Steady { wait: STEADY_TICKS }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TICK: Duration = Duration::from_millis(100);

    /// A backlogged stage (batches always full) whose per-event cost is `fixed / limit + per`.
    fn run(c: &mut BatchController, ticks: usize, fixed_ns: f64, per_ns: f64) -> usize {
        for _ in 0..ticks {
            let limit = c.limit() as f64;
            let cost = fixed_ns / limit + per_ns;
            let events = (TICK.as_nanos() as f64 / cost) as u64;
            c.observe(&BatchObservation {
                events,
                batches: (events as f64 / limit).ceil() as u64,
                cpu: TICK,
                busy: TICK,
                interval: TICK,
            });
        }
        c.limit()
    }

    #[test]
    fn a_batch_of_slow_events_ends_within_a_share_of_the_tick() {
        let mut c = BatchController::new(1, 8192, 1024);
        // 1 ms per event, mostly blocked: little CPU, so batching looks free.
        let limit = c.observe(&BatchObservation {
            events: 1024,
            batches: 1,
            cpu: Duration::from_millis(5),
            busy: Duration::from_millis(1024),
            interval: TICK,
        });
        assert_eq!(limit, 12, "12.5 ms of a 100 ms tick at 1 ms per event");
        // The cap follows the cost per event down and up, within the bounds.
        let fast = BatchObservation {
            events: 1_000_000,
            batches: 2000,
            cpu: TICK,
            busy: TICK,
            interval: TICK,
        };
        assert_eq!(c.observe(&fast), 1024, "no cap at 100 ns per event");
        let mut slow = BatchController::new(8, 64, 64);
        let limit = slow.observe(&BatchObservation {
            events: 10,
            batches: 10,
            cpu: TICK,
            busy: Duration::from_secs(1),
            interval: TICK,
        });
        assert_eq!(limit, 8, "never under the configured minimum");
    }

    #[test]
    fn grows_while_batching_pays() {
        // A 10 µs per-batch cost against 10 ns per event: bigger batches pay up to the max.
        let mut c = BatchController::new(1, 1024, 8);
        // A probe may be under way at the last tick: one halving of the best is allowed.
        assert!(
            run(&mut c, 400, 10_000.0, 10.0) >= 512,
            "limit {}",
            c.limit()
        );
    }

    #[test]
    fn shrinks_when_batching_only_adds_latency() {
        // No per-batch cost: a big limit buys nothing, so the controller walks down.
        let mut c = BatchController::new(1, 1024, 1024);
        assert!(run(&mut c, 600, 0.0, 100.0) <= 16, "limit {}", c.limit());
    }

    #[test]
    fn holds_when_batches_do_not_fill() {
        let mut c = BatchController::new(1, 1024, 64);
        for _ in 0..100 {
            c.observe(&BatchObservation {
                events: 100,
                batches: 50,
                cpu: TICK,
                busy: Duration::from_millis(1),
                interval: TICK,
            });
        }
        assert_eq!(c.limit(), 64);
    }
}
