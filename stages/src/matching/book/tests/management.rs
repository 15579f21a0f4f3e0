//! `amend`, `orders` and `cancel_all` on one book.

use super::*;

fn orders(h: &mut Harness, owner: Owner) -> Vec<String> {
    h.send(owner, Request::Orders { symbol: None })
}

fn cancel_all(h: &mut Harness, owner: Owner) -> Vec<String> {
    h.send(owner, Request::CancelAll { symbol: None })
}

#[test]
fn protocol_example_order_management() {
    let mut h = Harness::new();
    h.limit(A, 1, Side::Sell, "10.05", 100);
    h.limit(B, 2, Side::Buy, "10.10", 40);
    assert_eq!(h.cancel(B, 1), ["B reject 1 unknown order"]);
    assert_eq!(h.amend(A, 1, Some(50), ""), ["A amended 1 10.05 leaves 50"]);
    assert_eq!(h.outcome, Outcome::Amended);
    assert_eq!(
        orders(&mut h, A),
        ["A order 1 ACME sell 50@10.05 gtc", "A orders_end 1"]
    );
    assert_eq!(h.outcome, Outcome::Listed);
    assert_eq!(h.cancel(A, 1), ["A* done 1 cancelled leaves 50"]);
}

#[test]
fn amend_refusals_change_nothing() {
    let mut h = Harness::new();
    h.limit(A, 1, Side::Sell, "10", 5);
    assert_eq!(h.amend(A, 1, None, ""), ["A reject 1 nothing to amend"]);
    assert_eq!(h.outcome, Outcome::Rejected);
    assert_eq!(h.amend(A, 1, Some(0), ""), ["A reject 1 invalid qty"]);
    // Another account's order is reported exactly as no order.
    assert_eq!(h.amend(B, 1, Some(2), ""), ["B reject 1 unknown order"]);
    assert_eq!(h.amend(A, 2, Some(2), ""), ["A reject 2 unknown order"]);
    assert_eq!(h.outcome, Outcome::Rejected);
    assert_eq!(h.depth(Side::Sell), [("10".to_owned(), vec![(1, 5)])]);
}

#[test]
fn reduce_keeps_time_priority() {
    let mut h = Harness::new();
    h.limit(A, 1, Side::Sell, "10", 5);
    h.limit(B, 2, Side::Sell, "10", 5);
    assert_eq!(h.amend(A, 1, Some(3), "10"), ["A amended 1 10 leaves 3"]);
    assert_eq!(
        h.depth(Side::Sell),
        [("10".to_owned(), vec![(1, 3), (2, 5)])]
    );
    assert_eq!(
        h.limit(C, 3, Side::Buy, "10", 4),
        [
            "C ack 3",
            "C fill 3 ACME buy 3@10 leaves 1 match 1",
            "A fill 1 ACME sell 3@10 leaves 0 match 1",
            "A done 1 filled leaves 0",
            "C fill 3 ACME buy 1@10 leaves 0 match 2",
            "B fill 2 ACME sell 1@10 leaves 4 match 2",
            "C done 3 filled leaves 0",
        ]
    );
}

#[test]
fn increase_goes_to_the_back_of_the_level() {
    let mut h = Harness::new();
    h.limit(A, 1, Side::Sell, "10", 5);
    h.limit(B, 2, Side::Sell, "10", 5);
    h.limit(B, 3, Side::Sell, "10", 5);
    assert_eq!(h.amend(A, 1, Some(6), ""), ["A amended 1 10 leaves 6"]);
    assert_eq!(h.outcome, Outcome::Amended);
    assert_eq!(
        h.depth(Side::Sell),
        [("10".to_owned(), vec![(2, 5), (3, 5), (1, 6)])]
    );
}

#[test]
fn new_price_goes_to_the_back_of_the_new_level() {
    let mut h = Harness::new();
    h.limit(A, 1, Side::Buy, "9", 5);
    h.limit(B, 2, Side::Buy, "9.5", 5);
    h.limit(B, 3, Side::Buy, "9", 5);
    // A price change, even with a smaller quantity, loses priority.
    assert_eq!(h.amend(A, 1, Some(4), "9.5"), ["A amended 1 9.5 leaves 4"]);
    assert_eq!(
        h.depth(Side::Buy),
        [
            ("9.5".to_owned(), vec![(2, 5), (1, 4)]),
            ("9".to_owned(), vec![(3, 5)]),
        ]
    );
    // Back to its old price: behind the order that was behind it.
    assert_eq!(h.amend(A, 1, None, "9"), ["A amended 1 9 leaves 4"]);
    assert_eq!(
        h.depth(Side::Buy),
        [
            ("9.5".to_owned(), vec![(2, 5)]),
            ("9".to_owned(), vec![(3, 5), (1, 4)]),
        ]
    );
}

