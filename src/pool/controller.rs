//! The thread-pool controller: a pure function of what the pool observed.
//!
//! SEDA's controller adds a thread when a stage's queue backs up and removes idle ones. That
//! alone grows a CPU-bound stage past the cores, where threads only add context switches, so
//! this one also climbs the throughput hill (as .NET's pool does): every growth is a probe,
//! kept only if throughput rose with it over several ticks, from a steady rate (a growth kept
//! by noise or by a load still ramping up stays until the pool idles, however much it
//! costs); a stage whose threads are mostly on-CPU is capped at
//! the core count. A probe that fails makes its size a ceiling for a cooldown, twice as long
//! after each further failure under the same load (as TCP backs off its retransmissions):
//! every probe costs the pool a resize there and back, and a pool that cannot use more
//! threads should pay for that rarely, not every few seconds for good.

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
/// for it to be kept; one below the old size's rate, or twice the gain needed, decides it
/// sooner.
const JUDGE_TICKS: u8 = 3;
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
            // the old size's rate it has lost, and twice the gain needed has won, at once.
            // Anything between must hold for all the judging ticks.
            let settled = p.judged >= JUDGE_TICKS
                || probed < p.base_rate
                || probed >= p.base_rate * (1.0 + 2.0 * needed);
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
mod tests {
    use super::*;

    const TICK: Duration = Duration::from_millis(100);

    /// Simulates a backlogged stage whose throughput is `rate(threads)`; each thread is busy
    /// all tick and spends `cpu_share` of that on the CPU.
    fn run(
        c: &mut PoolController,
        ticks: usize,
        cpu_share: f64,
        rate: impl Fn(usize) -> f64,
    ) -> Vec<usize> {
        let mut threads = 1;
        let mut seen = Vec::new();
        for _ in 0..ticks {
            let busy = TICK * threads as u32;
            let o = PoolObservation {
                threads,
                queue_len: 10_000,
                processed: (rate(threads) * TICK.as_secs_f64()) as u64,
                interval: TICK,
                busy,
                cpu: busy.mul_f64(cpu_share),
            };
            threads = c.observe(&o);
            seen.push(threads);
        }
        seen
    }

    /// A tick of a blocking stage with work queued: `threads` served `rate` a second, busy
    /// for `busy` in all.
    fn backed_up(threads: usize, rate: f64, busy: Duration) -> PoolObservation {
        PoolObservation {
            threads,
            queue_len: 1_000,
            processed: (rate * TICK.as_secs_f64()) as u64,
            interval: TICK,
            busy,
            cpu: busy.mul_f64(0.01),
        }
    }

    #[test]
    fn grows_a_blocking_stage_to_its_best_size() {
        let mut c = PoolController::new(1, 64, 2, Duration::from_secs(1));
        // 1 ms of blocking per event: each thread adds 1000 events/s.
        let seen = run(&mut c, 40, 0.01, |t| t as f64 * 1000.0);
        assert_eq!(*seen.last().unwrap(), 64, "{seen:?}");
        // Doubling steps get there in a handful of probes, not 63 single steps: a probe that
        // doubles throughput is kept on its first tick at the new size.
        assert!(seen.iter().position(|&t| t == 64).unwrap() < 20, "{seen:?}");
    }

    #[test]
    fn stops_where_more_threads_stop_helping() {
        let mut c = PoolController::new(1, 64, 2, Duration::from_secs(1));
        // Blocking, but a shared resource saturates at 6 threads.
        let seen = run(&mut c, 60, 0.01, |t| t.min(6) as f64 * 1000.0);
        let last = *seen.last().unwrap();
        assert!((6..=9).contains(&last), "{seen:?}");
    }

    #[test]
    fn never_grows_a_cpu_bound_stage_past_the_cores() {
        for cores in [1, 2, 4] {
            let mut c = PoolController::new(1, 64, cores, Duration::from_secs(1));
            let seen = run(&mut c, 60, 1.0, |t| t.min(cores) as f64 * 1e6);
            assert!(seen.iter().all(|&t| t <= cores), "cores {cores}: {seen:?}");
        }
    }

    #[test]
    fn one_noisy_tick_does_not_uncap_a_cpu_bound_stage() {
        let mut c = PoolController::new(1, 64, 2, Duration::from_secs(1));
        let mut threads = 1;
        let mut seen = Vec::new();
        for tick in 0..60 {
            let busy = TICK * threads as u32;
            // Every seventh tick the scheduler's counters lag: the stage reads 30% on-CPU.
            let share = if tick % 7 == 6 { 0.3 } else { 1.0 };
            threads = c.observe(&PoolObservation {
                threads,
                queue_len: 10_000,
                processed: (threads.min(2) as f64 * 1e5) as u64,
                interval: TICK,
                busy,
                cpu: busy.mul_f64(share),
            });
            seen.push(threads);
        }
        assert!(seen.iter().all(|&t| t <= 2), "{seen:?}");
    }

