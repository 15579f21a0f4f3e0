//! The thread-pool controller: a pure function of what the pool observed.
//!
//! SEDA's controller adds a thread when a stage's queue backs up and removes idle ones. That
//! alone grows a CPU-bound stage past the cores, where threads only add context switches, so
//! this one also climbs the throughput hill (as .NET's pool does): every growth is a probe
//! from a steady rate, kept only if throughput rose with it by more than one tick's noise (a
//! growth kept by noise or by a load still ramping up stays until the pool idles, however
//! much it costs); a stage whose threads are mostly on-CPU is capped at the core count. A
//! probe that fails makes its size a ceiling for a cooldown, twice as long after each further
//! failure under the same load (as TCP backs off its retransmissions): every probe costs the
//! pool a resize there and back, and a pool that cannot use more threads should pay for that
//! rarely, not every few seconds for good.

use std::time::Duration;

/// What a pool saw during one controller tick: the input of [`PoolController::observe`].
///
/// Readings are deltas over the tick, except `threads` and `queue_len`. `busy` is the time
/// threads spent working (in handlers, in an event loop's callbacks), not waiting for work;
/// `cpu` is their CPU demand over the tick, from [`CpuDemand`](crate::CpuDemand) readings
/// ([`CpuUse::demand`](crate::CpuUse::demand) of the difference), or zero if unknown (the
/// pool is then never capped at the cores).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PoolObservation {
    /// Threads running during the tick.
    pub threads: usize,
    /// Work queued at the end of the tick.
    pub queue_len: usize,
    /// Work items processed during the tick.
    pub processed: u64,
    /// Length of the tick.
    pub interval: Duration,
    /// Time the threads spent working, summed over threads.
    pub busy: Duration,
    /// CPU time the threads used or waited for (run-queue time), summed over threads.
    pub cpu: Duration,
}

/// A pool's load: its throughput and utilisation, smoothed over ticks.
#[derive(Debug, Clone, Copy, Default)]
struct Smoothed {
    rate: f64,
    utilisation: f64,
}

impl Smoothed {
    /// A new load: throughput moved by [`LOAD_CHANGE`], or the pool got busier by
    /// [`BUSIER`] (a pool held at its size cannot show more demand as throughput: it shows
    /// it as time busy).
    fn is_new_load(&self, before: &Smoothed) -> bool {
        (self.rate - before.rate).abs() > LOAD_CHANGE * before.rate
            || self.utilisation > before.utilisation + BUSIER
    }
}

#[derive(Debug, Clone, Copy)]
struct Probe {
    from: usize,
    /// The throughput it must beat: the higher of the last tick's and the smoothed one, so
    /// a tick that dipped does not lower the bar.
    base_rate: f64,
    /// The load as it was before the probe (its own ticks, at another size, would blur it).
    load: Smoothed,
    settle: u8,
    /// Work processed and time passed at the new size since it settled: a gain is judged on
    /// [`JUDGE_TICKS`] of them together, as one tick's reading moves by a fifth either way on
    /// a busy machine and a kept growth is not looked at again until the pool idles.
    processed: u64,
    elapsed: Duration,
    judged: u8,
}

/// Decides a pool's size tick by tick, by the rule the engine's own pools follow: grow while
/// work waits and throughput rises with threads, never past the cores for a CPU-bound pool,
/// shrink to what the work needs after `idle_timeout` of idleness. Deterministic: same
/// observations, same decisions. Embedders size their own pools (event loops, IO workers)
/// with it, so those move like the engine's.
///
/// Call [`observe`](Self::observe) once per tick (the engine's tick is 100 ms by default)
/// with that tick's [`PoolObservation`], and resize the pool to what it returns.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use sedaflow::{PoolController, PoolObservation};
///
/// let tick = Duration::from_millis(100);
/// let mut pool = PoolController::new(1, 8, 4, Duration::from_secs(1));
/// let mut threads = 1;
/// // Backed up: work waits, every thread is busy all tick, and each added thread adds
/// // throughput (blocking work: little CPU).
/// for _ in 0..30 {
///     threads = pool.observe(&PoolObservation {
///         threads,
///         queue_len: 1_000,
///         processed: 1_000 * threads as u64,
///         interval: tick,
///         busy: tick * threads as u32,
///         cpu: Duration::ZERO,
///     });
/// }
/// assert_eq!(threads, 8);
/// // Idle: nothing waits, nothing runs. After the idle timeout it shrinks back to `min`.
/// for _ in 0..100 {
///     threads = pool.observe(&PoolObservation {
///         threads,
///         queue_len: 0,
///         processed: 0,
///         interval: tick,
///         busy: Duration::ZERO,
///         cpu: Duration::ZERO,
///     });
/// }
/// assert_eq!(threads, 1);
/// ```
#[derive(Debug, Clone)]
pub struct PoolController {
    min: usize,
    max: usize,
    cores: usize,
    idle_timeout: Duration,
    step: usize,
    probe: Option<Probe>,
    ceiling: Option<(usize, u64)>,
    /// Probes that failed in a row under the same load (each one doubles the next cooldown),
    /// and that load's smoothed throughput and utilisation.
    failed: u32,
    failed_at: Smoothed,
    /// Throughput and utilisation smoothed over ticks: one tick's reading moves by a fifth
    /// either way on a busy machine, a new load for good.
    smoothed: Option<Smoothed>,
    idle_for: Duration,
    tick: u64,
    /// CPU demand per busy second, smoothed over ticks (`None` until a busy tick).
    cpu_share: Option<f64>,
    /// The last three ticks' throughput, this one first.
    last_rates: [Option<f64>; 3],
}

