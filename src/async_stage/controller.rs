//! The in-flight limit controller: a pure function of what an async stage observed.
//!
//! SEDA sizes a thread pool by watching its queue; a stage of futures has no threads to size,
//! only how many calls it lets run at once. Too few and a slow service is called one event at
//! a time; too many and the service queues them itself, so latency rises while throughput does
//! not. This controller follows Netflix concurrency-limits' Gradient: latency is compared with
//! a baseline (the latency of the service when it is not loaded), and
//!
//! - while latency stays within [`TOLERANCE`] of the baseline and the limit was binding (an
//!   event waited for room during the round), the limit grows: it doubles until the first cut
//!   (TCP's slow start), then grows by its square root per round;
//! - when latency rises past the tolerance, the limit is cut by the gradient
//!   `TOLERANCE × baseline / latency` (at most by half) and slow start ends;
//! - a limit nobody waited for is held: growing it would prove nothing.
//!
//! The baseline follows latency down at once. It rises (slowly) only while the limit is at its
//! minimum: a service that really became slower is first cut down to the minimum, then
//! re-learned within a few dozen rounds, while a queue the limit built is never mistaken for
//! the new normal (Gradient's long-term average drifts up with such a queue).

use std::time::Duration;

/// What an async stage saw during one round of calls (as many as the limit).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct LimitObservation {
    /// Events whose call completed during the round.
    pub(crate) completed: u64,
    /// Mean call latency of those events (`None` when none completed).
    pub(crate) latency: Option<Duration>,
    /// Whether an event had to wait for room under the limit during the round.
    pub(crate) throttled: bool,
}

/// Latency up to this multiple of the baseline counts as flat.
pub(crate) const TOLERANCE: f64 = 1.5;
/// The deepest cut of one round.
const MAX_CUT: f64 = 0.5;
/// Weight of a round's latency when the baseline rises towards it.
const BASELINE_RISE: f64 = 0.05;

/// Decides the in-flight limit round by round. Deterministic: same observations, same limits.
#[derive(Debug, Clone)]
pub(crate) struct LimitController {
    min: usize,
    max: usize,
    limit: f64,
    /// No-load latency estimate, in seconds (`None` until the first completion).
    baseline: Option<f64>,
    slow_start: bool,
}

impl LimitController {
    /// A controller for a limit in `min..=max` (`min` at least 1), starting at `min`.
    pub(crate) fn new(min: usize, max: usize) -> Self {
        let min = min.max(1);
        LimitController {
            min,
            max: max.max(min),
            limit: min as f64,
            baseline: None,
            slow_start: true,
        }
    }

    /// The limit now.
    pub(crate) fn limit(&self) -> usize {
        self.limit.round() as usize
    }