    #[test]
    fn a_load_ramping_up_is_not_taken_for_the_gain_of_a_thread() {
        let mut c = PoolController::new(1, 8, 8, Duration::from_secs(1));
        let mut threads = 1;
        let mut seen = Vec::new();
        for tick in 0..40u32 {
            let busy = TICK * threads as u32;
            // Arrivals rise 20% a tick for ten ticks, then hold; threads add nothing.
            let rate = 10_000.0 * 1.2f64.powi(tick.min(10) as i32);
            threads = c.observe(&backed_up(threads, rate, busy));
            seen.push(threads);
        }
        assert!(
            seen[..10].iter().all(|&t| t == 1),
            "no probe while it ramps: {seen:?}"
        );
        assert_eq!(seen[20..], [1; 20], "the probe after it failed: {seen:?}");
    }

    /// The ticks at which a backlogged pool of steady throughput `rate(tick)` (whatever its
    /// size) probes a larger size.
    fn probes(c: &mut PoolController, ticks: u64, rate: impl Fn(u64) -> f64) -> Vec<u64> {
        let mut threads = 1;
        let mut at = Vec::new();
        for tick in 0..ticks {
            let busy = TICK * threads as u32;
            let next = c.observe(&backed_up(threads, rate(tick), busy));
            if next > threads {
                at.push(tick);
            }
            threads = next;
        }
        at
    }

    /// Gaps between successive probes.
    fn gaps(at: &[u64]) -> Vec<u64> {
        at.windows(2).map(|w| w[1] - w[0]).collect()
    }

    #[test]
    fn a_probe_that_keeps_failing_waits_twice_as_long_each_time() {
        let mut c = PoolController::new(1, 8, 8, Duration::from_secs(1));
        let at = probes(&mut c, 4_000, |_| 10_000.0);
        // A probe is judged after a tick to settle and JUDGE_TICKS more, and its ceiling then
        // holds 50, 100, … 800 ticks.
        let judged = 2 + u64::from(JUDGE_TICKS);
        let gaps = gaps(&at);
        let backed_off = [50, 100, 200, 400, 800, 800].map(|c| c + judged);
        assert_eq!(gaps[..6], backed_off, "{at:?}");
        assert!(at.len() <= 9, "{at:?}");
    }

    #[test]
    fn a_growth_that_loses_ends_after_one_tick_at_its_size() {
        // Two threads serve 30% less than one: each probe lasts its settling tick and one
        // more, not every judging tick, as the pool serves less while it lasts.
        let mut c = PoolController::new(1, 8, 8, Duration::from_secs(1));
        let (mut threads, mut grown_for) = (1, 0u32);
        let mut probes = Vec::new();
        for _ in 0..1_000 {
            let rate = if threads == 1 { 10_000.0 } else { 7_000.0 };
            let busy = TICK * threads as u32;
            threads = c.observe(&backed_up(threads, rate, busy));
            if threads > 1 {
                grown_for += 1;
            } else if grown_for > 0 {
                probes.push(std::mem::take(&mut grown_for));
            }
        }
        assert!(
            !probes.is_empty() && probes.iter().all(|&t| t == 2),
            "{probes:?}"
        );
    }

    #[test]
    fn a_growth_that_loses_is_not_kept_on_one_tick_that_reads_high() {
        // Two threads serve 20% less than one (cross-thread hand-offs), but the tick after
        // the new thread settled reads 50% more (work held back by the move, served at
        // once), and every other tick at one thread dips by a tenth.
        let mut c = PoolController::new(1, 8, 8, Duration::from_secs(1));
        let (mut threads, mut grown_for, mut kept_for) = (1, 0u32, 0u32);
        for tick in 0..2_000u64 {
            let rate = match (threads, grown_for) {
                (1, _) if tick % 2 == 1 => 9_000.0,
                (1, _) => 10_000.0,
                (_, 2) => 12_000.0,
                _ => 8_000.0,
            };
            let busy = TICK * threads as u32;
            threads = c.observe(&backed_up(threads, rate, busy));
            grown_for = if threads > 1 { grown_for + 1 } else { 0 };
            kept_for = kept_for.max(grown_for);
        }
        assert!(
            kept_for <= 1 + u32::from(JUDGE_TICKS),
            "a growth held {kept_for} ticks"
        );
    }

