//! SEDA's response-time controller, pure: observations in, a limit out.
//!
//! The limit is on requests admitted but not yet matched (the queues in front of the
//! matching stage). SEDA steered a token rate; a limit on queued work is steadier, because
//! by Little's law a queue of `limit` at throughput `X` waits `limit / X` whatever the
//! offered load, and it needs no clock on the admission path.
//!
//! - **Over target** (P90 above it): multiplicative decrease, and at least down to what the
//!   measured throughput drains within the target, so one step reaches a sane limit even
//!   from a queue that grew long before the controller saw it.
//! - **Under target** (P90 below three quarters of it) while the limit binds: additive increase,
//!   a step that is a fixed share of the limit the last decrease settled on, so it probes
//!   upwards gently from a level known to be safe.
//! - In between, or when no queue is to blame (nothing refused, the queue under half the
//!   limit and under what drains within the target): hold. An idle server does not grow a limit it never tested, and a slow tick
//!   with short queues (service time, a busy machine) does not cut a limit that was not the
//!   cause.
//!
//! Only orders read after the last decrease inform the next one: older ones waited behind
//! a queue the decrease already dealt with, and counting them again would decrease twice.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Admission control settings (`[admission]` in the server's TOML).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdmissionConfig {
    /// When off, every request goes on to the queues (their own policies still apply).
    pub enabled: bool,
    /// The P90 response time (read → matched) the controller steers to.
    #[serde(with = "humantime_serde")]
    pub target: Duration,
    /// How often the controller looks.
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
    /// The limit never goes below this (queued requests), so matching never starves.
    pub min_limit: usize,
    /// Nor above this; also where it starts.
    pub max_limit: usize,
    /// Multiplicative decrease factor (0 < decrease < 1), of the limit and of a shed
    /// connection's admitted share.
    pub decrease: f64,
    /// Additive increase per tick, as a share of the limit the last decrease settled on;
    /// and, for a connection shed at the read, of all its new orders per read that keeps up.
    pub increase: f64,
    /// How long a connection whose reads all fill the buffer (input waiting in the socket)
    /// may wait for the other connections on its event loop, in the loop's CPU time, before
    /// its new orders are shed at the read (see `admission::shed`).
    #[serde(with = "humantime_serde")]
    pub read_grace: Duration,
}

impl Default for AdmissionConfig {
    fn default() -> Self {
        AdmissionConfig {
            enabled: true,
            target: Duration::from_millis(10),
            interval: Duration::from_millis(50),
            min_limit: 16,
            max_limit: 4096,
            decrease: 0.7,
            increase: 0.05,
            read_grace: Duration::from_millis(2),
        }
    }
}

impl AdmissionConfig {
    /// Checks what types alone cannot; the message names the field.
    ///
    /// # Errors
    /// The first value out of bounds.
    pub fn validate(&self) -> Result<(), String> {
        if self.min_limit == 0 || self.min_limit > self.max_limit {
            return Err("admission: need 1 <= min_limit <= max_limit".into());
        }
        if !(self.decrease > 0.0 && self.decrease < 1.0) {
            return Err("admission.decrease must be in (0, 1)".into());
        }
        if !(self.increase > 0.0 && self.increase <= 1.0) {
            return Err("admission.increase must be in (0, 1]".into());
        }
        if self.target.is_zero() || self.interval.is_zero() {
            return Err("admission: target and interval must be above zero".into());
        }
        Ok(())
    }
}

/// What the controller sees each tick.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observation {
    /// P90 response time of requests read since the last decrease and matched this tick.
    pub p90: Option<Duration>,
    /// Requests matched this tick (all of them, for throughput).
    pub matched: u64,
    /// The tick's length.
    pub interval: Duration,
    /// Requests queued before matching now.
    pub queued: usize,
    /// Requests the limit refused this tick.
    pub refused: u64,
}

/// The controller's answer to one observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// The new limit.
    pub limit: usize,
    /// It went down: samples older than now no longer count.
    pub decreased: bool,
}

/// The AIMD limit controller.
#[derive(Debug, Clone)]
pub struct AdmissionController {
    config: AdmissionConfig,
    limit: f64,
    /// The limit the last decrease settled on: the additive step is a share of it, so the
    /// climb back is paced by the level that was found safe, not by the one that was not.
    anchor: f64,
}

impl AdmissionController {
    /// Starts at the maximum: until latency says otherwise, the queues' own bounds rule.
    pub fn new(config: AdmissionConfig) -> Self {
        let max = config.max_limit as f64;
        AdmissionController {
            config,
            limit: max,
            anchor: max,
        }
    }

    /// The current limit.
    pub fn limit(&self) -> usize {
        self.limit as usize
    }

