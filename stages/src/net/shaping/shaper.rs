//! The shaping state: the server's buckets, shared by every reader, and each reader's own.

use std::num::NonZeroU64;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::bucket::TokenBucket;
use crate::config::{Limits, ReadRates, ReadScope};
use crate::internal_events::ShapingMetrics;

/// The read limits in force and the server's buckets.
pub(crate) struct Shaping {
    /// The version of the rates readers shape by, 0 while every limit is off: an unshaped
    /// read costs one relaxed load.
    active: AtomicU64,
    global: Mutex<Global>,
    metrics: ShapingMetrics,
}

struct Global {
    /// Bumped by every [`Shaping::set`]; a reader that saw an older one retunes its buckets.
    version: u64,
    /// Each connection's rates.
    conn: ReadRates,
    buckets: Buckets,
}

/// A reader's own buckets, and the version of the rates they follow.
#[derive(Default)]
pub(crate) struct ConnShaper {
    version: u64,
    buckets: Buckets,
}

/// The pause a read owes before the next one, and the limit that set it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Owed {
    pub(crate) delay: Duration,
    pub(crate) scope: ReadScope,
}

impl Shaping {
    pub(crate) fn new(limits: &Limits, metrics: ShapingMetrics) -> Self {
        let shaping = Shaping {
            active: AtomicU64::new(0),
            global: Mutex::new(Global {
                version: 0,
                conn: ReadRates::default(),
                buckets: Buckets::default(),
            }),
            metrics,
        };
        shaping.set(limits, Instant::now());
        shaping
    }

    /// Applies the read rates of `limits` (at start, and on reload).
    pub(crate) fn set(&self, limits: &Limits, now: Instant) {
        let global = limits.read_rates(ReadScope::Global);
        let mut g = self.global.lock();
        g.version += 1;
        g.conn = limits.read_rates(ReadScope::Conn);
        g.buckets.follow(global, now);
        let on = g.conn.any() || global.any();
        self.active.store(if on { g.version } else { 0 }, Relaxed);
        let conn = g.conn;
        self.metrics
            .limits([conn.bytes, conn.requests, global.bytes, global.requests]);
    }

    /// Whether any limit is on: the one check an unshaped read pays.
    #[inline]
    pub(crate) fn is_on(&self) -> bool {
        self.active.load(Relaxed) != 0
    }

    /// Charges a read of `bytes` carrying `requests` to the server's buckets and to `conn`'s;
    /// returns the pause owed before the reader's next read.
    pub(crate) fn charge(
        &self,
        conn: &mut ConnShaper,
        bytes: u64,
        requests: u64,
        now: Instant,
    ) -> Owed {
        let global = {
            let mut g = self.global.lock();
            if conn.version != g.version {
                conn.buckets.follow(g.conn, now);
                conn.version = g.version;
            }
            g.buckets.charge(bytes, requests, now)
        };
        let own = conn.buckets.charge(bytes, requests, now);
        if own > global {
            Owed {
                delay: own,
                scope: ReadScope::Conn,
            }
        } else {
            Owed {
                delay: global,
                scope: ReadScope::Global,
            }
        }
    }
}

/// One scope's buckets: one per limit set.
#[derive(Default)]
struct Buckets {
    bytes: Option<TokenBucket>,
    requests: Option<TokenBucket>,
}

impl Buckets {
    /// Follows `rates`: a new limit starts a full bucket, a changed one keeps its level, a
    /// removed one goes.
    fn follow(&mut self, rates: ReadRates, now: Instant) {
        retune(&mut self.bytes, rates.bytes, now);
        retune(&mut self.requests, rates.requests, now);
    }

    /// The longer of the two delays owed.
    fn charge(&mut self, bytes: u64, requests: u64, now: Instant) -> Duration {
        let owed = |bucket: &mut Option<TokenBucket>, units| {
            bucket
                .as_mut()
                .map_or(Duration::ZERO, |b| b.charge(units, now))
        };
        owed(&mut self.bytes, bytes).max(owed(&mut self.requests, requests))
    }
}

fn retune(bucket: &mut Option<TokenBucket>, rate: Option<NonZeroU64>, now: Instant) {
    match (bucket.as_mut(), rate) {
        (Some(b), Some(r)) => b.set_rate(r, now),
        (None, Some(r)) => *bucket = Some(TokenBucket::new(r, now)),
        (_, None) => *bucket = None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(text: &str) -> Limits {
        toml::from_str(text).expect("valid limits")
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn off_by_default_and_on_with_any_limit() {
        let shaping = Shaping::new(&Limits::default(), ShapingMetrics::register());
        assert!(!shaping.is_on());
        let t0 = Instant::now();
        shaping.set(&limits("conn_read_bytes_per_sec = 10"), t0);
        assert!(shaping.is_on());
        shaping.set(&Limits::default(), t0);
        assert!(!shaping.is_on());
    }

    #[test]
    fn the_server_limit_is_shared_and_the_connection_limit_is_not() {
        let t0 = Instant::now();
        let shaping = Shaping::new(
            &limits("read_requests_per_sec = 100\nconn_read_bytes_per_sec = 1000"),
            ShapingMetrics::register(),
        );
        let (mut a, mut b) = (ConnShaper::default(), ConnShaper::default());
        let owed = |delay, scope| Owed { delay, scope };
        // The server's 10 requests of burst go to a, b pays for what it reads past them.
        assert_eq!(
            shaping.charge(&mut a, 100, 10, t0),
            owed(ms(0), ReadScope::Global)
        );
        assert_eq!(
            shaping.charge(&mut b, 100, 2, t0),
            owed(ms(20), ReadScope::Global)
        );
        // a's 150 more bytes at 1000/s owe 150 ms, longer than the server's 30 ms.
        assert_eq!(
            shaping.charge(&mut a, 150, 1, t0),
            owed(ms(150), ReadScope::Conn)
        );
    }

    #[test]
    fn a_reload_reaches_readers_at_their_next_read() {
        let t0 = Instant::now();
        let shaping = Shaping::new(
            &limits("conn_read_requests_per_sec = 10"),
            ShapingMetrics::register(),
        );
        let mut conn = ConnShaper::default();
        assert_eq!(shaping.charge(&mut conn, 0, 2, t0).delay, ms(100));
        // Ten times faster: the debt left (one request) is paid in a tenth of the time.
        shaping.set(&limits("conn_read_requests_per_sec = 100"), t0);
        assert_eq!(shaping.charge(&mut conn, 0, 0, t0).delay, ms(10));
        shaping.set(&Limits::default(), t0);
        assert_eq!(shaping.charge(&mut conn, 0, 1000, t0).delay, Duration::ZERO);
    }
}