    #[test]
    fn a_load_that_pauses_on_its_way_up_is_not_taken_for_the_gain_of_a_thread() {
        // Clients connect in two waves: the rate holds for a tick halfway up, then rises to
        // what one thread serves, 10 k/s. A second thread serves 10% less (hand-offs).
        let mut c = PoolController::new(1, 8, 8, Duration::from_secs(1));
        let (mut threads, mut grown_for, mut kept_for) = (1, 0u32, 0u32);
        for tick in 0..1_000usize {
            let demand = [3_000.0, 7_000.0, 7_200.0].get(tick).copied();
            let served = match threads {
                1 => 10_000.0,
                _ => 9_000.0,
            };
            let rate = demand.map_or(served, |d: f64| d.min(served));
            let busy = TICK * threads as u32;
            threads = c.observe(&backed_up(threads, rate, busy));
            grown_for = if threads > 1 { grown_for + 1 } else { 0 };
            kept_for = kept_for.max(grown_for);
        }
        assert!(
            kept_for <= 1 + u32::from(JUDGE_TICKS),
            "a growth held {kept_for} ticks"
        );
    }

    #[test]
    fn a_noisy_rate_is_not_a_new_load() {
        let mut c = PoolController::new(1, 8, 8, Duration::from_secs(1));
        // Each tick's reading anywhere within ±20% of the same load, as on a busy machine.
        let noise = |t: u64| (t.wrapping_mul(2_654_435_761) % 401) as f64 / 1_000.0 - 0.2;
        let at = probes(&mut c, 2_000, |t| 10_000.0 * (1.0 + noise(t)));
        assert!(
            gaps(&at).windows(2).take(4).all(|w| w[1] > w[0]),
            "each wait longer: {at:?}"
        );
    }

    #[test]
    fn a_new_load_ends_the_back_off() {
        let mut c = PoolController::new(1, 8, 8, Duration::from_secs(1));
        // Backed off to 400 ticks, then the load doubles at tick 600: the next probe comes
        // one first cooldown after it, not at the end of the long one.
        let at = probes(&mut c, 1_400, |t| if t < 600 { 10_000.0 } else { 20_000.0 });
        let after: Vec<u64> = at.iter().copied().filter(|&t| t >= 600).collect();
        assert!(after.first().is_some_and(|&t| t <= 656), "{at:?}");
        // Under the new load the back-off starts over from the first cooldown.
        let judged = 2 + u64::from(JUDGE_TICKS);
        assert_eq!(gaps(&after), [50, 100, 200].map(|c| c + judged), "{at:?}");
    }

    #[test]
    fn more_demand_on_a_pool_held_at_its_size_ends_the_back_off() {
        // One thread serves up to 12.5 k/s; demand is 10 k/s (more threads add nothing), then
        // 20 k/s from tick 800, which a second thread could serve. Held at one thread, the
        // pool's throughput can only rise by a quarter: its busy time shows the new demand.
        let mut c = PoolController::new(1, 8, 8, Duration::from_secs(1));
        let mut threads = 1;
        let mut grew = None;
        for tick in 0..1_000u64 {
            let demand: f64 = if tick < 800 { 10_000.0 } else { 20_000.0 };
            let served = demand.min(threads as f64 * 12_500.0);
            let utilisation = served / (threads as f64 * 12_500.0);
            let busy = TICK.mul_f64(utilisation * threads as f64);
            threads = c.observe(&backed_up(threads, served, busy));
            if tick >= 800 && threads > 1 && grew.is_none() {
                grew = Some(tick);
            }
        }
        let grew = grew.expect("it grows under the new demand");
        assert!(
            grew <= 860,
            "within a first cooldown, not the backed-off one: {grew}"
        );
        assert!(threads >= 2, "and stays grown: {threads}");
    }

    #[test]
    fn shrinks_an_idle_stage_to_its_minimum() {
        let mut c = PoolController::new(2, 64, 2, Duration::from_millis(500));
        let mut threads = 32;
        for _ in 0..200 {
            threads = c.observe(&PoolObservation {
                threads,
                queue_len: 0,
                processed: 0,
                interval: TICK,
                busy: Duration::ZERO,
                cpu: Duration::ZERO,
            });
        }
        assert_eq!(threads, 2);
    }

    #[test]
    fn holds_a_busy_stage_without_backlog() {
        let mut c = PoolController::new(1, 8, 2, Duration::from_millis(300));
        for _ in 0..50 {
            let t = c.observe(&PoolObservation {
                threads: 4,
                queue_len: 0,
                processed: 1000,
                interval: TICK,
                busy: TICK * 3,
                cpu: Duration::ZERO,
            });
            assert_eq!(t, 4);
        }
    }
}
