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

impl Entry {
    /// Whether it holds no message: emptied by an unsubscribe, or an empty run.
    fn is_spent(&self) -> bool {
        match &self.item {
            None => true,
            Some(Item::Run { run, next, .. }) => *next >= run.updates.len(),
            Some(Item::One(_)) => false,
        }
    }
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
        self.pop_with(|text| text.clone())
    }

    /// [`pop`](Outbox::pop), handing `f` the message's text in place: a socket's writer
    /// copies it out without taking a share of the update, which every other subscriber's
    /// writer shares too.
    pub fn pop_with<R>(&mut self, f: impl FnOnce(&Utf8Bytes) -> R) -> Option<R> {
        while self.entries.front().is_some_and(Entry::is_spent) {
            self.entries.pop_front();
            self.popped += 1;
        }
        let (text, last) = match self.entries.front_mut()?.item.as_mut()? {
            Item::One(update) => (update.text(), true),
            Item::Run { run, next, left } => {
                let update = &run.updates[*next];
                *next += 1;
                *left -= update.bytes().len();
                (update.text(), *next == run.updates.len())
            }
        };
        let len = text.len();
        let popped = f(text);
        self.bytes -= len;
        if last {
            self.entries.pop_front();
            self.popped += 1;
        }
        Some(popped)
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
mod tests;
