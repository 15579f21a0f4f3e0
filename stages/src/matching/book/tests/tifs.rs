//! `fok` and `post` orders.

use super::*;

#[test]
fn fok_that_cannot_fill_expires_untouched() {
    let mut h = Harness::new();
    h.limit(A, 1, Side::Sell, "10", 5);
    h.limit(A, 2, Side::Sell, "11", 5);
    h.limit(A, 3, Side::Sell, "12", 5);
    // 5 cross at 10, 10 at 11: neither covers the whole order, so nothing trades.
    assert_eq!(
        h.send(B, limit(11, Side::Buy, "10", 6, Tif::Fok)),
        ["B ack 11", "B done 11 expired leaves 6"]
    );
    assert_eq!(
        h.send(B, limit(12, Side::Buy, "11", 11, Tif::Fok)),
        ["B ack 12", "B done 12 expired leaves 11"]
    );
    assert_eq!(
        h.send(B, limit(13, Side::Sell, "1", 1, Tif::Fok)),
        ["B ack 13", "B done 13 expired leaves 1"]
    );
    assert_eq!(h.book.len(), 3);
    assert_eq!(h.book.last_match(), 0);
    // An expired fok was accepted: its id is used up.
    assert_eq!(
        h.send(B, limit(13, Side::Buy, "1", 1, Tif::Gtc)),
        ["B reject 13 id not increasing"]
    );
}

#[test]
fn fok_that_can_fill_trades_like_an_ioc() {
    let mut h = Harness::new();
    h.limit(A, 1, Side::Buy, "10", 5);
    h.limit(C, 2, Side::Buy, "9", 5);
    h.limit(A, 3, Side::Buy, "8", 5);
    assert_eq!(
        h.send(B, limit(11, Side::Sell, "9", 10, Tif::Fok)),
        [
            "B ack 11",
            "B fill 11 ACME sell 5@10 leaves 5 match 1",
            "A fill 1 ACME buy 5@10 leaves 0 match 1",
            "A done 1 filled leaves 0",
            "B fill 11 ACME sell 5@9 leaves 0 match 2",
            "C fill 2 ACME buy 5@9 leaves 0 match 2",
            "C done 2 filled leaves 0",
            "B done 11 filled leaves 0",
        ]
    );
    assert_eq!(h.depth(Side::Buy), [("8".to_owned(), vec![(3, 5)])]);
    assert!(h.depth(Side::Sell).is_empty());
}

#[test]
fn post_that_would_cross_is_rejected() {
    let mut h = Harness::new();
    h.limit(A, 1, Side::Sell, "10", 5);
    assert_eq!(
        h.send(B, limit(2, Side::Buy, "10", 1, Tif::Post)),
        ["B reject 2 would cross"]
    );
    assert_eq!(h.depth(Side::Sell), [("10".to_owned(), vec![(1, 5)])]);
    assert!(h.depth(Side::Buy).is_empty());
    // Duplicate and stale ids are named first; a refused post does not use its id up.
    assert_eq!(
        h.send(A, limit(1, Side::Buy, "10", 1, Tif::Post)),
        ["A reject 1 duplicate id"]
    );
    assert_eq!(
        h.send(B, limit(2, Side::Buy, "9.99", 3, Tif::Post)),
        ["B ack 2"]
    );
}

#[test]
fn post_that_does_not_cross_rests_like_gtc() {
    let mut h = Harness::new();
    h.limit(A, 1, Side::Buy, "10", 5);
    assert_eq!(
        h.send(B, limit(2, Side::Sell, "10.01", 4, Tif::Post)),
        ["B ack 2"]
    );
    assert_eq!(h.depth(Side::Sell), [("10.01".to_owned(), vec![(2, 4)])]);
    assert_eq!(
        h.limit(C, 3, Side::Buy, "10.01", 4),
        [
            "C ack 3",
            "C fill 3 ACME buy 4@10.01 leaves 0 match 1",
            "B fill 2 ACME sell 4@10.01 leaves 0 match 1",
            "B done 2 filled leaves 0",
            "C done 3 filled leaves 0",
        ]
    );
}