    /// The limit to apply from now on.
    pub(crate) fn observe(&mut self, o: &LimitObservation) -> usize {
        let Some(latency) = o.latency.filter(|_| o.completed > 0) else {
            return self.limit();
        };
        let short = latency.as_secs_f64().max(1e-9);
        let baseline = match self.baseline {
            Some(b) if short < b => short,
            // Only a limit already cut to its minimum can tell a slower service from a queue
            // the limit itself built: rising elsewhere would follow that queue up.
            Some(b) if self.limit() <= self.min => b + BASELINE_RISE * (short - b),
            Some(b) => b,
            None => short,
        };
        self.baseline = Some(baseline);
        let ratio = short / baseline;
        if ratio > TOLERANCE {
            self.limit *= (TOLERANCE / ratio).max(MAX_CUT);
            self.slow_start = false;
        } else if o.throttled {
            self.limit += if self.slow_start {
                self.limit
            } else {
                self.limit.sqrt().max(1.0)
            };
        }
        self.limit = self.limit.clamp(self.min as f64, self.max as f64);
        self.limit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: Duration = Duration::from_millis(10);

    /// Runs `rounds` rounds against a service whose latency at `limit` calls in flight is
    /// `latency(limit)`, with events always waiting (a backlog). Returns the limits chosen.
    fn run(
        c: &mut LimitController,
        rounds: usize,
        latency: impl Fn(usize) -> Duration,
    ) -> Vec<usize> {
        let mut limit = c.limit();
        (0..rounds)
            .map(|_| {
                limit = c.observe(&LimitObservation {
                    completed: limit as u64,
                    latency: Some(latency(limit)),
                    throttled: true,
                });
                limit
            })
            .collect()
    }

    #[test]
    fn grows_to_the_maximum_while_latency_stays_flat() {
        let mut c = LimitController::new(1, 256);
        let seen = run(&mut c, 20, |_| BASE);
        // Slow start: doubling reaches 256 in 8 rounds, then holds there.
        assert_eq!(seen[..9], [2, 4, 8, 16, 32, 64, 128, 256, 256], "{seen:?}");
        assert!(seen.iter().all(|&l| l <= 256));
    }

    #[test]
    fn settles_near_the_capacity_of_a_saturating_service() {
        // The service runs 40 calls at once; beyond that, calls queue inside it and latency
        // grows with the excess.
        let capacity = 40usize;
        let mut c = LimitController::new(1, 1000);
        let seen = run(&mut c, 300, |l| {
            BASE.mul_f64((l as f64 / capacity as f64).max(1.0))
        });
        let settled = &seen[100..];
        let (lo, hi) = (
            *settled.iter().min().unwrap(),
            *settled.iter().max().unwrap(),
        );
        // Around the point where latency leaves the tolerance (1.5 × capacity, give or take a
        // growth step): never starved below the capacity, never far past it.
        assert!(lo >= capacity, "{settled:?}");
        assert!(hi <= capacity * 2, "{settled:?}");
    }

    #[test]
    fn cuts_at_most_by_half_and_never_below_the_minimum() {
        let mut c = LimitController::new(4, 64);
        run(&mut c, 10, |_| BASE);
        assert_eq!(c.limit(), 64);
        // Latency jumps tenfold: the gradient says 0.15, the cut stops at half.
        let l = c.observe(&LimitObservation {
            completed: 64,
            latency: Some(BASE * 10),
            throttled: true,
        });
        assert_eq!(l, 32);
        let seen = run(&mut c, 20, |_| BASE * 1000);
        assert_eq!(*seen.last().unwrap(), 4, "{seen:?}");
        assert!(seen.iter().all(|&l| l >= 4), "{seen:?}");
    }

    #[test]
    fn relearns_a_service_that_became_slower() {
        let mut c = LimitController::new(1, 64);
        run(&mut c, 10, |_| BASE);
        // Three times slower from now on, whatever the load: first cut to the minimum, then
        // the baseline rises to the new latency and the limit grows back.
        let seen = run(&mut c, 100, |_| BASE * 3);
        assert!(seen.contains(&1), "{seen:?}");
        assert_eq!(*seen.last().unwrap(), 64, "{seen:?}");
    }

    #[test]
    fn holds_a_limit_nobody_waited_for() {
        let mut c = LimitController::new(2, 64);
        for _ in 0..20 {
            let l = c.observe(&LimitObservation {
                completed: 2,
                latency: Some(BASE),
                throttled: false,
            });
            assert_eq!(l, 2);
        }
    }

    #[test]
    fn an_observation_without_completions_changes_nothing() {
        let mut c = LimitController::new(1, 64);
        run(&mut c, 3, |_| BASE);
        let before = c.limit();
        let idle = LimitObservation {
            completed: 0,
            latency: None,
            throttled: true,
        };
        assert_eq!(c.observe(&idle), before);
    }

    #[test]
    fn after_the_first_cut_growth_is_additive() {
        let mut c = LimitController::new(1, 1000);
        run(&mut c, 6, |_| BASE); // 64
        c.observe(&LimitObservation {
            completed: 64,
            latency: Some(BASE * 3),
            throttled: true,
        });
        let cut = c.limit();
        assert_eq!(cut, 32);
        let seen = run(&mut c, 3, |_| BASE);
        // 32 + √32 ≈ 37.7, then + √37.7 ≈ 43.8, …: no more doubling.
        assert_eq!(seen, [38, 44, 50], "{seen:?}");
    }
}
