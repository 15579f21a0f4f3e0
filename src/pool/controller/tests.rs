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
    // Doubling steps get there in a handful of probes, not 63 single steps, each two ticks
    // long (one to settle, one to judge: a doubling of throughput is a clear gain) once two
    // ticks have shown the rate steady.
    let doublings = [1, 1, 2, 2, 4, 4, 8, 8, 16, 16, 32, 32, 64];
    assert_eq!(seen[..doublings.len()], doublings, "{seen:?}");
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

/// How long each growth of a backlogged one-thread pool lasted, in ticks above one
/// thread, for a throughput `rate(tick, threads, ticks the growth has lasted)`.
fn growths(ticks: u64, rate: impl Fn(u64, usize, u32) -> f64) -> Vec<u32> {
    let mut c = PoolController::new(1, 8, 8, Duration::from_secs(1));
    let (mut threads, mut grown_for) = (1, 0u32);
    let mut growths = Vec::new();
    for tick in 0..ticks {
        let busy = TICK * threads as u32;
        let o = backed_up(threads, rate(tick, threads, grown_for), busy);
        threads = c.observe(&o);
        if threads > 1 {
            grown_for += 1;
        } else if grown_for > 0 {
            growths.push(std::mem::take(&mut grown_for));
        }
    }
    growths.extend((grown_for > 0).then_some(grown_for));
    growths
}

#[test]
fn a_growth_that_loses_ends_after_one_tick_at_its_size() {
    // Two threads serve 30% less than one: each probe lasts its settling tick and one
    // more, not every judging tick, as the pool serves less while it lasts.
    let growths = growths(1_000, |_, threads, _| match threads {
        1 => 10_000.0,
        _ => 7_000.0,
    });
    assert!(
        !growths.is_empty() && growths.iter().all(|&t| t == 2),
        "{growths:?}"
    );
}

#[test]
fn a_growth_that_loses_is_not_kept_on_one_tick_that_reads_high() {
    // Two threads serve 20% less than one (cross-thread hand-offs), but the tick after
    // the new thread settled reads 60% more (work held back by the move, served at
    // once), and every third tick at one thread dips by a tenth (a probe may start there).
    let growths = growths(2_000, |tick, threads, grown_for| {
        match (threads, grown_for) {
            (1, _) if tick % 3 == 2 => 9_000.0,
            (1, _) => 10_000.0,
            (_, 2) => 13_000.0,
            _ => 8_000.0,
        }
    });
    let longest = growths.iter().max().copied().unwrap_or(u32::MAX);
    assert!(longest <= 1 + u32::from(JUDGE_TICKS), "{growths:?}");
}

#[test]
fn a_probe_from_a_tick_that_dipped_is_not_credited_with_the_dip() {
    // A second thread adds nothing, and every third tick at one thread dips by a quarter: a
    // probe that starts on a dip would see a third more at two threads.
    let growths = growths(2_000, |tick, threads, _| match threads {
        1 if tick % 3 == 2 => 7_500.0,
        _ => 10_000.0,
    });
    let longest = growths.iter().max().copied().unwrap_or(u32::MAX);
    assert!(longest <= 1 + u32::from(JUDGE_TICKS), "{growths:?}");
}

#[test]
fn a_load_that_pauses_on_its_way_up_is_not_taken_for_the_gain_of_a_thread() {
    // Clients connect in two waves: the rate holds for a tick halfway up, then rises to
    // what one thread serves, 10 k/s. A second thread serves 10% less (hand-offs).
    let growths = growths(1_000, |tick, threads, _| {
        let served = match threads {
            1 => 10_000.0,
            _ => 9_000.0,
        };
        let demand = [3_000.0, 7_000.0, 7_000.0].get(tick as usize).copied();
        demand.map_or(served, |d: f64| d.min(served))
    });
    let longest = growths.iter().max().copied().unwrap_or(u32::MAX);
    assert!(longest <= 1 + u32::from(JUDGE_TICKS), "{growths:?}");
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
