use std::collections::VecDeque;
use std::sync::Arc;

use rustc_hash::FxHashMap;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::{ErrorReason, Message, Subscription, Update};

/// The most subscriptions one socket may hold.
pub const MAX_SUBSCRIPTIONS: usize = 1024;

/// The default cap on a socket's unsent bytes: 4 MiB.
pub const DEFAULT_UNSENT_CAP: usize = 4 << 20;

/// One subscriber's (socket's) messages not yet handed to its socket, with the contract's
/// backpressure.
///
/// - **Order**: messages leave in the order they were queued; a conflated message keeps
///   the place of the pending one it replaced, so each subscription's messages stay in
///   order.
/// - **Conflation**: while a subscription's newest queued message is unsent, a `bbo`
///   replaces it, a `kline` of the same candle replaces it, a `depth_update` merges into
///   it (see [`DepthUpdate::merge`](super::DepthUpdate::merge)); trades, snapshots and
///   answers are never merged nor dropped.
/// - **Cap**: when the queued bytes pass the cap, everything queued is dropped, the
///   `slow consumer` error is queued alone and the outbox [is slow](Outbox::is_slow): it
///   takes nothing more, and the socket is closed once the error is written.
///
/// # Examples
///
/// ```
/// use sedaflow_stages::market::{Bbo, Channel, Message, Outbox, Pushed, Subscription, Update};
/// use sedaflow_stages::matching::Symbol;
///
/// let symbol = Symbol::new("ACME").unwrap();
/// let bbo = Subscription { channel: Channel::Bbo, symbol };
/// let mut outbox = Outbox::new(1 << 20);
/// outbox.subscribe(bbo).unwrap();
/// for seq in 1..=3 {
///     let state = Bbo { seq, bid: None, ask: None };
///     outbox.push(bbo, &Update::latest(&Message::Bbo { symbol, bbo: &state }));
/// }
/// assert_eq!(outbox.pop().unwrap().as_str(), r#"{"type":"subscribed","channel":"bbo","symbol":"ACME"}"#);
/// let latest = outbox.pop().unwrap();
/// assert!(latest.starts_with(r#"{"type":"bbo","symbol":"ACME","seq":3,"#));
/// assert_eq!(outbox.pop(), None);
/// ```
#[derive(Debug)]
pub struct Outbox {
    cap: usize,
    /// Each subscription with the position of its newest queued message, while that one is
    /// unsent and may absorb the next.
    subscriptions: FxHashMap<Subscription, Option<u64>>,
    /// Queued messages; `None` holds the place of one removed by an unsubscribe, so
    /// positions stay valid.
    entries: VecDeque<Entry>,
    /// The position of `entries.front()`: how many were ever popped.
    popped: u64,
    bytes: usize,
    slow: bool,
}

#[derive(Debug)]
struct Entry {
    subscription: Option<Subscription>,
    item: Option<Item>,
}

/// What an entry holds.
#[derive(Debug)]
enum Item {
    One(Update),
    /// A shared run, from its update `next` on, `left` bytes still unsent.
    Run {
        run: Run,
        next: usize,
        left: usize,
    },
}

impl Item {
    /// Its bytes still unsent.
    fn bytes(&self) -> usize {
        match self {
            Item::One(update) => update.bytes().len(),
            Item::Run { left, .. } => *left,
        }
    }
}

/// Updates of one subscription that are never merged (trades), in order, shared by every
/// subscriber's outbox: a run of a thousand trades costs each subscriber one entry.
#[derive(Clone, Debug)]
pub struct Run {
    updates: Arc<[Update]>,
    bytes: usize,
}

impl Run {
    /// A run of `updates`, which are queued as they are, never conflated.
    pub fn new(updates: Vec<Update>) -> Run {
        let bytes = updates.iter().map(|u| u.bytes().len()).sum();
        Run {
            updates: updates.into(),
            bytes,
        }
    }
}

/// What [`Outbox::push`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pushed {
    /// Queued as a message of its own.
    Queued,
    /// Merged into, or replaced, the subscription's pending message.
    Conflated,
    /// Discarded: the socket does not hold this subscription (it just unsubscribed).
    NotSubscribed,
    /// It made the outbox pass its cap: the outbox is now slow.
    Slow,
    /// Discarded: the outbox was slow already.
    Discarded,
}

