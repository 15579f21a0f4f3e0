//! The workload every variant runs, and what a run reports.
//!
//! Event `i` (for `i` in `0..events`) enters the pipeline as the value `i`; four
//! trivial stages transform it and the last one folds it into a wrapping sum.
//! The sum is the checksum: it depends on every event, so nothing can be
//! optimised away, and every variant must reproduce [`reference_checksum`].

use std::time::Duration;

/// Stage 1: a multiplicative hash.
#[inline(always)]
pub fn step1(x: u64) -> u64 {
    x.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// Stage 2: fold the high bits down.
#[inline(always)]
pub fn step2(x: u64) -> u64 {
    x ^ (x >> 29)
}

/// Stage 3: an add.
#[inline(always)]
pub fn step3(x: u64) -> u64 {
    x.wrapping_add(17)
}

/// Stage 4: accumulate into the checksum.
#[inline(always)]
pub fn step4(sum: u64, x: u64) -> u64 {
    sum.wrapping_add(x)
}

/// The checksum that every variant must produce for `events` events.
pub fn reference_checksum(events: u64) -> u64 {
    (0..events).fold(0, |sum, x| step4(sum, step3(step2(step1(x)))))
}

/// One timed pass of a variant over `events` events.
#[derive(Clone, Copy, Debug)]
pub struct Run {
    pub events: u64,
    /// From the first event offered to the last one accumulated; thread and
    /// runtime setup happen before the clock starts.
    pub elapsed: Duration,
    pub checksum: u64,
}

impl Run {
    pub fn events_per_sec(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64()
    }
}

/// Runs `events` events through the four stages and reports the time taken
/// and the checksum.
pub type RunFn = fn(u64) -> Run;

/// A named pipeline implementation.
#[derive(Clone, Copy)]
pub struct Variant {
    pub name: &'static str,
    pub run: RunFn,
}
