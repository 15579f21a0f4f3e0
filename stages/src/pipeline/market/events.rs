//! What the market-data stage takes: book changes from matching, and its sockets' requests.

use std::sync::Arc;

use sedaflow::key_digest;
use tokio::sync::oneshot;

use super::Subscriber;
use crate::market::{BookDelta, Deltas, Snapshot, Subscription};
use crate::matching::Symbol;

/// One event for the market-data stage. Everything but [`MarketIn::Tick`] and
/// [`MarketIn::Latest`] concerns one
/// symbol and goes to the lane that owns it, so a subscriber's snapshot and the updates after
/// it are made in one order.
#[derive(Debug)]
pub(crate) enum MarketIn {
    /// One matching batch's book changes for the symbols of lane `lane` (from matching,
    /// after the journal when there is one), in the order matching made them: one event per
    /// lane and batch, not per request.
    Deltas { lane: u64, deltas: Deltas },
    /// A socket subscribes: it gets `subscribed` and the current state, then the updates.
    Subscribe(Arc<Subscriber>, Subscription),
    /// A socket unsubscribes: it gets `unsubscribed`, and nothing of it after that.
    Unsubscribe(Arc<Subscriber>, Subscription),
    /// A socket closed: the stage forgets it, answering nothing.
    Gone(Arc<Subscriber>, Subscription),
    /// An HTTP snapshot request: the body goes back on the channel.
    Snapshot(Snapshot, oneshot::Sender<Vec<u8>>),
    /// The clock, for closing candles: one per lane (`lane` is its digest), about every
    /// 250 ms, with the time in milliseconds since the Unix epoch.
    Tick { lane: u64, now_ms: u64 },
    /// The market page asks for its default symbol: lane `lane` (as for `Tick`) answers its
    /// latest trade on the channel, `None` while it has none.
    Latest {
        lane: u64,
        reply: oneshot::Sender<Option<LastTrade>>,
    },
}

/// A lane's latest trade: ordered by time first, so the newest of the lanes' is the greatest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct LastTrade {
    /// When it traded, in milliseconds since the Unix epoch.
    pub(crate) time_ms: u64,
    pub(crate) symbol: Symbol,
}

impl MarketIn {
    /// The lane of `symbol`'s events: [`MarketIn::Deltas`] for it go there.
    pub(crate) fn lane_of(symbol: Symbol) -> u64 {
        key_digest(&Some(symbol)) % super::LANES as u64
    }

    /// Book changes made elsewhere (a matcher of the scale-out roles), as matching here hands
    /// them over: one [`MarketIn::Deltas`] per lane that has some, each in the given order.
    pub(crate) fn from_deltas(deltas: Vec<BookDelta>, out: &mut Vec<MarketIn>) {
        let mut lanes: [Deltas; super::LANES] = Default::default();
        for delta in &deltas {
            lanes[MarketIn::lane_of(delta.symbol) as usize].push(delta.view());
        }
        let by_lane = lanes.into_iter().zip(0u64..);
        out.extend(
            by_lane
                .filter(|(deltas, _)| !deltas.is_empty())
                .map(|(deltas, lane)| MarketIn::Deltas { lane, deltas }),
        );
    }

    /// Its lane digest (see `StageBuilder::keyed_by_digest`): the symbol's, or a tick's lane.
    pub(crate) fn digest(&self) -> u64 {
        match self {
            MarketIn::Tick { lane, .. }
            | MarketIn::Deltas { lane, .. }
            | MarketIn::Latest { lane, .. } => *lane,
            other => key_digest(&other.symbol()),
        }
    }

    fn symbol(&self) -> Option<Symbol> {
        match self {
            MarketIn::Subscribe(_, s) | MarketIn::Unsubscribe(_, s) | MarketIn::Gone(_, s) => {
                Some(s.symbol)
            }
            MarketIn::Snapshot(snapshot, _) => Some(snapshot.symbol()),
            MarketIn::Tick { .. } | MarketIn::Deltas { .. } | MarketIn::Latest { .. } => None,
        }
    }
}
