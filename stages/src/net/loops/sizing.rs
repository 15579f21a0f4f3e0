//! Sizes the event-loop group by the engine's pool rule ([`sedaflow::PoolController`]): grow
//! while input waits for the loops and throughput rises with them, never past the cores while
//! they are busy on CPU, back to the minimum after idle time. This is the thin adapter: it
//! observes the loops each tick and applies the controller's answer.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sedaflow::{CpuUse, PoolController, PoolObservation};
use tokio::sync::watch;

use super::{EventLoops, ReadCounts};

/// How often the group is observed: the engine's controller tick.
pub(crate) const TICK: Duration = Duration::from_millis(100);

/// What the last tick saw, to observe the next one as a difference.
struct Seen {
    at: Instant,
    reads: ReadCounts,
    busy: Duration,
    cpu: CpuUse,
}

impl Seen {
    fn now(group: &EventLoops) -> Seen {
        let (busy, cpu) = group.work();
        Seen {
            at: Instant::now(),
            reads: group.reads(),
            busy,
            cpu,
        }
    }
}

/// Loops busy for the whole tick count as one unit of waiting work each: a loop that never
/// parks always had a task ready.
fn saturated(busy: Duration, interval: Duration, loops: usize) -> usize {
    let whole = interval.mul_f64(0.95 * loops as f64);
    match busy >= whole && loops > 0 {
        true => loops,
        false => 0,
    }
}

fn read(seen: &Seen) -> u64 {
    seen.reads.read.load(Relaxed)
}

/// Ticks the controller until the server stops.
pub(crate) async fn steer(
    group: Arc<EventLoops>,
    idle_timeout: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut controller = PoolController::new(group.min(), group.max(), cores, idle_timeout);
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut seen = Seen::now(&group);
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = tick.tick() => {}
        }
        let now = Seen::now(&group);
        let reads = &now.reads;
        group.metrics().backlogged(reads.backlogged());
        let interval = now.at - seen.at;
        let busy = now.busy.saturating_sub(seen.busy);
        let observed = PoolObservation {
            threads: group.active(),
            // What waits on the loops: requests read and not handed on, connections with
            // more input than their last read took, and work on loops that never parked
            // (HTTP connections wait in their sockets without a read to show it).
            queue_len: reads.held() as usize
                + reads.backlogged()
                + saturated(busy, interval, group.active()),
            processed: read(&now).saturating_sub(read(&seen)),
            interval,
            busy,
            cpu: now.cpu.saturating_sub(seen.cpu).demand(),
        };
        // Every tick, even at the same size: it also ends retired loops and evens out
        // sessions that closed unevenly.
        if let Err(e) = group.resize(controller.observe(&observed)) {
            tracing::warn!(error = %e, "event loop not started");
        }
        seen = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loops_busy_for_the_whole_tick_count_as_waiting() {
        let ms = Duration::from_millis;
        assert_eq!(saturated(ms(96), ms(100), 1), 1);
        assert_eq!(saturated(ms(90), ms(100), 1), 0);
        assert_eq!(saturated(ms(195), ms(100), 2), 2);
        assert_eq!(
            saturated(ms(120), ms(100), 2),
            0,
            "one loop idle half the tick"
        );
        assert_eq!(saturated(ms(0), ms(100), 0), 0);
    }
}
