//! A server process's CPU time, from `/proc/<pid>/stat`: what it costs per order, beside what
//! it achieves, since on this 2-core machine the load generator and the server share the
//! cores.

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