impl Outbox {
    /// An empty outbox whose socket may hold `cap` unsent bytes.
    pub fn new(cap: usize) -> Outbox {
        Outbox {
            cap,
            subscriptions: FxHashMap::default(),
            entries: VecDeque::new(),
            popped: 0,
            bytes: 0,
            slow: false,
        }
    }

    /// Adds `subscription` and queues its `subscribed` answer; the caller queues the
    /// initial state next. Subscribing again is a fresh start: the answer and initial state
    /// are queued again, and nothing later is merged into what was queued before.
    ///
    /// # Errors
    ///
    /// [`ErrorReason::TooManySubscriptions`] when the socket holds
    /// [`MAX_SUBSCRIPTIONS`] others already; that `error` is queued instead.
    pub fn subscribe(&mut self, subscription: Subscription) -> Result<Pushed, ErrorReason> {
        if self.subscriptions.len() >= MAX_SUBSCRIPTIONS
            && !self.subscriptions.contains_key(&subscription)
        {
            let reason = ErrorReason::TooManySubscriptions;
            self.answer(&Message::Error(reason));
            return Err(reason);
        }
        self.subscriptions.insert(subscription, None);
        Ok(self.answer(&Message::Subscribed(subscription)))
    }

    /// Removes `subscription` with every message of it still queued, and queues the
    /// `unsubscribed` answer (also when it was not held).
    pub fn unsubscribe(&mut self, subscription: Subscription) -> Pushed {
        if self.subscriptions.remove(&subscription).is_some() {
            for entry in &mut self.entries {
                if entry.subscription == Some(subscription) {
                    if let Some(item) = entry.item.take() {
                        self.bytes -= item.bytes();
                    }
                }
            }
        }
        self.answer(&Message::Unsubscribed(subscription))
    }

    /// Queues an answer (`subscribed`, `unsubscribed`, `error`): never conflated, kept
    /// through an unsubscribe.
    pub fn answer(&mut self, message: &Message<'_>) -> Pushed {
        self.enqueue(None, Item::One(Update::whole(message)))
    }

    /// Queues `update` for `subscription`, conflating it with that subscription's pending
    /// message when its kind allows.
    pub fn push(&mut self, subscription: Subscription, update: &Update) -> Pushed {
        if self.slow {
            return Pushed::Discarded;
        }
        let Some(&pending) = self.subscriptions.get(&subscription) else {
            return Pushed::NotSubscribed;
        };
        if let Some(entry) = pending
            .and_then(|position| position.checked_sub(self.popped))
            .and_then(|index| self.entries.get_mut(usize::try_from(index).ok()?))
        {
            if let Some(Item::One(queued)) = &mut entry.item {
                let before = queued.bytes().len();
                if queued.absorb(update, subscription.symbol) {
                    self.bytes = self.bytes - before + queued.bytes().len();
                    return self.check_cap().unwrap_or(Pushed::Conflated);
                }
            }
        }
        self.enqueue(Some(subscription), Item::One(update.clone()))
    }

    /// Queues `run` for `subscription` as one entry, never conflated.
    pub fn push_run(&mut self, subscription: Subscription, run: &Run) -> Pushed {
        if self.slow {
            return Pushed::Discarded;
        }
        if !self.subscriptions.contains_key(&subscription) {
            return Pushed::NotSubscribed;
        }
        let item = Item::Run {
            run: run.clone(),
            next: 0,
            left: run.bytes,
        };
        self.enqueue(Some(subscription), item)
    }

