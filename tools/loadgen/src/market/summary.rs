use std::fmt;
use std::time::Duration;

use hdrhistogram::Histogram;

use crate::summary::{histogram, Latency, Wrk};

/// The counts of one subscriber (or, merged, of all).
#[derive(Debug)]
pub(crate) struct MarketTally {
    pub(crate) messages: u64,
    pub(crate) bytes: u64,
    pub(crate) trades: u64,
    gaps: u64,
    first_gap: Option<String>,
    pub(crate) slow_consumers: u64,
    pub(crate) cut: u64,
    errors: u64,
    first_error: Option<String>,
    pub(crate) books_checked: u64,
    mismatches: u64,
    first_mismatch: Option<String>,
    /// Arrival time minus each trade's `time`, in nanoseconds.
    pub(crate) latency: Histogram<u64>,
}

impl MarketTally {
    pub(crate) fn new() -> MarketTally {
        MarketTally {
            messages: 0,
            bytes: 0,
            trades: 0,
            gaps: 0,
            first_gap: None,
            slow_consumers: 0,
            cut: 0,
            errors: 0,
            first_error: None,
            books_checked: 0,
            mismatches: 0,
            first_mismatch: None,
            latency: histogram(),
        }
    }

    /// Counts a broken sequence, keeping the first's description.
    pub(crate) fn note_gap(&mut self, what: String) {
        self.gaps += 1;
        self.first_gap.get_or_insert(what);
    }

    /// Counts a frame that is not what the protocol promises a subscriber.
    pub(crate) fn note_error(&mut self, what: String) {
        self.errors += 1;
        self.first_error.get_or_insert(what);
    }

    /// Counts a rebuilt book that is not the final one.
    pub(crate) fn note_mismatch(&mut self, what: String) {
        self.mismatches += 1;
        self.first_mismatch.get_or_insert(what);
    }

    pub(crate) fn merge(&mut self, other: MarketTally) {
        self.messages += other.messages;
        self.bytes += other.bytes;
        self.trades += other.trades;
        self.gaps += other.gaps;
        self.slow_consumers += other.slow_consumers;
        self.cut += other.cut;
        self.errors += other.errors;
        self.books_checked += other.books_checked;
        self.mismatches += other.mismatches;
        for (mine, theirs) in [
            (&mut self.first_gap, other.first_gap),
            (&mut self.first_error, other.first_error),
            (&mut self.first_mismatch, other.first_mismatch),
        ] {
            if mine.is_none() {
                *mine = theirs;
            }
        }
        // Same bounds on both sides, so adding cannot fail.
        let _ = self.latency.add(&other.latency);
    }
}

/// What the market-data subscribers of a run (`--md-subscribers`) saw.
#[derive(Clone, Debug, PartialEq)]
pub struct MarketSummary {
    /// WebSocket subscribers.
    pub subscribers: usize,
    /// Symbols each subscribed to, `depth` and `trades` of each.
    pub symbols: usize,
    /// Frames received, all subscribers together.
    pub messages: u64,
    /// Their bytes (text payloads).
    pub bytes: u64,
    /// Of the messages, `trade`s.
    pub trades: u64,
    /// From the subscribers' snapshots to the end of the book check.
    pub elapsed: Duration,
    /// Of `elapsed`, from the end of the order load to the end of the book check: how far
    /// the feed lagged behind (plus the quiet check's 200 ms, at least twice).
    pub settle: Duration,
    /// Messages per second over `elapsed`.
    pub messages_per_sec: f64,
    /// Broken sequences: depth updates not continuing their chain, trades whose `match`
    /// skips or repeats. Must be 0.
    pub gaps: u64,
    /// The first broken sequence, described.
    pub first_gap: Option<String>,
    /// Sockets the server closed with `slow consumer`.
    pub slow_consumers: u64,
    /// Sockets that ended otherwise before the end of the run.
    pub cut: u64,
    /// Frames that are not what a subscriber is promised (unreadable, an `error`, a symbol
    /// not subscribed). Must be 0.
    pub errors: u64,
    /// The first of them, described.
    pub first_error: Option<String>,
    /// Books compared with `GET /depth` at the end (one per symbol of each subscriber
    /// still connected).
    pub books_checked: u64,
    /// Of those, books that differ or never reached the final `seq` or trade. Must be 0.
    pub mismatches: u64,
    /// The first mismatch, described.
    pub first_mismatch: Option<String>,
    /// From each trade's `time` to its arrival (the server's clock is this machine's;
    /// `time` is in whole milliseconds, so this reads up to 1 ms long).
    pub latency: Latency,
}

impl MarketSummary {
    pub(crate) fn new(
        tally: MarketTally,
        (subscribers, symbols): (usize, usize),
        elapsed: Duration,
        settle: Duration,
    ) -> MarketSummary {
        let seconds = elapsed.as_secs_f64();
        MarketSummary {
            subscribers,
            symbols,
            messages: tally.messages,
            bytes: tally.bytes,
            trades: tally.trades,
            elapsed,
            settle,
            messages_per_sec: if seconds > 0.0 {
                tally.messages as f64 / seconds
            } else {
                0.0
            },
            gaps: tally.gaps,
            first_gap: tally.first_gap,
            slow_consumers: tally.slow_consumers,
            cut: tally.cut,
            errors: tally.errors,
            first_error: tally.first_error,
            books_checked: tally.books_checked,
            mismatches: tally.mismatches,
            first_mismatch: tally.first_mismatch,
            latency: Latency::of(&tally.latency),
        }
    }

    /// Whether the feed kept its promises: no gap, no mismatch, no unexpected frame.
    pub fn clean(&self) -> bool {
        self.gaps == 0 && self.mismatches == 0 && self.errors == 0
    }
}

impl fmt::Display for MarketSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "  Market data: {} subscribers x {} symbols (depth, trades)",
            self.subscribers, self.symbols
        )?;
        writeln!(
            f,
            "  {} messages ({} trades), {:.1} MB in {:.2}s, settled {:.2}s after the load",
            self.messages,
            self.trades,
            self.bytes as f64 / 1e6,
            self.elapsed.as_secs_f64(),
            self.settle.as_secs_f64()
        )?;
        let l = &self.latency;
        writeln!(
            f,
            "  Trade delivery  50% {}  99% {}  max {}",
            Wrk(l.p50),
            Wrk(l.p99),
            Wrk(l.max)
        )?;
        writeln!(
            f,
            "  gaps: {}, mismatches: {} of {} books, errors: {}, slow consumers: {}, cut: {}",
            self.gaps,
            self.mismatches,
            self.books_checked,
            self.errors,
            self.slow_consumers,
            self.cut
        )?;
        for (label, first) in [
            ("first gap", &self.first_gap),
            ("first mismatch", &self.first_mismatch),
            ("first error", &self.first_error),
        ] {
            if let Some(first) = first {
                writeln!(f, "  {label}: {first}")?;
            }
        }
        write!(f, "Messages/sec: {:>10.2}", self.messages_per_sec)
    }
}
