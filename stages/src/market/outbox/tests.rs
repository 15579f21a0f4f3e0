//! The outbox's rules: order, conflation, shared runs, the cap.

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
