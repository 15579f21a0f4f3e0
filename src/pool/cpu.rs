//! Per-thread CPU clocks, read by the controller from its own thread.

use std::time::Duration;

/// A handle on one thread's CPU-time clock.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CpuClock(libc::clockid_t);

impl CpuClock {
    /// The calling thread's clock, if the platform offers one.
    pub(crate) fn current() -> Option<CpuClock> {
        let mut id: libc::clockid_t = 0;
        // SAFETY: pthread_self() is the calling thread; `id` is a valid out-pointer.
        let rc = unsafe { libc::pthread_getcpuclockid(libc::pthread_self(), &mut id) };
        (rc == 0).then_some(CpuClock(id))
    }

    /// CPU time the thread has used. Only valid while the thread is alive: the pool removes a
    /// worker's clock (under its lock) before the worker exits.
    pub(crate) fn elapsed(self) -> Duration {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid out-pointer; an invalid clock id yields an error, not UB.
        let rc = unsafe { libc::clock_gettime(self.0, &mut ts) };
        if rc != 0 {
            return Duration::ZERO;
        }
        Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
    }
}
