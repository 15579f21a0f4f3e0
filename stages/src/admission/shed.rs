//! Shedding at the read, per connection, pure: reads in, a share of new orders to admit out.
//!
//! The admission limit sees the time from read to matched. When the network itself is the
//! bottleneck (the stages run on the event loops, so nothing queues between them), requests
//! wait in the socket before anyone reads them, where that limit cannot see. What a
//! connection's input waits for there is the other connections' work on its loop: after a
//! read that filled its buffer (more input waits behind it) the reader yields to them and
//! measures how long they kept it waiting (the loop thread's CPU time meanwhile, so a
//! machine that does not run the loop at all is not taken for other connections' work). A
//! connection whose reads have all been full while it waited more than `grace` in total is
//! behind because of the others, so the server is over capacity; a client's own burst on a
//! quiet loop waits for nobody and is never shed.
//!
//! - **A full read after more than `grace` of waiting** multiplies the connection's admitted
//!   share by `decrease`: the rest of its new orders, the read's oldest, are answered
//!   `overloaded` at the read, which costs a small part of serving them, so the reader
//!   catches up. The next cut needs
//!   another `grace` of waiting: the reads that drain what piled up before are full too.
//! - **A read that did not fill the buffer** emptied the socket: it is admitted whole (the
//!   connection is not behind), the streak ends and the share grows by `increase`, up to
//!   all, for the next full one.
//! - **A pause** (watermarks, the in-flight limit, traffic shaping: input held back on
//!   purpose) ends the streak without changing the share.
//!
//! Connections that send the most are behind the most often, so they are shed first; a
//! connection that keeps up is never shed. Within a read, the admitted share is rounded
//! with a carry, so small reads are shed in the same proportion as large ones.

use std::time::Duration;

/// The per-connection shedding state (it moves with the session).
#[derive(Debug, Clone)]
pub(crate) struct ReadShed {
    /// Share of new orders admitted, in `0 ..= 1`.
    share: f64,
    /// How long this streak of full reads has waited for other connections.
    waited: Duration,
    /// The fraction of a request the last reads' rounding owes.
    carry: f64,
}

/// Its settings, from `[admission]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ShedConfig {
    pub(crate) grace: Duration,
    pub(crate) decrease: f64,
    pub(crate) increase: f64,
}

impl Default for ReadShed {
    fn default() -> Self {
        ReadShed {
            share: 1.0,
            waited: Duration::ZERO,
            carry: 0.0,
        }
    }
}

impl ReadShed {
    /// One read of `frames` frames, `full` when it filled the buffer; returns how many of
    /// them may enter (all, unless it is full and the connection is shed).
    pub(crate) fn read(&mut self, config: &ShedConfig, full: bool, frames: usize) -> usize {
        if !full {
            // The socket is empty: whatever it was, the connection is not behind now.
            self.waited = Duration::ZERO;
            self.share = (self.share + config.increase).min(1.0);
            return frames;
        }
        if self.waited > config.grace {
            self.share *= config.decrease;
            self.waited = Duration::ZERO;
        }
        if self.share >= 1.0 {
            self.carry = 0.0;
            return frames;
        }
        let owed = self.share * frames as f64 + self.carry;
        let admitted = owed.floor();
        self.carry = owed - admitted;
        (admitted as usize).min(frames)
    }

    /// After a full read, the reader waited this long for the other connections on its
    /// loop before reading again.
    pub(crate) fn waited(&mut self, waited: Duration) {
        self.waited += waited;
    }

    /// The reader paused on purpose: what waits in the socket is not the server's lag.
    pub(crate) fn paused(&mut self) {
        self.waited = Duration::ZERO;
    }

