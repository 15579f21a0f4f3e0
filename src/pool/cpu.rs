//! How much CPU a worker thread wanted: time on a core plus time waiting for one.
//!
//! A CPU-bound thread that waits for a core (other threads, other processes) is busy but not
//! on-CPU; counting only CPU time would make it look like blocking work and invite more
//! threads. Linux reports both per thread in `/proc/self/task/<tid>/schedstat`; elsewhere the
//! thread's CPU clock is the fallback.

use std::time::Duration;

/// A handle on one thread's CPU demand: time on a core plus time waiting for one. Take one
/// per worker thread ([`CpuDemand::current`], on the thread) and sum their
/// [`read`](CpuDemand::read)s each tick: the difference between ticks is a
/// [`PoolObservation::cpu`](crate::PoolObservation::cpu).
///
/// # Examples
/// ```
/// use std::time::{Duration, Instant};
/// use sedaflow::{CpuDemand, CpuUse};
///
/// let me = CpuDemand::current();
/// let before = me.read();
/// let spin = Instant::now();
/// let mut x = 0u64;
/// while spin.elapsed() < Duration::from_millis(50) {
///     x = std::hint::black_box(x.wrapping_add(1));
/// }
/// let used: CpuUse = me.read().saturating_sub(before);
/// assert!(used.demand() > Duration::ZERO);
/// assert_eq!(used.demand(), used.on_cpu + used.waiting);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct CpuDemand {
    tid: libc::pid_t,
    clock: Option<libc::clockid_t>,
}

impl CpuDemand {
    /// The calling thread's handle.
    pub fn current() -> CpuDemand {
        let mut id: libc::clockid_t = 0;
        // SAFETY: pthread_self() is the calling thread; `id` is a valid out-pointer.
        let rc = unsafe { libc::pthread_getcpuclockid(libc::pthread_self(), &mut id) };
        CpuDemand {
            // SAFETY: gettid has no preconditions.
            tid: unsafe { libc::gettid() },
            clock: (rc == 0).then_some(id),
        }
    }

    /// Time on a core and time waiting for one, so far, from any thread. Only meaningful
    /// while the thread lives: afterwards it reads zero, or another thread's figures if the
    /// system reused the id, so drop a worker's handle before the worker exits (keeping its
    /// last reading if the sum must not fall back).
    pub fn read(self) -> CpuUse {
        let path = format!("/proc/self/task/{}/schedstat", self.tid);
        if let Ok(text) = std::fs::read_to_string(path) {
            let mut fields = text.split_whitespace().map(|f| f.parse::<u64>().ok());
            if let (Some(Some(on_cpu)), Some(Some(waiting))) = (fields.next(), fields.next()) {
                return CpuUse {
                    on_cpu: Duration::from_nanos(on_cpu),
                    waiting: Duration::from_nanos(waiting),
                };
            }
        }
        CpuUse {
            on_cpu: self.clock.map_or(Duration::ZERO, cpu_clock),
            waiting: Duration::ZERO,
        }
    }
}

/// CPU time used and run-queue time waited, of one thread or summed over threads (`+`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuUse {
    /// Time on a core.
    pub on_cpu: Duration,
    /// Time runnable but waiting for a core.
    pub waiting: Duration,
}

impl std::ops::Add for CpuUse {
    type Output = CpuUse;
    fn add(self, o: CpuUse) -> CpuUse {
        CpuUse {
            on_cpu: self.on_cpu + o.on_cpu,
            waiting: self.waiting + o.waiting,
        }
    }
}

impl CpuUse {
    /// Time the threads wanted a core: on one or waiting for one.
    pub fn demand(self) -> Duration {
        self.on_cpu + self.waiting
    }

    /// Each field's difference, at least zero: the use between two readings.
    pub fn saturating_sub(self, o: CpuUse) -> CpuUse {
        CpuUse {
            on_cpu: self.on_cpu.saturating_sub(o.on_cpu),
            waiting: self.waiting.saturating_sub(o.waiting),
        }
    }
}

fn cpu_clock(id: libc::clockid_t) -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid out-pointer; an invalid clock id yields an error, not UB.
    if unsafe { libc::clock_gettime(id, &mut ts) } != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}
