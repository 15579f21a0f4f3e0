//! Market data against simple clients: random book changes and trades, absorbed in random
//! runs as the stage batches them, fan out to a few subscribers who subscribe at random
//! moments and read at random paces (pausing, so their outboxes merge and replace). Each client that applies its `depth` snapshot and then every
//! `depth_update` it receives must hold exactly the final book, every update must start
//! right after the previous one, the last `bbo` must show the final best levels, and the
//! trades must arrive complete and in match order from the subscription on.

use std::collections::BTreeMap;

use proptest::prelude::*;
use sedaflow_stages::market::{
    BookDelta, Channel, Deltas, Feed, LevelChange, Outbox, Subscription, Trade, DEFAULT_UNSENT_CAP,
};
use sedaflow_stages::matching::{Price, Qty, Side, Symbol};
use serde_json::Value;

const SUBSCRIBERS: usize = 3;
const CHANNELS: [Channel; 3] = [Channel::Depth, Channel::Trades, Channel::Bbo];

#[derive(Clone, Debug)]
enum Step {
    /// A request changed the book: these levels (side, price in ticks, new total) and
    /// this many trades.
    Change(Vec<(bool, u64, Qty)>, usize),
    /// A subscriber subscribes (again) to every channel.
    Subscribe(usize),
    /// A subscriber reads up to this many messages (0: it pauses).
    Read(usize, usize),
    /// The stage's batch ends: what the feed absorbed fans out.
    Flush,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (prop::collection::vec((any::<bool>(), 1..12u64, 0..4u64), 0..4), 0..3usize)
            .prop_map(|(levels, trades)| Step::Change(levels, trades)),
        1 => (0..SUBSCRIBERS).prop_map(Step::Subscribe),
        3 => (0..SUBSCRIBERS, 0..4usize).prop_map(|(who, n)| Step::Read(who, n)),
        2 => Just(Step::Flush),
    ]
}

type Levels = BTreeMap<(bool, u64), Qty>;

/// One WebSocket client, as a consumer of the protocol would write it.
#[derive(Default)]
struct Client {
    /// The book rebuilt from the snapshot and updates, and the `seq` it is at.
    book: Option<(u64, Levels)>,
    /// The best levels of the last `bbo`: (bid, ask) as (ticks, qty).
    bbo: Option<(Value, Value)>,
    trades: Vec<u64>,
    /// How many `depth_update`s arrived.
    updates: usize,
}

impl Client {
    fn receive(&mut self, bytes: &[u8]) {
        let message: Value = serde_json::from_slice(bytes).expect("valid JSON");
        match message["type"].as_str().expect("a type") {
            "subscribed" => {}
            "depth" => {
                let mut levels = Levels::new();
                apply_levels(&mut levels, &message);
                self.book = Some((seq(&message, "seq"), levels));
            }
            "depth_update" => {
                let (at, levels) = self.book.as_mut().expect("a snapshot first");
                assert_eq!(seq(&message, "first_seq"), *at + 1, "no gap: {message}");
                assert!(seq(&message, "seq") > *at);
                apply_levels(levels, &message);
                *at = seq(&message, "seq");
                self.updates += 1;
            }
            "bbo" => {
                let best = |side: &str| {
                    (
                        message[side].clone(),
                        message[format!("{side}_qty")].clone(),
                    )
                };
                self.bbo = Some((
                    serde_json::json!(best("bid")),
                    serde_json::json!(best("ask")),
                ));
            }
            "trade" => self.trades.push(seq(&message, "match")),
            other => panic!("unexpected {other}: {message}"),
        }
    }
}

fn seq(message: &Value, field: &str) -> u64 {
    message[field].as_u64().expect("an integer")
}

fn apply_levels(levels: &mut Levels, message: &Value) {
    for (name, bid) in [("bids", true), ("asks", false)] {
        for level in message[name].as_array().expect("levels") {
            let price = Price::parse(level[0].as_str().expect("a price")).expect("a valid price");
            let qty = level[1].as_u64().expect("a quantity");
            if qty == 0 {
                levels.remove(&(bid, price.ticks()));
            } else {
                levels.insert((bid, price.ticks()), qty);
            }
        }
    }
}

fn best(levels: &Levels, bid: bool) -> Value {
    let mut side = levels.iter().filter(|((b, _), _)| *b == bid);
    let level = if bid { side.next_back() } else { side.next() };
    match level {
        Some(((_, ticks), qty)) => {
            serde_json::json!([Price::from_ticks(*ticks).unwrap().to_string(), qty])
        }
        None => serde_json::json!([null, 0]),
    }
}

