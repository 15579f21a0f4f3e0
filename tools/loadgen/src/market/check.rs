use sedaflow_stages::matching::Symbol;

use super::book::LevelBook;
use super::chain::{Break, DepthChain, TradeChain};
use super::message::{parse, Frame};
use super::summary::MarketTally;

/// The `error` reason of a socket the server cuts off for not keeping up.
const SLOW_CONSUMER: &str = "slow consumer";

/// What one frame meant for its socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Seen {
    /// Read; the socket goes on.
    Read,
    /// `slow consumer`: the server closes the socket next.
    SlowConsumer,
}

/// The state one symbol must end in, from the HTTP snapshots once the feed is quiet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Final {
    pub(crate) symbol: Symbol,
    /// `GET /depth`: its `seq` and levels.
    pub(crate) seq: u64,
    pub(crate) book: LevelBook,
    /// `GET /trades`: the last trade's `match` now and when the subscribers were ready.
    pub(crate) last_match: Option<u64>,
    pub(crate) match_at_start: Option<u64>,
}

/// One symbol as a subscriber rebuilds it.
#[derive(Debug)]
struct Rebuilt {
    symbol: Symbol,
    depth: DepthChain,
    book: LevelBook,
    trades: TradeChain,
}

impl Rebuilt {
    /// Whether the subscriber has seen everything `end` shows: the depth at its `seq` and,
    /// when the symbol traded since the subscribers were ready, its last trade.
    fn reached(&self, end: &Final) -> bool {
        let depth = self.depth.seq() >= Some(end.seq);
        let trades = end.last_match == end.match_at_start || self.trades.last() >= end.last_match;
        depth && trades
    }
}

/// One subscriber's view of its depth and trades subscriptions: it checks every sequence,
/// rebuilds every book and counts what it receives. Pure: the caller passes each frame and
/// the wall-clock time it arrived.
#[derive(Debug)]
pub(crate) struct Checker {
    symbols: Vec<Rebuilt>,
    tally: MarketTally,
}

impl Checker {
    /// A subscriber to `symbols`' depth and trades.
    pub(crate) fn new(symbols: &[Symbol]) -> Checker {
        let symbols = symbols
            .iter()
            .map(|&symbol| Rebuilt {
                symbol,
                depth: DepthChain::default(),
                book: LevelBook::default(),
                trades: TradeChain::default(),
            })
            .collect();
        Checker {
            symbols,
            tally: MarketTally::new(),
        }
    }

    /// Takes one text frame that arrived at `now_ns`, nanoseconds since the Unix epoch.
    pub(crate) fn frame(&mut self, text: &str, now_ns: u64) -> Seen {
        self.tally.messages += 1;
        self.tally.bytes += text.len() as u64;
        let frame = match parse(text) {
            Ok(frame) => frame,
            Err(_) => {
                self.tally
                    .note_error(format!("unreadable frame {text:.200}"));
                return Seen::Read;
            }
        };
        let symbol = match &frame {
            Frame::Depth { symbol, .. }
            | Frame::Update { symbol, .. }
            | Frame::Trade { symbol, .. } => *symbol,
            Frame::Error(reason) if reason == SLOW_CONSUMER => {
                self.tally.slow_consumers += 1;
                return Seen::SlowConsumer;
            }
            Frame::Error(reason) => {
                self.tally.note_error(format!("error {reason}"));
                return Seen::Read;
            }
            Frame::Other => return Seen::Read,
        };
        let Some(rebuilt) = self
            .symbols
            .iter_mut()
            .find(|r| r.symbol.as_str() == symbol)
        else {
            self.tally
                .note_error(format!("a message of {symbol}, not subscribed"));
            return Seen::Read;
        };
        let checked = match frame {
            Frame::Depth { seq, levels, .. } => {
                rebuilt.book = LevelBook::of(&levels);
                rebuilt.depth.snapshot(seq).map_err(|b| ("depth", b))
            }
            Frame::Update {
                first_seq,
                seq,
                levels,
                ..
            } => {
                rebuilt.book.apply(&levels);
                rebuilt
                    .depth
                    .update(first_seq, seq)
                    .map_err(|b| ("depth", b))
            }
            Frame::Trade {
                match_id, time_ms, ..
            } => {
                self.tally.trades += 1;
                self.tally
                    .latency
                    .saturating_record(now_ns.saturating_sub(time_ms.saturating_mul(1_000_000)));
                rebuilt.trades.trade(match_id).map_err(|b| ("trades", b))
            }
            Frame::Error(_) | Frame::Other => Ok(()),
        };
        if let Err((channel, broken)) = checked {
            let gap = describe(rebuilt.symbol, channel, broken);
            self.tally.note_gap(gap);
        }
        Seen::Read
    }

    /// Counts a frame that is not text.
    pub(crate) fn not_text(&mut self) {
        self.tally.messages += 1;
        self.tally.note_error("a frame that is not text".to_owned());
    }

    /// Whether every subscription's snapshot has come.
    pub(crate) fn ready(&self) -> bool {
        self.symbols.iter().all(|r| r.depth.seq().is_some())
    }

    /// Whether every symbol has reached its final state.
    pub(crate) fn reached(&self, finals: &[Final]) -> bool {
        finals.iter().all(|end| {
            self.symbols
                .iter()
                .find(|r| r.symbol == end.symbol)
                .is_some_and(|r| r.reached(end))
        })
    }

    /// Ends the subscriber: with `finals` (the socket still open at the end), compares each
    /// rebuilt book with its final one; a book that differs, or whose sequence or trades
    /// have not reached the final ones, is a mismatch. Without (the socket closed early),
    /// nothing is compared.
    pub(crate) fn finish(mut self, finals: Option<&[Final]>) -> MarketTally {
        for end in finals.unwrap_or_default() {
            self.tally.books_checked += 1;
            let Some(rebuilt) = self.symbols.iter().find(|r| r.symbol == end.symbol) else {
                continue;
            };
            let at = rebuilt.depth.seq();
            if !rebuilt.reached(end) || at != Some(end.seq) {
                self.tally.note_mismatch(format!(
                    "{}: depth at seq {at:?}, last trade {:?}; GET /depth at seq {}, GET /trades last {:?}",
                    end.symbol.as_str(),
                    rebuilt.trades.last(),
                    end.seq,
                    end.last_match,
                ));
            } else if rebuilt.book != end.book {
                self.tally.note_mismatch(format!(
                    "{}: rebuilt book {:?} but GET /depth {:?} at seq {}",
                    end.symbol.as_str(),
                    rebuilt.book,
                    end.book,
                    end.seq
                ));
            }
        }
        self.tally
    }

    /// Counts a socket the server ended without `slow consumer`.
    pub(crate) fn cut(&mut self) {
        self.tally.cut += 1;
    }
}

/// How a [`Break`] reads in the summary.
fn describe(symbol: Symbol, channel: &str, broken: Break) -> String {
    let symbol = symbol.as_str();
    match broken {
        Break::NoSnapshot => format!("{channel} {symbol}: a depth_update before the snapshot"),
        Break::Resnapshot { seq } => {
            format!("{channel} {symbol}: a second snapshot, at seq {seq}")
        }
        Break::Gap { expected, got } => {
            format!("{channel} {symbol}: expected {expected} next, got {got}")
        }
        Break::Backwards { first_seq, seq } => {
            format!("{channel} {symbol}: a depth_update from {first_seq} back to {seq}")
        }
    }
}

#[cfg(test)]
mod tests;