#[test]
fn amend_to_the_current_values_changes_nothing() {
    let mut h = Harness::new();
    h.limit(A, 1, Side::Sell, "10", 5);
    h.limit(B, 2, Side::Sell, "10", 5);
    assert_eq!(h.amend(A, 1, Some(5), "10"), ["A amended 1 10 leaves 5"]);
    assert_eq!(h.outcome, Outcome::Listed);
    assert_eq!(h.amend(A, 1, None, "10"), ["A amended 1 10 leaves 5"]);
    assert_eq!(h.outcome, Outcome::Listed);
    assert_eq!(
        h.depth(Side::Sell),
        [("10".to_owned(), vec![(1, 5), (2, 5)])]
    );
}

#[test]
fn crossing_amend_trades_then_rests_the_rest() {
    let mut h = Harness::new();
    h.limit(A, 1, Side::Buy, "9", 10);
    h.limit(B, 2, Side::Sell, "10", 4);
    h.limit(C, 3, Side::Sell, "10.5", 4);
    h.limit(B, 4, Side::Sell, "11", 4);
    // `amended` to the sender first, then the order's fills to the whole account.
    assert_eq!(
        h.amend(A, 1, None, "10.5"),
        [
            "A amended 1 10.5 leaves 10",
            "A* fill 1 ACME buy 4@10 leaves 6 match 1",
            "B fill 2 ACME sell 4@10 leaves 0 match 1",
            "B done 2 filled leaves 0",
            "A* fill 1 ACME buy 4@10.5 leaves 2 match 2",
            "C fill 3 ACME sell 4@10.5 leaves 0 match 2",
            "C done 3 filled leaves 0",
        ]
    );
    assert_eq!(h.outcome, Outcome::Amended);
    assert_eq!(h.depth(Side::Buy), [("10.5".to_owned(), vec![(1, 2)])]);
    // Filled entirely: its `done` goes to the account too.
    assert_eq!(
        h.amend(A, 1, Some(4), "11"),
        [
            "A amended 1 11 leaves 4",
            "A* fill 1 ACME buy 4@11 leaves 0 match 3",
            "B fill 4 ACME sell 4@11 leaves 0 match 3",
            "B done 4 filled leaves 0",
            "A* done 1 filled leaves 0",
        ]
    );
    assert!(h.book.is_empty());
}

#[test]
fn post_amended_to_a_crossing_price_is_refused() {
    let mut h = Harness::new();
    h.limit(B, 1, Side::Sell, "10", 5);
    h.send(A, limit(2, Side::Buy, "9", 5, Tif::Post));
    h.send(A, limit(3, Side::Buy, "9", 5, Tif::Gtc));
    assert_eq!(h.amend(A, 2, Some(9), "10"), ["A reject 2 would cross"]);
    assert_eq!(h.outcome, Outcome::Rejected);
    assert_eq!(h.depth(Side::Buy), [("9".to_owned(), vec![(2, 5), (3, 5)])]);
    // Not crossing: it moves and stays post-only.
    assert_eq!(h.amend(A, 2, None, "9.99"), ["A amended 2 9.99 leaves 5"]);
    assert_eq!(
        orders(&mut h, A),
        [
            "A order 2 ACME buy 5@9.99 post",
            "A order 3 ACME buy 5@9 gtc",
            "A orders_end 2",
        ]
    );
}

#[test]
fn orders_lists_only_the_account_ascending_by_id() {
    let mut h = Harness::new();
    assert_eq!(orders(&mut h, A), ["A orders_end 0"]);
    h.limit(A, 7, Side::Sell, "12", 1);
    h.limit(B, 8, Side::Sell, "11", 2);
    h.limit(A, 9, Side::Buy, "9", 3);
    h.limit(A, 10, Side::Sell, "11", 4);
    assert_eq!(
        orders(&mut h, A),
        [
            "A order 7 ACME sell 1@12 gtc",
            "A order 9 ACME buy 3@9 gtc",
            "A order 10 ACME sell 4@11 gtc",
            "A orders_end 3",
        ]
    );
    assert_eq!(h.book.len(), 4);
}

#[test]
fn cancel_all_cancels_the_account_only() {
    let mut h = Harness::new();
    h.limit(A, 7, Side::Sell, "12", 1);
    h.limit(B, 8, Side::Sell, "11", 2);
    h.limit(A, 9, Side::Buy, "9", 3);
    h.limit(A, 10, Side::Sell, "11", 4);
    assert_eq!(
        cancel_all(&mut h, A),
        [
            "A* done 7 cancelled leaves 1",
            "A* done 9 cancelled leaves 3",
            "A* done 10 cancelled leaves 4",
            "A cancel_all_done 3",
        ]
    );
    assert_eq!(h.outcome, Outcome::CancelledAll);
    assert_eq!(h.depth(Side::Sell), [("11".to_owned(), vec![(8, 2)])]);
    assert!(h.depth(Side::Buy).is_empty());
    assert_eq!(cancel_all(&mut h, A), ["A cancel_all_done 0"]);
    assert_eq!(h.outcome, Outcome::Listed);
}
