//! A server process's CPU time, from `/proc/<pid>/stat`: what it costs per order, beside what
//! it achieves, since on this 2-core machine the load generator and the server share the
//! cores; and the machine's idle time, from `/proc/stat`: what neither of them used.

use std::time::Duration;

/// User plus system CPU time process `pid` used so far; `None` where `/proc` cannot say.
pub(crate) fn used(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name, field 2, may hold spaces: the fields counted from after it.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // utime and stime are fields 14 and 15, so 12 and 13 after the name.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf reads a system constant.
    let per_sec = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let per_sec = u64::try_from(per_sec).ok().filter(|&n| n > 0)?;
    Some(Duration::from_micros(ticks * 1_000_000 / per_sec))
}

/// The machine's CPU ticks so far: idle (with I/O wait) and all.
#[derive(Clone, Copy)]
pub(crate) struct Ticks {
    idle: u64,
    all: u64,
}

impl Ticks {
    /// Now, from `/proc/stat`'s first line; `None` where it cannot say.
    pub(crate) fn now() -> Option<Ticks> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let line = stat.lines().next()?.strip_prefix("cpu ")?;
        let fields: Vec<u64> = line
            .split_whitespace()
            .map(str::parse)
            .collect::<Result<_, _>>()
            .ok()?;
        // user nice system idle iowait irq softirq steal (guests are inside user).
        let idle = fields.get(3)? + fields.get(4)?;
        Some(Ticks {
            idle,
            all: fields.iter().take(8).sum(),
        })
    }

    /// The share of the machine's CPU time since `earlier` that was idle.
    pub(crate) fn idle_since(self, earlier: Ticks) -> f64 {
        let all = self.all.saturating_sub(earlier.all);
        self.idle.saturating_sub(earlier.idle) as f64 / all.max(1) as f64
    }
}
