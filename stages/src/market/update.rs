use std::sync::Arc;

use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::{encode_message, DepthUpdate, Message};
use crate::matching::Symbol;

/// One encoded message for every subscriber of a channel, encoded once and shared, with
/// what an [`Outbox`](super::Outbox) needs to conflate it with the one still pending. The
/// text is checked to be UTF-8 once, here, so a socket writes it to each subscriber as a
/// text frame without checking it again.
#[derive(Clone, Debug)]
pub struct Update {
    text: Utf8Bytes,
    kind: Kind,
}

/// How an update conflates with the pending one of the same subscription.
#[derive(Clone, Debug)]
enum Kind {
    /// Never: trades, snapshots, answers.
    Whole,
    /// Replaces it: `bbo`.
    Latest,
    /// Replaces it when both show the candle that opened at this time: `kline`, so a closed
    /// candle is never replaced by the next one.
    Candle(u64),
    /// Merges into it: `depth_update`.
    Depth(Arc<DepthUpdate>),
}

impl Update {
    /// An update that is never merged nor replaced.
    pub fn whole(message: &Message<'_>) -> Update {
        Update::new(message, Kind::Whole)
    }

    /// An update that replaces the pending one: a `bbo`.
    pub fn latest(message: &Message<'_>) -> Update {
        Update::new(message, Kind::Latest)
    }

    /// A `kline` of the candle that opened at `open_time`.
    pub fn candle(message: &Message<'_>, open_time: u64) -> Update {
        Update::new(message, Kind::Candle(open_time))
    }

    /// A `depth_update` of `symbol`.
    pub fn depth(symbol: Symbol, update: DepthUpdate) -> Update {
        let update = Arc::new(update);
        let message = Message::DepthUpdate {
            symbol,
            update: &update,
        };
        Update {
            text: encoded(&message),
            kind: Kind::Depth(update),
        }
    }

    fn new(message: &Message<'_>, kind: Kind) -> Update {
        Update {
            text: encoded(message),
            kind,
        }
    }

    /// The encoded message (one JSON object, no newline).
    pub fn text(&self) -> &Utf8Bytes {
        &self.text
    }

    /// Its bytes.
    pub fn bytes(&self) -> &[u8] {
        self.text.as_bytes()
    }

    /// Folds `later` (of the same subscription, whose book is `symbol`) into this pending
    /// update when their kinds allow it; answers whether it did. A merged `depth_update` is
    /// encoded again, for this subscriber alone.
    pub(super) fn absorb(&mut self, later: &Update, symbol: Symbol) -> bool {
        match (&mut self.kind, &later.kind) {
            (Kind::Latest, Kind::Latest) => {}
            (Kind::Candle(open), Kind::Candle(later_open)) if open == later_open => {}
            (Kind::Depth(pending), Kind::Depth(later_update)) => {
                let merged = Arc::make_mut(pending);
                merged.merge(later_update);
                self.text = encoded(&Message::DepthUpdate {
                    symbol,
                    update: merged,
                });
                return true;
            }
            _ => return false,
        }
        self.text = later.text.clone();
        true
    }
}

/// Room for a trade, a bbo or a small depth update at once, instead of growing to it in
/// four reallocations.
const TYPICAL: usize = 128;

fn encoded(message: &Message<'_>) -> Utf8Bytes {
    let mut out = Vec::with_capacity(TYPICAL);
    encode_message(message, &mut out);
    // The encoder writes UTF-8 only; were it not to, the text would show it rather than
    // a socket fail.
    String::from_utf8(out)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
        .into()
}
