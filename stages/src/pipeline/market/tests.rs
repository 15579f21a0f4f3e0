//! The stage's lane logic: book changes in, subscribers' outboxes out.

use std::sync::Arc;

use tokio::sync::oneshot;

use super::{Books, Direct, Feeds, LastTrade, MarketIn, Next, Subscriber, WRITE_CHUNK};
use crate::internal_events::MarketMetrics;
use crate::market::{
    BookDelta, Channel, Deltas, Interval, LevelChange, Snapshot, Subscription, Trade,
    DEFAULT_UNSENT_CAP,
};
use crate::matching::{Price, Qty, Side, Symbol};

/// One book change, as matching hands it over (alone in its batch).
fn one(delta: BookDelta) -> MarketIn {
    let mut deltas = Deltas::default();
    deltas.push(delta.view());
    MarketIn::Deltas {
        lane: MarketIn::lane_of(delta.symbol),
        deltas,
    }
}

pub(super) fn acme() -> Symbol {
    Symbol::new("ACME").unwrap()
}

fn sub(channel: Channel) -> Subscription {
    Subscription {
        channel,
        symbol: acme(),
    }
}

fn books() -> Books {
    Books::new(MarketMetrics::register(), Arc::default(), Arc::default())
}

/// A delta at `seq` setting the ask at 10 to `total`, with one trade of `traded` (if any).
pub(super) fn delta(seq: u64, total: Qty, traded: Option<Qty>) -> BookDelta {
    let price = Price::parse("10").unwrap();
    BookDelta {
        symbol: acme(),
        seq,
        levels: [LevelChange {
            side: Side::Sell,
            price,
            total,
        }]
        .into_iter()
        .collect(),
        trades: traded
            .map(|qty| Trade {
                match_id: seq,
                price,
                qty,
                taker: Side::Buy,
                time_ms: 1_000 + seq,
            })
            .into_iter()
            .collect(),
    }
}

/// Everything written so far, and whether the writer is to close.
fn written(subscriber: &Subscriber) -> (Vec<String>, bool) {
    let (mut texts, mut out) = (Vec::new(), Vec::new());
    loop {
        let next = subscriber.next(&mut out, |text, _| {
            texts.push(String::from_utf8_lossy(text).into_owned());
        });
        match next {
            Next::Write { .. } => {}
            Next::Wait => return (texts, false),
            Next::Close { .. } => return (texts, true),
        }
    }
}

/// One event as a batch of its own: handled, then flushed, as the stage does.
fn step(books: &mut Books, event: MarketIn) {
    books.handle(event);
    books.flush();
}

fn subscriber(id: u64, cap: usize) -> Arc<Subscriber> {
    Arc::new(Subscriber::new(id, cap))
}

/// A lane with one subscriber (default cap) to `channel` of ACME.
fn subscribed(channel: Channel) -> (Books, Arc<Subscriber>) {
    let mut books = books();
    let w = subscriber(1, DEFAULT_UNSENT_CAP);
    step(&mut books, MarketIn::Subscribe(w.clone(), sub(channel)));
    (books, w)
}

