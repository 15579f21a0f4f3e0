//! What each request kind does to the depth sequence and which levels and trades its
//! [`BookDelta`] carries. (Every harness request goes through `submit_with_deltas`, and
//! `Harness::depth` checks each level's total against its orders.)

use super::*;

/// The latest request's delta as `seq`, its levels (`side price:total`) and trades (`#match
/// qty@price taker`); `None` when it made none.
fn delta(h: &Harness) -> Option<(u64, Vec<String>, Vec<String>)> {
    assert!(h.deltas.len() <= 1, "one book, at most one delta");
    let delta = h.deltas.first()?;
    assert_eq!(delta.symbol, h.book.symbol());
    assert_eq!(delta.seq, h.book.seq());
    let levels = delta
        .levels
        .iter()
        .map(|l| format!("{} {}:{}", l.side.as_str(), l.price, l.total))
        .collect();
    let trades = delta
        .trades
        .iter()
        .map(|t| {
            assert_eq!(t.time_ms, 0, "the caller stamps the time");
            format!("#{} {}@{} {}", t.match_id, t.qty, t.price, t.taker.as_str())
        })
        .collect();
    Some((delta.seq, levels, trades))
}

fn levels(h: &Harness) -> Vec<String> {
    delta(h).map(|(_, levels, _)| levels).unwrap_or_default()
}

fn trades(h: &Harness) -> Vec<String> {
    delta(h).map(|(_, _, trades)| trades).unwrap_or_default()
}

/// The latest request made no delta and left the sequence at `seq`.
fn unchanged(h: &Harness, seq: u64) {
    assert_eq!(delta(h), None);
    assert_eq!(h.book.seq(), seq);
}

#[test]
fn resting_orders_step_the_sequence_and_total_their_level() {
    let mut h = Harness::new();
    assert_eq!(h.book.seq(), 0);
    h.limit(A, 1, Side::Sell, "10", 5);
    assert_eq!(delta(&h), Some((1, vec!["sell 10:5".into()], vec![])));
    h.limit(B, 2, Side::Sell, "10", 7);
    assert_eq!(delta(&h), Some((2, vec!["sell 10:12".into()], vec![])));
    h.limit(B, 3, Side::Buy, "9", 1);
    assert_eq!(delta(&h), Some((3, vec!["buy 9:1".into()], vec![])));
}

#[test]
fn rejected_orders_make_no_delta() {
    let mut h = Harness::new();
    h.limit(A, 5, Side::Sell, "10", 5);
    h.limit(A, 5, Side::Sell, "11", 5);
    unchanged(&h, 1);
    h.limit(A, 4, Side::Sell, "11", 5);
    unchanged(&h, 1);
    h.send(B, limit(1, Side::Buy, "10", 5, Tif::Post));
    assert_eq!(h.outcome, Outcome::Rejected);
    unchanged(&h, 1);
}

#[test]
fn trades_come_in_match_order_at_the_makers_prices() {
    let mut h = Harness::new();
    h.limit(A, 1, Side::Sell, "10", 5);
    h.limit(A, 2, Side::Sell, "10", 3);
    h.limit(A, 3, Side::Sell, "10.5", 10);
    h.limit(B, 1, Side::Buy, "11", 12);
    assert_eq!(
        delta(&h),
        Some((
            4,
            vec!["sell 10:0".into(), "sell 10.5:6".into()],
            vec![
                "#1 5@10 buy".into(),
                "#2 3@10 buy".into(),
                "#3 4@10.5 buy".into()
            ]
        ))
    );
    // The remainder rests: its own level is in the same delta.
    h.limit(C, 1, Side::Sell, "9", 8);
    assert_eq!(levels(&h), ["sell 9:8"]);
    h.limit(B, 2, Side::Buy, "9", 10);
    assert_eq!(levels(&h), ["buy 9:2", "sell 9:0"]);
    assert_eq!(trades(&h), ["#4 8@9 buy"]);
}

#[test]
fn market_ioc_and_fok_step_only_when_they_trade() {
    let mut h = Harness::new();
    h.market(A, 1, Side::Buy, 5);
    h.ioc(A, 2, Side::Buy, "10", 5);
    h.send(A, limit(3, Side::Buy, "10", 5, Tif::Fok));
    assert_eq!(h.outcome, Outcome::Accepted);
    unchanged(&h, 0);
    h.limit(B, 1, Side::Sell, "10", 4);
    // Too little for the fok: it expires untouched.
    h.send(A, limit(4, Side::Buy, "10", 5, Tif::Fok));
    unchanged(&h, 1);
    h.ioc(A, 5, Side::Buy, "9", 5);
    unchanged(&h, 1);
    h.ioc(A, 6, Side::Buy, "10", 1);
    assert_eq!(delta(&h).map(|d| d.0), Some(2));
    assert_eq!(levels(&h), ["sell 10:3"]);
    h.send(A, limit(7, Side::Buy, "10", 2, Tif::Fok));
    assert_eq!(levels(&h), ["sell 10:1"]);
    h.market(A, 8, Side::Buy, 9);
    assert_eq!(delta(&h).map(|d| d.0), Some(4));
    assert_eq!(levels(&h), ["sell 10:0"]);
    assert_eq!(trades(&h), ["#3 1@10 buy"]);
}