/// A growth must raise throughput by this share to be kept.
const GAIN: f64 = 0.05;
/// Ticks at a probe's size (after it settled) whose throughput together must show a gain
/// for it to be kept; a loss, or a [`CLEAR_GAIN`], decides it sooner.
const JUDGE_TICKS: u8 = 3;
/// A gain no tick's noise makes (a tick moves by a fifth either way), nor twice what a probe
/// needs: one tick of it keeps the probe.
const CLEAR_GAIN: f64 = 0.5;
/// Ticks a failed probe's size stays the ceiling before the controller tries again.
const COOLDOWN_TICKS: u64 = 50;
/// Doublings of the cooldown while probes keep failing under the same load (50 ticks up to
/// 800): a pool that cannot use more threads is not disturbed every cooldown for good.
const MAX_BACKOFF: u32 = 4;
/// A change of the smoothed throughput by this share is a new load: the back-off starts
/// over.
const LOAD_CHANGE: f64 = 0.3;
/// A rise of the smoothed utilisation by this much is a new load too.
const BUSIER: f64 = 0.15;
/// Weight of a new tick in the smoothed throughput and utilisation.
const LOAD_WEIGHT: f64 = 0.2;
/// Busy share above which a non-empty queue means the pool is the bottleneck.
const BACKLOG_UTILISATION: f64 = 0.75;
/// CPU demand per busy second above which a stage counts as CPU-bound.
const CPU_BOUND_SHARE: f64 = 0.5;
/// Weight of a new tick in the smoothed CPU share. Scheduler statistics advance in steps of a
/// scheduler tick, so one short controller tick on a busy machine can read a CPU-bound stage
/// as half idle; smoothing keeps that one reading from opening the cap.
const CPU_SHARE_WEIGHT: f64 = 0.3;

impl PoolController {
    /// A controller for a pool of `min..=max` threads on a machine with `cores` cores
    /// (`std::thread::available_parallelism`). `min` is raised to 1 and `max` to `min`.
    pub fn new(min: usize, max: usize, cores: usize, idle_timeout: Duration) -> Self {
        let min = min.max(1);
        PoolController {
            min,
            max: max.max(min),
            cores: cores.max(1),
            idle_timeout,
            step: 1,
            probe: None,
            ceiling: None,
            failed: 0,
            failed_at: Smoothed::default(),
            smoothed: None,
            idle_for: Duration::ZERO,
            tick: 0,
            cpu_share: None,
            last_rates: [None; 3],
        }
    }

