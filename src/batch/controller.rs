//! The batching controller: a pure function of what a stage observed.
//!
//! Larger batches amortise per-batch costs (wake-ups, context switches, routing, metrics) but
//! make the first event of a batch wait for the whole batch. As SEDA's batching controller,
//! this one raises the limit while that raises the work done per CPU second (CPU, not handler
//! time: most of what batching saves is spent outside the handler), and tries smaller limits
//! while they cost nothing. A successful step up is followed by another at once (hill
//! climbing with momentum). It only moves when batches hit the limit: below it the limit
//! changes nothing.

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
}

const GAIN: f64 = 0.05;
const STEADY_TICKS: u32 = 10;

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
        }
    }

    /// The current limit (the tests' view; the pipeline reads the queue's).
    #[cfg(test)]
    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    /// The limit to use from now on.
    pub(crate) fn observe(&mut self, o: &BatchObservation) -> usize {
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
            });
        }
        c.limit()
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
            });
        }
        assert_eq!(c.limit(), 64);
    }
}