/// Runs `steps`, checks every client at the end and answers them.
fn run(steps: &[Step]) -> Vec<Client> {
    let symbol = Symbol::new("ACME").unwrap();
    let mut feed = Feed::new(symbol);
    // The deltas since the last flush, as matching hands a batch over.
    let mut handed = Deltas::default();
    let mut book = Levels::new();
    let (mut seq, mut matches, mut now) = (0, 0, 1_700_000_000_000u64);
    let mut outboxes: Vec<Outbox> = (0..SUBSCRIBERS)
        .map(|_| Outbox::new(DEFAULT_UNSENT_CAP))
        .collect();
    let mut clients: Vec<Client> = (0..SUBSCRIBERS).map(|_| Client::default()).collect();
    // The first trade each subscriber must see: the next one when it first subscribed.
    let mut first_trade: Vec<Option<u64>> = vec![None; SUBSCRIBERS];
    for step in steps {
        match step {
            Step::Change(changes, trades) => {
                seq += 1;
                let mut levels = BTreeMap::new();
                for &(bid, ticks, total) in changes {
                    levels.insert((bid, ticks), total);
                    if total == 0 {
                        book.remove(&(bid, ticks));
                    } else {
                        book.insert((bid, ticks), total);
                    }
                }
                let levels = levels
                    .into_iter()
                    .map(|((bid, ticks), total)| LevelChange {
                        side: if bid { Side::Buy } else { Side::Sell },
                        price: Price::from_ticks(ticks).unwrap(),
                        total,
                    })
                    .collect();
                let trades = (0..*trades)
                    .map(|_| {
                        matches += 1;
                        now += 700;
                        Trade {
                            match_id: matches,
                            price: Price::from_ticks(5).unwrap(),
                            qty: 1,
                            taker: Side::Sell,
                            time_ms: now,
                        }
                    })
                    .collect();
                let delta = BookDelta {
                    symbol,
                    seq,
                    levels,
                    trades,
                };
                handed.push(delta.view());
                let last = handed.iter().last().expect("just pushed");
                assert_eq!(last, delta.view());
                feed.absorb(last, |_| true).expect("in sequence");
            }
            Step::Flush => {
                handed.clear();
                flush(&mut feed, &mut outboxes);
            }
            Step::Subscribe(who) => {
                // As the stage does: a subscription sees every change before it.
                flush(&mut feed, &mut outboxes);
                first_trade[*who].get_or_insert(matches + 1);
                for channel in CHANNELS {
                    let subscription = Subscription { channel, symbol };
                    outboxes[*who].subscribe(subscription).expect("room");
                    if let Some(initial) = feed.initial(channel) {
                        outboxes[*who].push(subscription, &initial);
                    }
                }
            }
            Step::Read(who, count) => {
                for bytes in std::iter::from_fn(|| outboxes[*who].pop()).take(*count) {
                    clients[*who].receive(bytes.as_bytes());
                }
            }
        }
    }
    flush(&mut feed, &mut outboxes);
    let final_bbo = Some((best(&book, true), best(&book, false)));
    for who in 0..SUBSCRIBERS {
        assert!(!outboxes[who].is_slow());
        while let Some(bytes) = outboxes[who].pop() {
            clients[who].receive(bytes.as_bytes());
        }
        let client = &clients[who];
        match first_trade[who] {
            None => assert!(client.book.is_none() && client.trades.is_empty()),
            Some(first) => {
                assert_eq!(client.book, Some((seq, book.clone())), "subscriber {who}");
                assert_eq!(client.bbo, final_bbo, "subscriber {who}");
                let expected: Vec<u64> = (first..=matches).collect();
                assert_eq!(client.trades, expected, "subscriber {who}");
            }
        }
    }
    clients
}

/// Fans out what `feed` absorbed to every outbox.
fn flush(feed: &mut Feed, outboxes: &mut [Outbox]) {
    let mut fanouts = Vec::new();
    feed.flush(&mut fanouts);
    for fanout in &fanouts {
        let subscription = Subscription {
            channel: fanout.channel,
            symbol: feed.symbol(),
        };
        for outbox in outboxes.iter_mut() {
            outbox.push(subscription, &fanout.update);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn subscribers_rebuild_the_book_and_get_every_trade(
        steps in prop::collection::vec(step(), 0..120)
    ) {
        run(&steps);
    }
}

#[test]
fn a_subscriber_that_pauses_gets_merged_updates() {
    let change = |levels: Vec<(bool, u64, Qty)>| Step::Change(levels, 1);
    // Each change in a batch of its own: the outbox merges what the subscriber left unread.
    let clients = run(&[
        Step::Subscribe(0),
        change(vec![(true, 5, 1)]),
        Step::Flush,
        change(vec![(true, 5, 0), (false, 7, 2)]),
        Step::Flush,
        change(vec![(true, 6, 3)]),
        Step::Flush,
        Step::Read(0, 100),
        change(vec![(false, 7, 0)]),
    ]);
    // The first three updates arrive merged into one, the last one alone.
    assert_eq!(clients[0].updates, 2);
    assert_eq!(clients[0].trades, [1, 2, 3, 4]);
}

/// The stage owns feeds and hands updates to outboxes that socket tasks drain.
#[test]
fn public_types_cross_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Feed>();
    send_sync::<Outbox>();
    send_sync::<sedaflow_stages::market::Update>();
    send_sync::<sedaflow_stages::market::Fanout>();
}