    /// The share of new orders admitted now.
    #[cfg(test)]
    pub(crate) fn share(&self) -> f64 {
        self.share
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: ShedConfig = ShedConfig {
        grace: Duration::from_millis(5),
        decrease: 0.7,
        increase: 0.05,
    };

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_burst_that_waits_for_nobody_is_not_shed() {
        let mut s = ReadShed::default();
        for _ in 0..1000 {
            // A thousand full reads, each followed by a short wait: one client's burst on
            // a quiet loop.
            assert_eq!(s.read(&CONFIG, true, 150), 150);
            s.waited(Duration::from_micros(4));
        }
        assert_eq!(s.share(), 1.0);
    }

    #[test]
    fn a_connection_kept_waiting_past_the_grace_is_shed_until_it_catches_up() {
        let mut s = ReadShed::default();
        assert_eq!(s.read(&CONFIG, true, 100), 100);
        s.waited(ms(3));
        assert_eq!(s.read(&CONFIG, true, 100), 100);
        s.waited(ms(3));
        assert_eq!(s.read(&CONFIG, true, 100), 70);
        // The next cut needs another grace of waiting.
        s.waited(ms(3));
        assert_eq!(s.read(&CONFIG, true, 100), 70);
        s.waited(ms(3));
        // 0.49 of 100, rounding down with the carry.
        assert!((48..=49).contains(&s.read(&CONFIG, true, 100)));
        // Caught up: the share climbs back additively and the streak starts over.
        s.read(&CONFIG, false, 0);
        assert!((0.539..0.541).contains(&s.share()));
        s.read(&CONFIG, true, 0);
        assert!(
            (0.539..0.541).contains(&s.share()),
            "a new streak gets the grace"
        );
        for _ in 0..20 {
            s.read(&CONFIG, false, 10);
        }
        assert_eq!(s.share(), 1.0);
        assert_eq!(s.read(&CONFIG, false, 10), 10);
    }

    #[test]
    fn a_pause_restarts_the_grace() {
        let mut s = ReadShed::default();
        s.read(&CONFIG, true, 100);
        s.waited(ms(6));
        s.paused();
        assert_eq!(s.read(&CONFIG, true, 100), 100);
        s.waited(ms(6));
        assert_eq!(s.read(&CONFIG, true, 100), 70);
    }

    #[test]
    fn small_reads_are_shed_in_proportion() {
        let mut s = ReadShed {
            share: 0.7,
            ..ReadShed::default()
        };
        let hold = ShedConfig {
            decrease: 1.0,
            increase: 0.0,
            ..CONFIG
        };
        let admitted: usize = (0..1000).map(|_| s.read(&hold, true, 1)).sum();
        assert!((699..=700).contains(&admitted), "{admitted}");
    }

    #[test]
    fn under_steady_overload_the_admitted_share_settles_where_the_loop_keeps_up() {
        // 16 connections on a loop, each offered 2x its share of what the loop serves:
        // serving costs 1 µs, refusing 0.2 µs, so the loop keeps up admitting 5/8 or less.
        // The loop reads each connection in turn (150 frames at most per read, full while
        // more waits); a connection waits while the others read.
        const CONNS: usize = 16;
        let mut shed: Vec<ReadShed> = vec![ReadShed::default(); CONNS];
        let mut backlog = [0.0_f64; CONNS];
        let mut waited = [0.0_f64; CONNS];
        let mut last_full = [false; CONNS];
        let offered_per_us = 2.0 / CONNS as f64;
        let (mut read, mut admitted, mut worst) = (0.0, 0.0, 0.0_f64);
        for round in 0..4000 {
            for c in 0..CONNS {
                if last_full[c] {
                    shed[c].waited(Duration::from_secs_f64(waited[c] * 1e-6));
                }
                waited[c] = 0.0;
                let frames = backlog[c].min(150.0);
                let full = backlog[c] > 150.0;
                let let_in = shed[c].read(&CONFIG, full, frames as usize) as f64;
                let cost_us = let_in + 0.2 * (frames - let_in) + 1.0;
                backlog[c] -= frames;
                for (other, b) in backlog.iter_mut().enumerate() {
                    *b += offered_per_us * cost_us;
                    if other != c {
                        waited[other] += cost_us;
                    }
                }
                last_full[c] = full;
                if round >= 2000 {
                    read += frames;
                    admitted += let_in;
                }
            }
            if round >= 2000 {
                worst = worst.max(backlog.iter().sum());
            }
        }
        let share = admitted / read;
        assert!((0.3..=0.65).contains(&share), "admitted share {share}");
        // At 2 requests per µs offered, 10 ms of them.
        assert!(worst < 20_000.0, "the backlog stays bounded: {worst}");
    }
}