    /// One tick.
    pub fn observe(&mut self, o: &Observation) -> Decision {
        let c = &self.config;
        let (min, max) = (c.min_limit as f64, c.max_limit as f64);
        let target = c.target.as_secs_f64();
        let rate = o.matched as f64 / o.interval.as_secs_f64().max(1e-9);
        let drains_in_target = rate * target;
        // Only a queue can be blamed for latency (or credited with room): the limit binds,
        // or more is queued than drains within the target. A slow tick with short queues is
        // service time, and cutting the limit would refuse for nothing.
        let binds = o.refused > 0
            || o.queued as f64 >= self.limit * 0.5
            || o.queued as f64 > drains_in_target;
        let Some(p90) = o.p90.map(|d| d.as_secs_f64()).filter(|_| binds) else {
            return self.hold();
        };
        if p90 > target {
            let mut next = self.limit * c.decrease;
            // With the queue fuller than what drains in time, throughput is capacity: go
            // straight to the queue that drains within the target.
            if o.queued as f64 > drains_in_target {
                next = next.min(drains_in_target);
            }
            self.limit = next.clamp(min, max);
            self.anchor = self.limit;
            return Decision {
                limit: self.limit(),
                decreased: true,
            };
        }
        if p90 < target * 0.75 {
            let step = (self.anchor * c.increase).max(1.0);
            self.limit = (self.limit + step).min(max);
        }
        self.hold()
    }

    fn hold(&self) -> Decision {
        Decision {
            limit: self.limit(),
            decreased: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> AdmissionConfig {
        AdmissionConfig {
            target: Duration::from_millis(10),
            min_limit: 8,
            max_limit: 1000,
            ..AdmissionConfig::default()
        }
    }

    fn obs(p90_ms: Option<u64>, matched: u64, queued: usize, refused: u64) -> Observation {
        Observation {
            p90: p90_ms.map(Duration::from_millis),
            matched,
            interval: Duration::from_millis(100),
            queued,
            refused,
        }
    }

    #[test]
    fn over_target_cuts_to_what_drains_within_it() {
        let mut c = AdmissionController::new(config());
        // 10k/s (1000 per 100 ms) drains 100 in 10 ms: one tick lands there, not at 700.
        let d = c.observe(&obs(Some(200), 1000, 1000, 0));
        assert_eq!(
            d,
            Decision {
                limit: 100,
                decreased: true
            }
        );
        // Still over: multiplicative from there, never under the minimum.
        for _ in 0..20 {
            c.observe(&obs(Some(50), 1000, 100, 50));
        }
        assert_eq!(c.limit(), 8);
    }

    #[test]
    fn a_slow_tick_with_short_queues_is_not_the_limit_s_fault() {
        let mut c = AdmissionController::new(config());
        // Latency over target, but 10 queued (3k/s drains 30 in 10 ms) under a limit of 1000
        // and nothing refused.
        let d = c.observe(&obs(Some(200), 300, 10, 0));
        assert_eq!(
            d,
            Decision {
                limit: 1000,
                decreased: false
            }
        );
        // Refusing, though, it binds: cut, multiplicatively when the queue is short.
        let d = c.observe(&obs(Some(200), 300, 10, 5));
        assert_eq!(d.limit, 700);
        // A queue well under the limit but longer than drains in time (10k/s: 100 in 10 ms)
        // is to blame: straight to what drains.
        let d = c.observe(&obs(Some(200), 1000, 300, 0));
        assert_eq!(d.limit, 100);
    }

    #[test]
    fn grows_additively_only_while_the_limit_binds_and_latency_is_low() {
        let mut c = AdmissionController::new(config());
        c.observe(&obs(Some(200), 1000, 1000, 0)); // 100, anchor 100
        c.observe(&obs(Some(3), 1000, 10, 0)); // not binding: hold
        assert_eq!(c.limit(), 100);
        c.observe(&obs(Some(8), 1000, 100, 9)); // binding but P90 near target: hold
        assert_eq!(c.limit(), 100);
        c.observe(&obs(Some(7), 1000, 100, 9)); // binding and under 3/4: + 5% of 100
        assert_eq!(c.limit(), 105);
        for _ in 0..200 {
            c.observe(&obs(Some(1), 1000, 0, 1));
        }
        assert_eq!(c.limit(), 1000, "capped at the maximum");
    }

    #[test]
    fn without_fresh_samples_it_holds() {
        let mut c = AdmissionController::new(config());
        c.observe(&obs(Some(200), 1000, 1000, 0));
        assert_eq!(c.limit(), 100);
        let d = c.observe(&obs(None, 0, 500, 100));
        assert_eq!(
            d,
            Decision {
                limit: 100,
                decreased: false
            }
        );
    }

    #[test]
    fn an_overload_settles_near_capacity_times_target() {
        // A server matching 20k/s and queueing the rest: P90 = queued / 20k + 1 ms service.
        let mut c = AdmissionController::new(config());
        let mut limits = Vec::new();
        for _ in 0..200 {
            let queued = c.limit();
            let p90 = Duration::from_secs_f64(queued as f64 / 20_000.0 + 0.001);
            c.observe(&Observation {
                p90: Some(p90),
                matched: 2000,
                interval: Duration::from_millis(100),
                queued,
                refused: 1000,
            });
            limits.push(c.limit());
        }
        // The target allows 180 queued (9 ms at 20k/s); the limit oscillates below it and
        // never collapses to the minimum.
        let tail = &limits[100..];
        assert!(tail.iter().all(|&l| (40..=200).contains(&l)), "{tail:?}");
    }

    #[test]
    fn validation_names_the_field() {
        assert!(AdmissionConfig::default().validate().is_ok());
        let bad = AdmissionConfig {
            decrease: 1.5,
            ..AdmissionConfig::default()
        };
        assert!(bad.validate().unwrap_err().contains("decrease"));
        let bad = AdmissionConfig {
            min_limit: 0,
            ..AdmissionConfig::default()
        };
        assert!(bad.validate().unwrap_err().contains("min_limit"));
    }
}