    /// [`Outbox::push`] of each of `updates` in turn, stopping at the first that is not
    /// taken: one call (and one lock, for a shared outbox) for a run of one subscription's
    /// updates. Answers how many were conflated and what the last push did.
    pub fn push_all<'u>(
        &mut self,
        subscription: Subscription,
        updates: impl IntoIterator<Item = &'u Update>,
    ) -> (usize, Pushed) {
        let (mut conflated, mut last) = (0, Pushed::Queued);
        for update in updates {
            last = self.push(subscription, update);
            match last {
                Pushed::Queued => {}
                Pushed::Conflated => conflated += 1,
                Pushed::NotSubscribed | Pushed::Slow | Pushed::Discarded => break,
            }
        }
        (conflated, last)
    }

    fn enqueue(&mut self, subscription: Option<Subscription>, item: Item) -> Pushed {
        if self.slow {
            return Pushed::Discarded;
        }
        let position = self.popped + self.entries.len() as u64;
        if let Some(pending) = subscription.and_then(|s| self.subscriptions.get_mut(&s)) {
            *pending = Some(position);
        }
        self.bytes += item.bytes();
        self.entries.push_back(Entry {
            subscription,
            item: Some(item),
        });
        self.check_cap().unwrap_or(Pushed::Queued)
    }

    /// Turns slow when the queued bytes passed the cap.
    fn check_cap(&mut self) -> Option<Pushed> {
        if self.bytes <= self.cap {
            return None;
        }
        self.popped += self.entries.len() as u64;
        self.entries.clear();
        let error = Update::whole(&Message::Error(ErrorReason::SlowConsumer));
        self.bytes = error.bytes().len();
        self.entries.push_back(Entry {
            subscription: None,
            item: Some(Item::One(error)),
        });
        self.slow = true;
        Some(Pushed::Slow)
    }

    /// The next message to write, oldest first; it leaves the outbox (and can no longer be
    /// conflated).
    pub fn pop(&mut self) -> Option<Utf8Bytes> {
        loop {
            let front = self.entries.front_mut()?;
            let text = match &mut front.item {
                Some(Item::Run { run, next, left }) => {
                    let text = run.updates.get(*next).map(|u| u.text().clone());
                    *next += 1;
                    let len = text.as_ref().map_or(0, |t| t.len());
                    *left -= len;
                    self.bytes -= len;
                    if *next < run.updates.len() {
                        return text;
                    }
                    text
                }
                Some(Item::One(update)) => {
                    self.bytes -= update.bytes().len();
                    Some(update.text().clone())
                }
                None => None,
            };
            self.entries.pop_front();
            self.popped += 1;
            if text.is_some() {
                return text;
            }
        }
    }

    /// The bytes queued and not yet popped.
    pub fn unsent_bytes(&self) -> usize {
        self.bytes
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.bytes == 0
    }

    /// Whether the outbox passed its cap: close the socket once [`pop`](Outbox::pop)
    /// answers `None` (the `slow consumer` error written).
    pub fn is_slow(&self) -> bool {
        self.slow
    }

    /// How many subscriptions the socket holds.
    pub fn subscriptions(&self) -> usize {
        self.subscriptions.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::{Bbo, Candle, Channel, DepthUpdate, Interval, LevelChange, Trade};
    use crate::matching::{Price, Side, Symbol};

    fn acme() -> Symbol {
        Symbol::new("ACME").unwrap()
    }

    fn sub(channel: Channel) -> Subscription {
        Subscription {
            channel,
            symbol: acme(),
        }
    }

    fn trade(match_id: u64) -> Update {
        let trade = Trade {
            match_id,
            price: Price::from_ticks(10).unwrap(),
            qty: 1,
            taker: Side::Buy,
            time_ms: 0,
        };
        Update::whole(&Message::Trade {
            symbol: acme(),
            trade: &trade,
        })
    }

    fn bbo(seq: u64) -> Update {
        let bbo = Bbo {
            seq,
            bid: None,
            ask: None,
        };
        Update::latest(&Message::Bbo {
            symbol: acme(),
            bbo: &bbo,
        })
    }

    fn depth(seq: u64, ticks: u64, total: u64) -> Update {
        let change = LevelChange {
            side: Side::Buy,
            price: Price::from_ticks(ticks).unwrap(),
            total,
        };
        Update::depth(acme(), DepthUpdate::new(seq, &[change]))
    }

    fn kline(open_time: u64, trades: u64, closed: bool) -> Update {
        let price = Price::from_ticks(10).unwrap();
        let candle = Candle {
            open_time,
            open: price,
            high: price,
            low: price,
            close: price,
            volume: trades,
            trades,
        };
        let message = Message::Kline {
            symbol: acme(),
            interval: Interval::Second,
            candle: &candle,
            closed,
        };
        Update::candle(&message, open_time)
    }

    /// Everything queued, as text, without the answers.
    fn drain(outbox: &mut Outbox) -> Vec<String> {
        std::iter::from_fn(|| outbox.pop())
            .map(|text| text.to_string())
            .filter(|text| !text.contains("subscribed"))
            .collect()
    }

    fn field(text: &str, name: &str) -> serde_json::Value {
        serde_json::from_str::<serde_json::Value>(text).unwrap()[name].clone()
    }

    #[test]
    fn trades_are_never_merged() {
        let mut outbox = Outbox::new(DEFAULT_UNSENT_CAP);
        outbox.subscribe(sub(Channel::Trades)).unwrap();
        for id in 1..=3 {
            assert_eq!(
                outbox.push(sub(Channel::Trades), &trade(id)),
                Pushed::Queued
            );
        }
        let ids: Vec<_> = drain(&mut outbox)
            .iter()
            .map(|t| field(t, "match"))
            .collect();
        assert_eq!(ids, [1, 2, 3]);
        assert!(outbox.is_empty());
        assert_eq!(outbox.unsent_bytes(), 0);
    }

    #[test]
    fn a_shared_run_is_sent_in_order_and_counted_to_the_byte() {
        let (trades, book) = (sub(Channel::Trades), sub(Channel::Depth));
        let run = Run::new((1..=3).map(trade).collect());
        let update = depth(4, 10, 5);
        let mut outboxes = [
            Outbox::new(DEFAULT_UNSENT_CAP),
            Outbox::new(DEFAULT_UNSENT_CAP),
        ];
        for outbox in &mut outboxes {
            outbox.subscribe(trades).unwrap();
            outbox.subscribe(book).unwrap();
            drain(outbox);
            assert_eq!(outbox.push_run(trades, &run), Pushed::Queued);
            assert_eq!(outbox.push(book, &update), Pushed::Queued);
            assert_eq!(outbox.unsent_bytes(), run.bytes + update.bytes().len());
        }
        let [first, second] = &mut outboxes;
        let texts = drain(first);
        let kinds: Vec<_> = texts.iter().map(|t| field(t, "type")).collect();
        assert_eq!(kinds, ["trade", "trade", "trade", "depth_update"]);
        let ids: Vec<_> = texts[..3].iter().map(|t| field(t, "match")).collect();
        assert_eq!(ids, [1, 2, 3]);
        assert_eq!(first.unsent_bytes(), 0);
        // The other outbox's share is untouched; unsubscribing drops what is left of it.
        second.pop();
        second.unsubscribe(trades);
        let left = drain(second);
        assert_eq!(left.len(), 1, "{left:?}");
        assert_eq!(field(&left[0], "type"), "depth_update");
        assert_eq!(second.unsent_bytes(), 0);
        assert_eq!(Outbox::new(1).push_run(trades, &run), Pushed::NotSubscribed);
    }

    #[test]
    fn depth_updates_merge_while_unsent() {
        let channel = sub(Channel::Depth);
        let mut outbox = Outbox::new(DEFAULT_UNSENT_CAP);
        outbox.subscribe(channel).unwrap();
        assert_eq!(outbox.push(channel, &depth(1, 10, 5)), Pushed::Queued);
        assert_eq!(outbox.push(channel, &depth(2, 20, 1)), Pushed::Conflated);
        assert_eq!(outbox.push(channel, &depth(3, 10, 0)), Pushed::Conflated);
        let sent = drain(&mut outbox);
        assert_eq!(
            sent,
            [
                r#"{"type":"depth_update","symbol":"ACME","first_seq":1,"seq":3,"bids":[["0.002",1],["0.001",0]],"asks":[]}"#
            ]
        );
        // Once sent, the next update starts afresh.
        outbox.push(channel, &depth(4, 10, 2));
        assert_eq!(field(&drain(&mut outbox)[0], "first_seq"), 4);
    }

    #[test]
    fn bbo_and_candles_keep_the_latest() {
        let mut outbox = Outbox::new(DEFAULT_UNSENT_CAP);
        let (best, candles) = (sub(Channel::Bbo), sub(Channel::Kline(Interval::Second)));
        outbox.subscribe(best).unwrap();
        outbox.subscribe(candles).unwrap();
        outbox.push(best, &bbo(1));
        outbox.push(candles, &kline(1_000, 1, false));
        assert_eq!(outbox.push(best, &bbo(2)), Pushed::Conflated);
        assert_eq!(
            outbox.push(candles, &kline(1_000, 2, true)),
            Pushed::Conflated
        );
        // A closed candle is final: the next one queues behind it.
        assert_eq!(
            outbox.push(candles, &kline(2_000, 1, false)),
            Pushed::Queued
        );
        assert_eq!(
            outbox.push(candles, &kline(2_000, 2, false)),
            Pushed::Conflated
        );
        let sent = drain(&mut outbox);
        let summary: Vec<_> = sent
            .iter()
            .map(|t| {
                (
                    field(t, "type"),
                    field(t, "seq"),
                    field(t, "trades"),
                    field(t, "closed"),
                )
            })
            .map(|(kind, seq, trades, closed)| format!("{kind} {seq} {trades} {closed}"))
            .collect();
        assert_eq!(
            summary,
            [
                r#""bbo" 2 null null"#,
                r#""kline" null 2 true"#,
                r#""kline" null 2 false"#
            ]
        );
    }

    #[test]
    fn subscribing_again_does_not_merge_across_the_fresh_start() {
        let channel = sub(Channel::Depth);
        let mut outbox = Outbox::new(DEFAULT_UNSENT_CAP);
        outbox.subscribe(channel).unwrap();
        outbox.push(channel, &depth(1, 10, 5));
        outbox.subscribe(channel).unwrap();
        assert_eq!(outbox.push(channel, &depth(2, 10, 6)), Pushed::Queued);
        assert_eq!(outbox.subscriptions(), 1);
        let seqs: Vec<_> = drain(&mut outbox).iter().map(|t| field(t, "seq")).collect();
        assert_eq!(seqs, [1, 2]);
    }

    #[test]
    fn unsubscribing_removes_what_is_pending_of_that_subscription_only() {
        let (trades, best) = (sub(Channel::Trades), sub(Channel::Bbo));
        let mut outbox = Outbox::new(DEFAULT_UNSENT_CAP);
        outbox.subscribe(trades).unwrap();
        outbox.subscribe(best).unwrap();
        outbox.push(trades, &trade(1));
        outbox.push(best, &bbo(1));
        outbox.push(trades, &trade(2));
        outbox.unsubscribe(trades);
        assert_eq!(outbox.push(trades, &trade(3)), Pushed::NotSubscribed);
        let sent: Vec<_> = std::iter::from_fn(|| outbox.pop())
            .map(|text| field(&text, "type"))
            .collect();
        assert_eq!(sent, ["subscribed", "subscribed", "bbo", "unsubscribed"]);
        assert_eq!(outbox.unsent_bytes(), 0);
    }

    #[test]
    fn refuses_the_1025th_subscription() {
        let mut outbox = Outbox::new(DEFAULT_UNSENT_CAP);
        let symbols: Vec<_> = (0..=MAX_SUBSCRIPTIONS)
            .map(|n| Symbol::new(&format!("S{n}")).unwrap())
            .collect();
        for &symbol in &symbols[..MAX_SUBSCRIPTIONS] {
            let subscription = Subscription {
                channel: Channel::Trades,
                symbol,
            };
            assert!(outbox.subscribe(subscription).is_ok());
        }
        let last = Subscription {
            channel: Channel::Trades,
            symbol: symbols[MAX_SUBSCRIPTIONS],
        };
        assert_eq!(
            outbox.subscribe(last),
            Err(ErrorReason::TooManySubscriptions)
        );
        // Subscribing again to one held is no new subscription.
        let first = Subscription {
            channel: Channel::Trades,
            symbol: symbols[0],
        };
        assert!(outbox.subscribe(first).is_ok());
        let answers: Vec<_> = std::iter::from_fn(|| outbox.pop()).collect();
        assert_eq!(
            answers[MAX_SUBSCRIPTIONS],
            r#"{"type":"error","reason":"too many subscriptions"}"#
        );
        assert_eq!(answers.len(), MAX_SUBSCRIPTIONS + 2);
        outbox.unsubscribe(first);
        assert!(outbox.subscribe(last).is_ok());
    }

    #[test]
    fn passing_the_cap_leaves_only_the_slow_consumer_error() {
        let trades = sub(Channel::Trades);
        let one = trade(1).bytes().len();
        // Ten trades fit exactly: nine of ids 1–9, one of id 10 with a digit more.
        let mut outbox = Outbox::new(10 * one + 1);
        outbox.subscribe(trades).unwrap();
        outbox.pop();
        for id in 1..=10 {
            assert_eq!(outbox.push(trades, &trade(id)), Pushed::Queued);
        }
        assert_eq!(outbox.unsent_bytes(), 10 * one + 1);
        assert!(!outbox.is_slow());
        assert_eq!(outbox.push(trades, &trade(11)), Pushed::Slow);
        assert!(outbox.is_slow());
        assert_eq!(outbox.push(trades, &trade(12)), Pushed::Discarded);
        assert_eq!(
            outbox.pop().unwrap(),
            r#"{"type":"error","reason":"slow consumer"}"#
        );
        assert_eq!(outbox.pop(), None);
        assert!(outbox.is_slow());
    }
}