#[test]
fn cancels_lower_their_level() {
    let mut h = Harness::new();
    h.limit(A, 1, Side::Buy, "10", 5);
    h.limit(A, 2, Side::Buy, "10", 7);
    h.cancel(A, 1);
    assert_eq!(delta(&h), Some((3, vec!["buy 10:7".into()], vec![])));
    h.cancel(B, 2);
    unchanged(&h, 3);
    h.cancel(A, 2);
    assert_eq!(levels(&h), ["buy 10:0"]);
}

#[test]
fn amends_step_once_unless_nothing_changes() {
    let mut h = Harness::new();
    h.limit(A, 1, Side::Sell, "10", 5);
    h.limit(B, 2, Side::Sell, "10", 7);
    h.amend(A, 1, Some(5), "10");
    unchanged(&h, 2);
    h.amend(A, 1, Some(2), "");
    assert_eq!(delta(&h), Some((3, vec!["sell 10:9".into()], vec![])));
    // A larger quantity goes to the back of the same level.
    h.amend(A, 1, Some(4), "");
    assert_eq!(levels(&h), ["sell 10:11"]);
    h.amend(A, 1, None, "11");
    assert_eq!(levels(&h), ["sell 10:7", "sell 11:4"]);
    assert_eq!(h.book.seq(), 5);
    // Moved to a crossing price: it trades and rests the rest, one step.
    h.limit(C, 3, Side::Buy, "9", 3);
    h.amend(A, 1, None, "9");
    assert_eq!(
        delta(&h),
        Some((
            7,
            vec!["buy 9:0".into(), "sell 9:1".into(), "sell 11:0".into()],
            vec!["#1 3@9 sell".into()]
        ))
    );
    h.amend(A, 9, Some(1), "");
    unchanged(&h, 7);
}

#[test]
fn a_refused_post_amend_makes_no_delta() {
    let mut h = Harness::new();
    h.send(A, limit(1, Side::Sell, "10", 5, Tif::Post));
    h.limit(B, 2, Side::Buy, "9", 5);
    h.amend(A, 1, None, "9");
    assert_eq!(h.outcome, Outcome::Rejected);
    unchanged(&h, 2);
}

#[test]
fn self_trade_cancels_step_when_they_take_resting_orders() {
    let mut h = Harness::new();
    h.limit(A, 1, Side::Sell, "10", 5);
    h.limit(B, 2, Side::Sell, "10", 3);
    // The taker leaves at once: the book is as it was.
    h.send(
        A,
        with_stp(limit(3, Side::Buy, "10", 4, Tif::Gtc), Stp::CancelTaker),
    );
    unchanged(&h, 2);
    // The maker leaves and the taker trades on.
    h.send(
        A,
        with_stp(limit(4, Side::Buy, "10", 4, Tif::Gtc), Stp::CancelMaker),
    );
    assert_eq!(
        delta(&h),
        Some((
            3,
            vec!["buy 10:1".into(), "sell 10:0".into()],
            vec!["#1 3@10 buy".into()]
        ))
    );
    h.send(
        B,
        with_stp(limit(5, Side::Sell, "10", 4, Tif::Ioc), Stp::CancelBoth),
    );
    assert_eq!(
        delta(&h),
        Some((4, vec!["buy 10:0".into()], vec!["#2 1@10 sell".into()]))
    );
}

#[test]
fn cancel_all_steps_once_with_every_level_it_changed() {
    let mut h = Harness::new();
    h.limit(A, 1, Side::Buy, "9", 5);
    h.limit(B, 2, Side::Buy, "9", 1);
    h.limit(A, 3, Side::Sell, "11", 2);
    h.limit(A, 4, Side::Buy, "8", 2);
    h.send(A, Request::CancelAll { symbol: None });
    assert_eq!(
        delta(&h),
        Some((
            5,
            vec!["buy 8:0".into(), "buy 9:1".into(), "sell 11:0".into()],
            vec![]
        ))
    );
    h.send(A, Request::CancelAll { symbol: None });
    assert_eq!(h.outcome, Outcome::Listed);
    unchanged(&h, 5);
    h.send(A, Request::Orders { symbol: None });
    unchanged(&h, 5);
}

#[test]
fn plain_submit_keeps_the_same_sequence() {
    let mut with = Harness::new();
    let mut plain = Book::new(with.book.symbol());
    let mut out = Vec::new();
    for (owner, req) in [
        (A, limit(1, Side::Sell, "10", 5, Tif::Gtc)),
        (B, limit(1, Side::Buy, "9", 5, Tif::Ioc)),
        (B, limit(2, Side::Buy, "10", 2, Tif::Gtc)),
        (A, Request::CancelAll { symbol: None }),
    ] {
        with.send(owner, req);
        let _ = plain.submit(owner, &req, 0, &mut out);
        assert_eq!(plain.seq(), with.book.seq());
    }
    assert_eq!(plain.seq(), 3);
}

#[test]
fn restore_carries_the_sequence_on() {
    let mut h = Harness::new();
    h.limit(A, 1, Side::Sell, "10", 5);
    h.cancel(A, 1);
    h.limit(A, 2, Side::Sell, "10", 5);
    let listed: Vec<Resting> = h.book.resting().collect();
    h.book = Book::restore(h.book.symbol(), 0, h.book.seq(), listed).unwrap();
    assert_eq!(h.book.seq(), 3);
    h.limit(B, 1, Side::Buy, "10", 2);
    assert_eq!(
        delta(&h),
        Some((4, vec!["sell 10:3".into()], vec!["#1 2@10 buy".into()]))
    );
}
