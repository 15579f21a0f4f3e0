//! A token bucket that never refuses: a charge always goes through and the bucket answers how
//! long its owner owes before the next read. Pure: time is passed in.

use std::num::NonZeroU64;
use std::time::{Duration, Instant};

/// How much of its rate a bucket lends at once: a full bucket holds this long's worth (at
/// least one unit), so a client idle for a while may send a short burst at full speed.
pub(crate) const BURST: Duration = Duration::from_millis(100);

const NANOS: i128 = 1_000_000_000;

/// Tokens at `rate` units a second, at most [`BURST`]'s worth, in debt after a charge bigger
/// than what is in it.
#[derive(Debug, Clone)]
pub(crate) struct TokenBucket {
    rate: NonZeroU64,
    /// In unit-nanoseconds (units × 10⁹), so a nanosecond refills exactly `rate` of them at
    /// any rate; below zero it is debt.
    level: i128,
    cap: i128,
    at: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub(crate) fn new(rate: NonZeroU64, now: Instant) -> Self {
        let cap = cap(rate);
        TokenBucket {
            rate,
            level: cap,
            cap,
            at: now,
        }
    }

    /// Takes `units` (already read: never refused) and returns the delay owed before the next
    /// read, zero while the bucket is not in debt.
    pub(crate) fn charge(&mut self, units: u64, now: Instant) -> Duration {
        self.refill(now);
        self.level -= i128::from(units) * NANOS;
        if self.level >= 0 {
            return Duration::ZERO;
        }
        // Debt in unit-nanoseconds over units a second is nanoseconds; rounded up, so the
        // owner never comes back before the debt is paid.
        let rate = i128::from(self.rate.get());
        let nanos = (-self.level + rate - 1) / rate;
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    /// Refills at the old rate until `now`, then runs at `rate`: a debt is kept (in units) and
    /// paid at the new rate, a fuller bucket than the new burst is trimmed to it.
    pub(crate) fn set_rate(&mut self, rate: NonZeroU64, now: Instant) {
        self.refill(now);
        self.rate = rate;
        self.cap = cap(rate);
        self.level = self.level.min(self.cap);
    }

    fn refill(&mut self, now: Instant) {
        // A reader's clock may lag another's that charged a shared bucket: time never runs
        // back, that charge's refill is simply counted from the later instant.
        if now <= self.at {
            return;
        }
        let elapsed = i128::try_from((now - self.at).as_nanos()).unwrap_or(i128::MAX / NANOS);
        let refill = elapsed.saturating_mul(i128::from(self.rate.get()));
        self.level = self.level.saturating_add(refill).min(self.cap);
        self.at = now;
    }
}

/// [`BURST`]'s worth of `rate`, at least one unit, in unit-nanoseconds.
fn cap(rate: NonZeroU64) -> i128 {
    let burst = i128::from(rate.get()) * i128::try_from(BURST.as_nanos()).unwrap_or(NANOS);
    burst.max(NANOS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(n: u64) -> NonZeroU64 {
        NonZeroU64::new(n).expect("non-zero")
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_full_bucket_lends_its_burst_then_charges_a_delay() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(rate(100), t0);
        // 100/s lends 100 ms's worth: 10 requests at once.
        assert_eq!(b.charge(10, t0), Duration::ZERO);
        assert_eq!(b.charge(1, t0), ms(10));
        // Debts add up: the next charge waits behind the first.
        assert_eq!(b.charge(4, t0), ms(50));
    }

    #[test]
    fn it_refills_at_its_rate_and_never_beyond_the_burst() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(rate(1_000), t0);
        assert_eq!(b.charge(100, t0), Duration::ZERO);
        // 30 ms refill 30 units.
        assert_eq!(b.charge(30, t0 + ms(30)), Duration::ZERO);
        assert_eq!(b.charge(1, t0 + ms(30)), ms(1));
        // An idle hour refills no more than the burst.
        let later = t0 + Duration::from_secs(3600);
        assert_eq!(b.charge(100, later), Duration::ZERO);
        assert_eq!(b.charge(2, later), ms(2));
    }

    #[test]
    fn the_delay_owed_pays_the_debt_exactly() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(rate(1_000), t0);
        let owed = b.charge(150, t0);
        assert_eq!(owed, ms(50));
        // Coming back when the debt is paid, the bucket is empty, not in debt.
        assert_eq!(b.charge(0, t0 + owed), Duration::ZERO);
        assert_eq!(b.charge(1, t0 + owed), ms(1));
    }

    #[test]
    fn a_rate_of_bytes_refills_per_nanosecond_without_rounding() {
        let t0 = Instant::now();
        // 3 GB/s: a third of a nanosecond per byte.
        let mut b = TokenBucket::new(rate(3_000_000_000), t0);
        assert_eq!(b.charge(300_000_000, t0), Duration::ZERO);
        assert_eq!(b.charge(3, t0 + Duration::from_nanos(1)), Duration::ZERO);
        assert_eq!(
            b.charge(4, t0 + Duration::from_nanos(1)),
            Duration::from_nanos(2)
        );
    }

    #[test]
    fn a_rate_change_keeps_the_debt_and_pays_it_at_the_new_rate() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(rate(100), t0);
        assert_eq!(b.charge(20, t0), ms(100));
        // Halfway through at 100/s, 5 units are still owed: at 1000/s they take 5 ms.
        b.set_rate(rate(1_000), t0 + ms(50));
        assert_eq!(b.charge(0, t0 + ms(50)), ms(5));
        // The new burst is 100: after a long pause it lends that much.
        assert_eq!(b.charge(100, t0 + ms(1_000)), Duration::ZERO);
        // Slowing down trims a full bucket to the new, smaller burst.
        b.set_rate(rate(10), t0 + ms(2_000));
        assert_eq!(b.charge(1, t0 + ms(2_000)), Duration::ZERO);
        assert_eq!(b.charge(1, t0 + ms(2_000)), ms(100));
    }

    #[test]
    fn a_clock_that_lags_refills_nothing() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(rate(100), t0 + ms(10));
        assert_eq!(b.charge(10, t0 + ms(10)), Duration::ZERO);
        assert_eq!(b.charge(1, t0), ms(10));
    }
}