    /// The number of threads to run from now on, between `min` and `max`.
    pub fn observe(&mut self, o: &PoolObservation) -> usize {
        self.tick += 1;
        let threads = o.threads.max(1);
        let secs = o.interval.as_secs_f64().max(1e-9);
        let rate = o.processed as f64 / secs;
        self.last_rates = [Some(rate), self.last_rates[0], self.last_rates[1]];
        let utilisation = (o.busy.as_secs_f64() / (threads as f64 * secs)).clamp(0.0, 1.0);
        let smoothed = match self.smoothed {
            Some(old) => Smoothed {
                rate: old.rate + LOAD_WEIGHT * (rate - old.rate),
                utilisation: old.utilisation + LOAD_WEIGHT * (utilisation - old.utilisation),
            },
            None => Smoothed { rate, utilisation },
        };
        self.smoothed = Some(smoothed);
        if o.busy > Duration::ZERO {
            let share = (o.cpu.as_secs_f64() / o.busy.as_secs_f64()).min(1.0);
            self.cpu_share = Some(match self.cpu_share {
                Some(old) => old + CPU_SHARE_WEIGHT * (share - old),
                None => share,
            });
        }
        let cpu_bound = self.cpu_share.is_some_and(|s| s >= CPU_BOUND_SHARE);
        let cap = if cpu_bound {
            self.max.min(self.cores)
        } else {
            self.max
        }
        .max(self.min);
        if self.ceiling.is_some_and(|(_, until)| self.tick > until) {
            self.ceiling = None;
        }

        if threads > cap {
            self.probe = None;
            return cap;
        }
        if let Some(mut p) = self.probe.take() {
            if p.settle > 0 {
                // New threads are still starting (and moved work catching up): not yet.
                p.settle -= 1;
                self.probe = Some(p);
                return threads;
            }
            p.processed += o.processed;
            p.elapsed += o.interval;
            p.judged += 1;
            let probed = p.processed as f64 / p.elapsed.as_secs_f64().max(1e-9);
            // A step must return a quarter of what linear scaling would (at least GAIN), so
            // noise cannot pass for progress.
            let added = (threads.saturating_sub(p.from)) as f64 / p.from.max(1) as f64;
            let needed = GAIN.max(0.25 * added);
            // A probe costs while it lasts, and a pool that scales should not wait: below
            // the old size's rate it has lost, and a clear gain has won, at once. Anything
            // between must hold for all the judging ticks.
            let settled = p.judged >= JUDGE_TICKS
                || probed < p.base_rate
                || probed >= p.base_rate * (1.0 + CLEAR_GAIN.max(2.0 * needed));
            if !settled {
                self.probe = Some(p);
                return threads;
            }
            if probed >= p.base_rate * (1.0 + needed) {
                self.step = (self.step * 2).min(self.max);
                self.failed = 0;
                // The rise was the pool's own: steady at the new size from here.
                self.last_rates = [Some(probed); 3];
            } else {
                self.step = 1;
                let cooldown = COOLDOWN_TICKS << self.failed.min(MAX_BACKOFF);
                self.failed = self.failed.saturating_add(1);
                self.failed_at = p.load;
                self.ceiling = Some((p.from, self.tick + cooldown));
                return p.from.max(self.min);
            }
        }

        let backlog = o.queue_len > 0 && utilisation >= BACKLOG_UTILISATION;
        if backlog {
            self.idle_for = Duration::ZERO;
            if self.failed > 0 && smoothed.is_new_load(&self.failed_at) {
                self.new_load();
            }
            let limit = self.ceiling.map_or(cap, |(c, _)| c.min(cap));
            // Probe only from a steady rate: one still rising at this size (load ramping up,
            // clients still connecting) would credit the added threads with a gain they did
            // not make, and they would stay. Steady for two ticks: a ramp can pause for one.
            let no_rise = |w: &[Option<f64>]| match (w[0], w[1]) {
                (Some(now), Some(before)) => now <= before * (1.0 + GAIN),
                _ => false,
            };
            let steady = self.last_rates.windows(2).all(no_rise);
            if threads < limit && steady {
                self.probe = Some(Probe {
                    from: threads,
                    base_rate: rate.max(smoothed.rate),
                    load: smoothed,
                    settle: 1,
                    processed: 0,
                    elapsed: Duration::ZERO,
                    judged: 0,
                });
                return (threads + self.step).min(limit);
            }
            return threads;
        }
        if o.queue_len == 0 && utilisation < 0.5 {
            self.idle_for += o.interval;
            if self.idle_for >= self.idle_timeout {
                // Idle long enough that whatever comes next is a new load.
                self.new_load();
                if threads > self.min {
                    self.idle_for = Duration::ZERO;
                    self.step = 1;
                    // Keep what the observed work needs, with headroom; idle threads go.
                    let needed = (utilisation * threads as f64 * 1.25).ceil() as usize;
                    return needed.clamp(self.min, threads - 1);
                }
            }
        } else {
            self.idle_for = Duration::ZERO;
        }
        threads
    }

    /// The load changed (or went away): the back-off starts over, and a longer cooldown than
    /// the first ends at most one first cooldown from now.
    fn new_load(&mut self) {
        self.failed = 0;
        if let Some((size, until)) = self.ceiling {
            self.ceiling = Some((size, until.min(self.tick + COOLDOWN_TICKS)));
        }
    }
}

#[cfg(test)]
mod tests;
