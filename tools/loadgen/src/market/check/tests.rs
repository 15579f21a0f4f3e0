use super::*;
use crate::market::summary::MarketSummary;
use std::time::Duration;

const T0_MS: u64 = 1_700_000_000_000;

fn acme() -> Symbol {
    Symbol::new("ACME").unwrap()
}

fn summary(checker: Checker, finals: Option<&[Final]>) -> MarketSummary {
    MarketSummary::new(
        checker.finish(finals),
        (1, 1),
        Duration::from_secs(1),
        Duration::ZERO,
    )
}

/// The contract example's subscriber, then two trades.
fn example(checker: &mut Checker) {
    for frame in [
        r#"{"type":"subscribed","channel":"depth","symbol":"ACME"}"#,
        r#"{"type":"depth","symbol":"ACME","seq":0,"bids":[],"asks":[]}"#,
        r#"{"type":"depth_update","symbol":"ACME","first_seq":1,"seq":1,"bids":[],"asks":[["10.05",100]]}"#,
        r#"{"type":"depth_update","symbol":"ACME","first_seq":2,"seq":3,"bids":[],"asks":[["10.05",50]]}"#,
    ] {
        assert_eq!(checker.frame(frame, 0), Seen::Read);
    }
    let trade = |id: u64, ms: u64| {
        format!(
            r#"{{"type":"trade","symbol":"ACME","match":{id},"price":"10.05","qty":40,"taker":"buy","time":{ms}}}"#
        )
    };
    // Arrived 2 ms and 4 ms after their times.
    checker.frame(&trade(7, T0_MS), (T0_MS + 2) * 1_000_000);
    checker.frame(&trade(8, T0_MS), (T0_MS + 4) * 1_000_000);
}

fn final_state(seq: u64, asks: &str, last_match: Option<u64>) -> Final {
    let depth =
        format!(r#"{{"type":"depth","symbol":"ACME","seq":{seq},"bids":[],"asks":{asks}}}"#);
    let Ok(crate::market::message::Frame::Depth { levels, .. }) =
        crate::market::message::parse(&depth)
    else {
        panic!("a depth snapshot");
    };
    Final {
        symbol: acme(),
        seq,
        book: LevelBook::of(&levels),
        last_match,
        match_at_start: Some(6),
    }
}

#[test]
fn an_unbroken_feed_counts_messages_and_latency_and_matches_the_final_book() {
    let mut checker = Checker::new(&[acme()]);
    assert!(!checker.ready());
    example(&mut checker);
    assert!(checker.ready());
    let finals = [final_state(3, r#"[["10.05",50]]"#, Some(8))];
    assert!(checker.reached(&finals));
    let s = summary(checker, Some(&finals));
    assert_eq!((s.messages, s.trades, s.gaps, s.errors), (6, 2, 0, 0));
    assert_eq!((s.books_checked, s.mismatches), (1, 0));
    assert!(s.clean());
    assert_eq!(s.latency.count, 2);
    assert_eq!(s.latency.max.as_millis(), 4);
    assert!(s.bytes > 200);
}

#[test]
fn a_gapped_depth_chain_and_a_skipped_trade_are_gaps() {
    let mut checker = Checker::new(&[acme()]);
    example(&mut checker);
    checker.frame(
        r#"{"type":"depth_update","symbol":"ACME","first_seq":5,"seq":5,"bids":[],"asks":[["10.05",0]]}"#,
        0,
    );
    checker.frame(
        r#"{"type":"trade","symbol":"ACME","match":10,"price":"10.05","qty":1,"taker":"buy","time":1}"#,
        0,
    );
    let s = summary(checker, None);
    assert_eq!(s.gaps, 2);
    assert_eq!(
        s.first_gap.as_deref(),
        Some("depth ACME: expected 4 next, got 5")
    );
    assert!(!s.clean());
}

#[test]
fn a_book_that_differs_or_falls_short_of_the_final_state_is_a_mismatch() {
    let mut differs = Checker::new(&[acme()]);
    example(&mut differs);
    let finals = [final_state(3, r#"[["10.05",60]]"#, Some(8))];
    let s = summary(differs, Some(&finals));
    assert_eq!((s.books_checked, s.mismatches, s.gaps), (1, 1, 0));
    assert!(s.first_mismatch.is_some_and(|m| m.contains("rebuilt book")));

    let mut behind = Checker::new(&[acme()]);
    example(&mut behind);
    let finals = [final_state(4, "[]", Some(8))];
    assert!(!behind.reached(&finals));
    assert_eq!(summary(behind, Some(&finals)).mismatches, 1);

    // The last trade has not come although the symbol traded during the run.
    let mut no_trade = Checker::new(&[acme()]);
    example(&mut no_trade);
    let finals = [final_state(3, r#"[["10.05",50]]"#, Some(9))];
    assert!(!no_trade.reached(&finals));
    assert_eq!(summary(no_trade, Some(&finals)).mismatches, 1);
}

#[test]
fn slow_consumer_errors_and_foreign_symbols_are_counted() {
    let mut checker = Checker::new(&[acme()]);
    assert_eq!(
        checker.frame(r#"{"type":"error","reason":"unknown op"}"#, 0),
        Seen::Read
    );
    checker.frame(
        r#"{"type":"depth","symbol":"OTHER","seq":0,"bids":[],"asks":[]}"#,
        0,
    );
    checker.frame("[1,2", 0);
    checker.not_text();
    assert_eq!(
        checker.frame(r#"{"type":"error","reason":"slow consumer"}"#, 0),
        Seen::SlowConsumer
    );
    checker.cut();
    // A closed socket's books are not compared.
    let s = summary(checker, None);
    assert_eq!((s.errors, s.slow_consumers, s.cut), (4, 1, 1));
    assert_eq!(s.first_error.as_deref(), Some("error unknown op"));
    assert_eq!((s.books_checked, s.mismatches), (0, 0));
}
