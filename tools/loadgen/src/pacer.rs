use std::num::NonZeroU64;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

/// The longest the pacer sleeps between looks at its stop flag.
const MAX_NAP: Duration = Duration::from_millis(20);
/// The shortest pacer sleep. Each wake-up costs the machine (on a VM, tens of
/// microseconds of CPU, taken from the server under test) and wakes every writer; above
/// ~10k requests/s, releasing them in 100 µs batches measured lower latency and half the
/// load generator's CPU of waking for each one. The batching shows in `send_lag`.
const MIN_NAP: Duration = Duration::from_micros(100);

/// The open-loop schedule: request `g` of the whole run (over all connections, dealt
/// round-robin, so connection `c` sends `g = c, c + n, c + 2n, …`) is due `g / rate`
/// seconds after the start.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Schedule {
    pub(crate) rate: NonZeroU64,
    pub(crate) connections: usize,
}

impl Schedule {
    /// When global request `g` is due, in nanoseconds since the start.
    pub(crate) fn due_ns(self, g: u64) -> u64 {
        (u128::from(g) * 1_000_000_000 / u128::from(self.rate.get())) as u64
    }

    /// The global index of connection `connection`'s `k`-th request.
    pub(crate) fn global(self, connection: usize, k: u64) -> u64 {
        k * self.connections as u64 + connection as u64
    }

    /// How many requests are due by `elapsed_ns` (those with `due_ns <= elapsed_ns`).
    pub(crate) fn due_by(self, elapsed_ns: u64) -> u64 {
        (u128::from(elapsed_ns) * u128::from(self.rate.get()) / 1_000_000_000) as u64 + 1
    }

    /// Of the first `due` global requests, how many are connection `connection`'s.
    pub(crate) fn share(self, due: u64, connection: usize) -> u64 {
        let (n, c) = (self.connections as u64, connection as u64);
        if due <= c {
            0
        } else {
            (due - c).div_ceil(n)
        }
    }
}

/// Starts the thread that releases one permit to a connection's semaphore when each of
/// its requests falls due, until `end_ns` or `stop`.
///
/// A thread, not a tokio timer: tokio sleeps in whole milliseconds, and waking up to a
/// millisecond late would add that much to every open-loop latency (which counts from the
/// intended time). `thread::sleep` wakes within tens of microseconds; the pacer wakes at
/// most every [`MIN_NAP`] and releases what fell due meanwhile.
pub(crate) fn spawn(
    schedule: Schedule,
    permits: Vec<Arc<Semaphore>>,
    start: Instant,
    end_ns: u64,
    stop: Arc<AtomicBool>,
) -> std::io::Result<thread::JoinHandle<()>> {
    thread::Builder::new()
        .name("loadgen-pacer".into())
        .spawn(move || {
            tighten_timer_slack();
            let mut released = vec![0u64; permits.len()];
            while !stop.load(Ordering::Relaxed) {
                let elapsed_ns = start.elapsed().as_nanos() as u64;
                // Requests due at or after the end are never sent.
                let due = schedule.due_by(elapsed_ns.min(end_ns.saturating_sub(1)));
                for (connection, semaphore) in permits.iter().enumerate() {
                    let share = schedule.share(due, connection);
                    let new = share - released[connection];
                    if new > 0 {
                        semaphore.add_permits(new as usize);
                        released[connection] = share;
                    }
                }
                if elapsed_ns >= end_ns {
                    break;
                }
                let next_ns = schedule.due_ns(due).min(end_ns);
                let nap = Duration::from_nanos(next_ns.saturating_sub(elapsed_ns));
                thread::sleep(nap.clamp(MIN_NAP, MAX_NAP));
            }
        })
}

/// Asks Linux to wake this thread's sleeps on time: the default 50 µs timer slack would be
/// added to open-loop latencies.
fn tighten_timer_slack() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_TIMERSLACK takes an integer and touches only this thread's slack.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(rate: u64, connections: usize) -> Schedule {
        Schedule {
            rate: NonZeroU64::new(rate).unwrap(),
            connections,
        }
    }

    #[test]
    fn due_times_follow_the_rate() {
        let s = schedule(4, 3);
        assert_eq!(s.due_ns(0), 0);
        assert_eq!(s.due_ns(1), 250_000_000);
        assert_eq!(s.due_ns(4), 1_000_000_000);
        assert_eq!(s.due_by(0), 1);
        assert_eq!(s.due_by(249_999_999), 1);
        assert_eq!(s.due_by(250_000_000), 2);
        assert_eq!(s.global(2, 1), 5);
        for g in 0..100 {
            // Request g is due exactly when due_by first counts it.
            assert_eq!(s.due_by(s.due_ns(g)), g + 1);
        }
    }

    #[test]
    fn shares_deal_round_robin() {
        let s = schedule(10, 3);
        for due in 0..50u64 {
            let shares: Vec<u64> = (0..3).map(|c| s.share(due, c)).collect();
            assert_eq!(shares.iter().sum::<u64>(), due);
            for (c, &share) in shares.iter().enumerate() {
                let expected = (0..due).filter(|g| g % 3 == c as u64).count() as u64;
                assert_eq!(share, expected, "due {due} connection {c}");
            }
        }
    }
}
