//! Self-trade prevention, with `fok`, `post`, market orders and amends.

use super::*;

/// B sells 3 at 10, then A 5 at 10, then B 5 at 10.
fn sandwich() -> Harness {
    let mut h = Harness::new();
    h.limit(B, 1, Side::Sell, "10", 3);
    h.limit(A, 2, Side::Sell, "10", 5);
    h.limit(B, 3, Side::Sell, "10", 5);
    h
}

fn buy(h: &mut Harness, id: OrderId, qty: Qty, tif: Tif, stp: Stp) -> Vec<String> {
    h.send(A, with_stp(limit(id, Side::Buy, "10", qty, tif), stp))
}

const FIRST_FILL: [&str; 4] = [
    "A ack 4",
    "A fill 4 ACME buy 3@10 leaves 7 match 1",
    "B fill 1 ACME sell 3@10 leaves 0 match 1",
    "B done 1 filled leaves 0",
];

#[test]
fn none_trades_with_the_own_order() {
    let mut h = sandwich();
    let reports = buy(&mut h, 4, 10, Tif::Gtc, Stp::None);
    assert_eq!(reports[..4], FIRST_FILL);
    assert_eq!(
        reports[4..6],
        [
            "A fill 4 ACME buy 5@10 leaves 2 match 2",
            "A* fill 2 ACME sell 5@10 leaves 0 match 2",
        ]
    );
}

#[test]
fn cancel_taker_stops_at_the_own_order() {
    let mut h = sandwich();
    let reports = buy(&mut h, 4, 10, Tif::Gtc, Stp::CancelTaker);
    assert_eq!(reports[..4], FIRST_FILL);
    assert_eq!(reports[4..], ["A done 4 self trade leaves 7"]);
    assert_eq!(h.outcome, Outcome::Accepted);
    // The remainder does not rest; the maker stays.
    assert_eq!(
        h.depth(Side::Sell),
        [("10".to_owned(), vec![(2, 5), (3, 5)])]
    );
    assert!(h.depth(Side::Buy).is_empty());
}

#[test]
fn cancel_maker_removes_the_own_order_and_goes_on() {
    let mut h = sandwich();
    let reports = buy(&mut h, 4, 10, Tif::Gtc, Stp::CancelMaker);
    assert_eq!(reports[..4], FIRST_FILL);
    assert_eq!(
        reports[4..],
        [
            "A* done 2 self trade leaves 5",
            "A fill 4 ACME buy 5@10 leaves 2 match 2",
            "B fill 3 ACME sell 5@10 leaves 0 match 2",
            "B done 3 filled leaves 0",
        ]
    );
    assert_eq!(h.depth(Side::Buy), [("10".to_owned(), vec![(4, 2)])]);
    assert!(h.depth(Side::Sell).is_empty());
}

#[test]
fn cancel_both_removes_both() {
    let mut h = sandwich();
    let reports = buy(&mut h, 4, 10, Tif::Gtc, Stp::CancelBoth);
    assert_eq!(reports[..4], FIRST_FILL);
    assert_eq!(
        reports[4..],
        [
            "A* done 2 self trade leaves 5",
            "A done 4 self trade leaves 7",
        ]
    );
    assert_eq!(h.depth(Side::Sell), [("10".to_owned(), vec![(3, 5)])]);
    assert!(h.depth(Side::Buy).is_empty());
}

#[test]
fn market_orders_apply_stp() {
    let mut h = Harness::new();
    h.limit(A, 1, Side::Sell, "10", 5);
    let market = Request::Market {
        id: 2,
        symbol: h.book.symbol(),
        side: Side::Buy,
        qty: 4,
        stp: Stp::CancelTaker,
    };
    assert_eq!(
        h.send(A, market),
        ["A ack 2", "A done 2 self trade leaves 4"]
    );
    assert_eq!(h.book.len(), 1);
}

#[test]
fn fok_counts_only_what_it_may_trade() {
    let mut h = sandwich();
    // cancel_maker: B's 3 + 5 are available, A's 5 never are.
    assert_eq!(
        buy(&mut h, 4, 9, Tif::Fok, Stp::CancelMaker),
        ["A ack 4", "A done 4 expired leaves 9"]
    );
    // cancel_taker: only B's 3 precede A's own order.
    assert_eq!(
        buy(&mut h, 5, 4, Tif::Fok, Stp::CancelTaker),
        ["A ack 5", "A done 5 expired leaves 4"]
    );
    // Expired fok orders cancel nothing.
    assert_eq!(h.book.len(), 3);
    assert_eq!(
        buy(&mut h, 6, 8, Tif::Fok, Stp::CancelMaker),
        [
            "A ack 6",
            "A fill 6 ACME buy 3@10 leaves 5 match 1",
            "B fill 1 ACME sell 3@10 leaves 0 match 1",
            "B done 1 filled leaves 0",
            "A* done 2 self trade leaves 5",
            "A fill 6 ACME buy 5@10 leaves 0 match 2",
            "B fill 3 ACME sell 5@10 leaves 0 match 2",
            "B done 3 filled leaves 0",
            "A done 6 filled leaves 0",
        ]
    );
    assert!(h.book.is_empty());
}

#[test]
fn post_refuses_any_crossing_order_even_its_own() {
    let mut h = Harness::new();
    h.limit(A, 1, Side::Sell, "10", 5);
    assert_eq!(
        h.send(
            A,
            with_stp(limit(2, Side::Buy, "10", 1, Tif::Post), Stp::CancelMaker)
        ),
        ["A reject 2 would cross"]
    );
    assert_eq!(h.book.len(), 1);
}

#[test]
fn crossing_amend_trades_under_its_entered_stp() {
    let mut h = Harness::new();
    h.limit(A, 1, Side::Sell, "10", 5);
    h.send(
        A,
        with_stp(limit(2, Side::Buy, "9", 3, Tif::Gtc), Stp::CancelTaker),
    );
    assert_eq!(
        h.amend(A, 2, None, "10"),
        ["A amended 2 10 leaves 3", "A* done 2 self trade leaves 3"]
    );
    assert_eq!(h.outcome, Outcome::Amended);
    assert_eq!(h.depth(Side::Sell), [("10".to_owned(), vec![(1, 5)])]);
    assert!(h.depth(Side::Buy).is_empty());
}

#[test]
fn restore_keeps_tif_and_stp() {
    let mut h = Harness::new();
    let post = with_stp(limit(1, Side::Buy, "8", 2, Tif::Post), Stp::CancelMaker);
    h.send(A, post);
    h.send(
        A,
        with_stp(limit(2, Side::Buy, "9", 3, Tif::Gtc), Stp::CancelBoth),
    );
    h.limit(A, 3, Side::Sell, "11", 5);
    let listed: Vec<Resting> = h.book.resting().collect();
    assert_eq!((listed[0].tif, listed[0].stp), (Tif::Gtc, Stp::CancelBoth));
    assert_eq!(
        (listed[1].tif, listed[1].stp),
        (Tif::Post, Stp::CancelMaker)
    );
    let mut restored = Harness::new();
    restored.book = Book::restore(h.book.symbol(), 0, h.book.seq(), listed.clone()).unwrap();
    assert_eq!(restored.book.resting().collect::<Vec<_>>(), listed);
    // Still post-only, and still cancelling both sides when an amend makes it cross.
    assert_eq!(restored.amend(A, 1, None, "11"), ["A reject 1 would cross"]);
    assert_eq!(
        restored.amend(A, 2, None, "11"),
        [
            "A amended 2 11 leaves 3",
            "A* done 3 self trade leaves 5",
            "A* done 2 self trade leaves 3",
        ]
    );
}