#[test]
fn a_subscriber_gets_the_snapshot_then_every_update_chained() {
    let mut books = books();
    step(&mut books, one(delta(1, 100, None)));
    let w = subscriber(1, DEFAULT_UNSENT_CAP);
    step(
        &mut books,
        MarketIn::Subscribe(w.clone(), sub(Channel::Depth)),
    );
    step(&mut books, one(delta(2, 60, Some(40))));
    let (texts, close) = written(&w);
    assert!(!close);
    assert_eq!(
        texts,
        [
            r#"{"type":"subscribed","channel":"depth","symbol":"ACME"}"#,
            r#"{"type":"depth","symbol":"ACME","seq":1,"bids":[],"asks":[["10",100]]}"#,
            r#"{"type":"depth_update","symbol":"ACME","first_seq":2,"seq":2,"bids":[],"asks":[["10",60]]}"#,
        ]
    );
    // A replay of what the feed holds is skipped: no update, no break in the chain.
    step(&mut books, one(delta(2, 60, Some(40))));
    step(&mut books, one(delta(3, 0, None)));
    let (texts, _) = written(&w);
    assert_eq!(texts.len(), 1);
    assert!(texts[0].contains(r#""first_seq":3,"seq":3,"#), "{texts:?}");
}

#[test]
fn unsubscribed_means_nothing_more_of_it() {
    let (mut books, w) = subscribed(Channel::Bbo);
    step(
        &mut books,
        MarketIn::Subscribe(w.clone(), sub(Channel::Trades)),
    );
    step(&mut books, one(delta(1, 5, None)));
    step(
        &mut books,
        MarketIn::Unsubscribe(w.clone(), sub(Channel::Bbo)),
    );
    step(&mut books, one(delta(2, 4, Some(1))));
    let (texts, _) = written(&w);
    let types: Vec<_> = texts
        .iter()
        .map(|t| serde_json::from_str::<serde_json::Value>(t).unwrap()["type"].clone())
        .collect();
    // The unsent bbo (the initial one, replaced by seq 1's) went with the unsubscribe; the
    // trades subscription goes on.
    assert_eq!(types, ["subscribed", "subscribed", "unsubscribed", "trade"]);
}

#[test]
fn a_slow_subscriber_is_cut_off_and_the_others_get_everything() {
    let mut books = books();
    let fast = subscriber(1, DEFAULT_UNSENT_CAP);
    let slow = subscriber(2, 1_000);
    for w in [&fast, &slow] {
        step(
            &mut books,
            MarketIn::Subscribe(w.clone(), sub(Channel::Trades)),
        );
    }
    let mut trades = 0;
    for seq in 1..=50 {
        step(&mut books, one(delta(seq, 1_000 - seq, Some(1))));
        // The fast one keeps up; the slow one never reads.
        let (texts, close) = written(&fast);
        assert!(!close);
        trades += texts
            .iter()
            .filter(|t| t.contains(r#""type":"trade""#))
            .count();
    }
    assert_eq!(trades, 50);
    let (texts, close) = written(&slow);
    assert_eq!(texts, [r#"{"type":"error","reason":"slow consumer"}"#]);
    assert!(close);
    // It left the fan-out: later pushes do not reach it (nor cost anything).
    step(&mut books, one(delta(51, 1, Some(1))));
    assert_eq!(written(&slow), (vec![], true));
}

#[test]
fn a_subscriber_that_is_gone_leaves_the_fan_out() {
    let (mut books, w) = subscribed(Channel::Trades);
    written(&w);
    step(&mut books, MarketIn::Gone(w.clone(), sub(Channel::Trades)));
    step(&mut books, one(delta(1, 1, Some(1))));
    assert_eq!(written(&w), (vec![], false));
}

fn snapshot(books: &mut Books, snapshot: Snapshot) -> String {
    let (tx, mut rx) = oneshot::channel();
    step(books, MarketIn::Snapshot(snapshot, tx));
    String::from_utf8(rx.try_recv().unwrap()).unwrap()
}

/// `GET /trades?symbol=ACME&limit=10`.
fn acme_trades(books: &mut Books) -> String {
    let ten = Snapshot::Trades {
        symbol: acme(),
        limit: 10,
    };
    snapshot(books, ten)
}

#[test]
fn snapshots_show_the_state_the_subscribers_see() {
    let mut books = books();
    let other = Symbol::new("OTHER").unwrap();
    assert_eq!(
        snapshot(&mut books, Snapshot::Depth { symbol: other }),
        r#"{"type":"depth","symbol":"OTHER","seq":0,"bids":[],"asks":[]}"#
    );
    step(&mut books, one(delta(1, 7, Some(3))));
    assert_eq!(
        snapshot(&mut books, Snapshot::Depth { symbol: acme() }),
        r#"{"type":"depth","symbol":"ACME","seq":1,"bids":[],"asks":[["10",7]]}"#
    );
    let trades = acme_trades(&mut books);
    assert!(trades.starts_with(r#"[{"type":"trade","symbol":"ACME","match":1,"#));
    let empty = Snapshot::Klines {
        symbol: other,
        interval: Interval::Minute,
        limit: 10,
    };
    assert_eq!(snapshot(&mut books, empty), "[]");
}

#[test]
fn ticks_close_the_candles_of_the_lane() {
    let (mut books, w) = subscribed(Channel::Kline(Interval::Second));
    step(&mut books, one(delta(1, 1, Some(2))));
    let (texts, _) = written(&w);
    assert!(texts[1].ends_with(r#""closed":false}"#), "{texts:?}");
    step(
        &mut books,
        MarketIn::Tick {
            lane: MarketIn::lane_of(acme()),
            now_ms: 1_999,
        },
    );
    assert_eq!(written(&w), (vec![], false));
    step(
        &mut books,
        MarketIn::Tick {
            lane: MarketIn::lane_of(acme()),
            now_ms: 2_000,
        },
    );
    let (texts, _) = written(&w);
    assert_eq!(texts.len(), 1);
    assert!(texts[0].contains(r#""open_time":1000,"close_time":1999,"#));
    assert!(texts[0].ends_with(r#""volume":2,"trades":1,"closed":true}"#));
}

#[test]
fn the_1025th_subscription_is_refused_and_not_fanned_out() {
    let mut books = books();
    let w = subscriber(1, usize::MAX);
    for n in 0..crate::market::MAX_SUBSCRIPTIONS {
        let symbol = Symbol::new(&format!("S{n}")).unwrap();
        let subscription = Subscription {
            channel: Channel::Trades,
            symbol,
        };
        step(&mut books, MarketIn::Subscribe(w.clone(), subscription));
    }
    step(
        &mut books,
        MarketIn::Subscribe(w.clone(), sub(Channel::Trades)),
    );
    let (texts, _) = written(&w);
    assert_eq!(
        texts.last().map(String::as_str),
        Some(r#"{"type":"error","reason":"too many subscriptions"}"#)
    );
    step(&mut books, one(delta(1, 1, Some(1))));
    assert_eq!(written(&w), (vec![], false));
}

#[test]
fn a_batch_of_changes_reaches_each_subscriber_as_one_depth_update_and_every_trade() {
    let (mut books, w) = subscribed(Channel::Depth);
    step(
        &mut books,
        MarketIn::Subscribe(w.clone(), sub(Channel::Trades)),
    );
    let _ = written(&w);
    // Three requests' changes in one batch of the stage, over two events.
    books.handle(one(delta(1, 100, None)));
    books.handle(one(delta(2, 60, Some(40))));
    books.handle(one(delta(3, 50, Some(10))));
    assert_eq!(written(&w).0.len(), 0, "nothing before the flush");
    books.flush();
    let (texts, _) = written(&w);
    assert_eq!(
        texts,
        [
            r#"{"type":"trade","symbol":"ACME","match":2,"price":"10","qty":40,"taker":"buy","time":1002}"#,
            r#"{"type":"trade","symbol":"ACME","match":3,"price":"10","qty":10,"taker":"buy","time":1003}"#,
            r#"{"type":"depth_update","symbol":"ACME","first_seq":1,"seq":3,"bids":[],"asks":[["10",50]]}"#,
        ]
    );
}

#[test]
fn the_writer_takes_protocol_frames_first_then_whole_messages_a_chunk_at_a_time() {
    let (mut books, w) = subscribed(Channel::Trades);
    let _ = written(&w);
    // Enough trades for more than one chunk, in one run.
    let trades = 2 * WRITE_CHUNK / 90;
    for seq in 1..=trades as u64 {
        books.handle(one(delta(seq, 1_000_000 - seq, Some(1))));
    }
    books.flush();
    w.control(b"<pong>");
    let framed = |text: &[u8], out: &mut Vec<u8>| {
        out.push(b'[');
        out.extend_from_slice(text);
        out.push(b']');
    };
    let (mut out, mut chunks, mut messages) = (Vec::new(), Vec::new(), 0);
    loop {
        out.clear();
        match w.next(&mut out, framed) {
            Next::Write { messages: m, bytes } => {
                messages += m;
                assert_eq!(
                    bytes + 2 * m,
                    out.len() - if chunks.is_empty() { 6 } else { 0 }
                );
                chunks.push(String::from_utf8(out.clone()).unwrap());
            }
            next => {
                assert_eq!(next, Next::Wait);
                break;
            }
        }
    }
    assert_eq!(messages, trades);
    assert!(chunks[0].starts_with("<pong>[{\"type\":\"trade\""));
    assert!(chunks.len() > 1, "{} bytes in one chunk", chunks[0].len());
    for chunk in &chunks {
        let messages = chunk.trim_start_matches("<pong>");
        assert!(
            messages.starts_with('[') && messages.ends_with(']'),
            "a message split"
        );
        assert!(chunk.len() < WRITE_CHUNK + 200, "{} bytes", chunk.len());
    }
}

#[test]
fn unwritten_protocol_frames_are_bounded_keeping_the_latest() {
    let w = subscriber(1, DEFAULT_UNSENT_CAP);
    for n in 0..10_000u32 {
        w.control(format!("<pong {n}>").as_bytes());
    }
    let mut out = Vec::new();
    assert!(matches!(
        w.next(&mut out, |_, _| {}),
        Next::Write { messages: 0, .. }
    ));
    assert!(out.len() <= 4096, "{} bytes kept", out.len());
    assert!(out.ends_with(b"<pong 9999>"));
    out.clear();
    assert_eq!(w.next(&mut out, |_, _| {}), Next::Wait);
}

/// What the lane answers to `Latest`.
fn latest(books: &mut Books) -> Option<LastTrade> {
    let (reply, mut answer) = oneshot::channel();
    let lane = MarketIn::lane_of(acme());
    books.handle(MarketIn::Latest { lane, reply });
    answer.try_recv().unwrap()
}

#[test]
fn the_lane_tells_its_latest_trade() {
    let mut books = books();
    books.handle(one(delta(1, 100, None)));
    assert_eq!(latest(&mut books), None, "a book change without trades");
    books.handle(one(delta(2, 60, Some(40))));
    books.handle(one(delta(3, 50, None)));
    let expected = LastTrade {
        time_ms: 1_002,
        symbol: acme(),
    };
    assert_eq!(
        latest(&mut books),
        Some(expected),
        "the trade, not the later change"
    );
    // A replay of what the feed holds is no new trade.
    books.handle(one(delta(2, 60, Some(40))));
    assert_eq!(latest(&mut books), Some(expected));
}

/// Matching's side of a change (a batch of its own): applied to the feed, or handed to the
/// lane; answers whether it was handed over.
fn matched(direct: &mut Direct, books: &mut Books, delta: BookDelta) -> bool {
    let time_ms = delta.trades.first().map_or(0, |t| t.time_ms);
    let handed_over = !direct.apply(delta.view(), time_ms);
    direct.release();
    if handed_over {
        step(books, one(delta));
    }
    handed_over
}

#[test]
fn books_nobody_watches_are_matchings_and_a_subscriber_takes_them_over_in_order() {
    let feeds = Arc::new(Feeds::default());
    let mut books = Books::new(MarketMetrics::register(), feeds.clone(), Arc::default());
    let mut direct = Direct::new(feeds.clone(), MarketMetrics::register());
    for seq in 1..=3 {
        assert!(!matched(
            &mut direct,
            &mut books,
            delta(seq, 100 - seq, Some(1))
        ));
    }
    let w = subscriber(1, DEFAULT_UNSENT_CAP);
    step(
        &mut books,
        MarketIn::Subscribe(w.clone(), sub(Channel::Depth)),
    );
    for seq in 4..=5 {
        assert!(matched(
            &mut direct,
            &mut books,
            delta(seq, 100 - seq, None)
        ));
    }
    let (texts, _) = written(&w);
    assert_eq!(
        texts,
        [
            r#"{"type":"subscribed","channel":"depth","symbol":"ACME"}"#,
            r#"{"type":"depth","symbol":"ACME","seq":3,"bids":[],"asks":[["10",97]]}"#,
            // Not read in between: merged.
            r#"{"type":"depth_update","symbol":"ACME","first_seq":4,"seq":5,"bids":[],"asks":[["10",95]]}"#,
        ]
    );
    step(
        &mut books,
        MarketIn::Unsubscribe(w.clone(), sub(Channel::Depth)),
    );
    // Unwatched again: but a change still on its way to the lane keeps the next ones
    // coming through it, in order.
    let shared = feeds.get(acme()).unwrap();
    let reading = shared.lock();
    assert!(
        !direct.apply(delta(6, 94, None).view(), 0),
        "the feed is busy"
    );
    direct.release();
    drop(reading);
    assert!(
        !direct.apply(delta(7, 93, None).view(), 0),
        "6 is on its way"
    );
    direct.release();
    for seq in [6, 7] {
        step(&mut books, one(delta(seq, 100 - seq, None)));
    }
    assert!(!matched(&mut direct, &mut books, delta(8, 92, Some(2))));
    assert_eq!(
        snapshot(&mut books, Snapshot::Depth { symbol: acme() }),
        r#"{"type":"depth","symbol":"ACME","seq":8,"bids":[],"asks":[["10",92]]}"#
    );
    let trades = acme_trades(&mut books);
    let matches: Vec<u64> = serde_json::from_str::<Vec<serde_json::Value>>(&trades)
        .unwrap()
        .iter()
        .map(|t| t["match"].as_u64().unwrap())
        .collect();
    assert_eq!(matches, [1, 2, 3, 8], "every trade, whoever applied it");
    let again = subscriber(2, DEFAULT_UNSENT_CAP);
    step(
        &mut books,
        MarketIn::Subscribe(again.clone(), sub(Channel::Depth)),
    );
    assert!(matched(&mut direct, &mut books, delta(9, 91, None)));
    let (texts, _) = written(&again);
    assert!(texts[1].contains(r#""seq":8,"#), "{texts:?}");
    assert!(texts[2].contains(r#""first_seq":9,"seq":9,"#), "{texts:?}");
}
