//! Named accounts: each one's highest accepted id, and the connection-id base that ignores
//! them, survive replay and snapshots.

use super::*;
use crate::accounts::AccountName;

fn owner(name: &str) -> Owner {
    AccountName::new(name).unwrap().owner()
}

fn limit(id: OrderId, side: Side, tif: Tif, stp: Stp) -> Request {
    Request::Limit {
        id,
        symbol: Symbol::new("AAA").unwrap(),
        side,
        price: Price::from_ticks(100).unwrap(),
        qty: 5,
        tif,
        stp,
    }
}

/// Writes segment `n` holding `requests`, each with the id floor it was matched with.
fn write_segment(dir: &Path, n: u64, requests: &[(Owner, OrderId, Request)]) {
    let mut bytes = crate::journal::format::SEGMENT_MAGIC.to_vec();
    for &(owner, floor, req) in requests {
        encode_record(&Record::Request { owner, floor, req }, &mut bytes);
    }
    fs::write(reader::segment_path(dir, n), bytes).unwrap();
}

#[test]
fn floors_and_connection_base_survive_replay_and_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let (alice, bob) = (owner("alice"), owner("bob"));
    write_segment(
        dir.path(),
        1,
        &[
            // Rests: a post order with an stp, whose tif and stp the snapshot keeps.
            (alice, 0, limit(10, Side::Sell, Tif::Post, Stp::CancelMaker)),
            // Below alice's floor: rejected on replay, so it does not count.
            (alice, 10, limit(4, Side::Sell, Tif::Gtc, Stp::None)),
            // An anonymous connection's order: it counts for the connection base only.
            (3, 0, limit(100, Side::Sell, Tif::Gtc, Stp::None)),
            // Accepted, then expires: an accepted id all the same.
            (
                bob,
                0,
                Request::Market {
                    id: 7,
                    symbol: Symbol::new("BBB").unwrap(),
                    side: Side::Buy,
                    qty: 1,
                    stp: Stp::CancelTaker,
                },
            ),
            // Cancels name no new order.
            (
                bob,
                7,
                Request::Cancel {
                    id: 50,
                    symbol: Symbol::new("AAA").unwrap(),
                },
            ),
        ],
    );
    let expected_floors = BTreeMap::from([(alice, 10), (bob, 7)]);
    let state = load(dir.path(), None).unwrap();
    assert_eq!(state.floors, expected_floors);
    assert_eq!(state.conn_base, 3, "named owners are not connection ids");
    let expected = books(&state.engine);
    let resting = &expected["AAA"].2;
    assert_eq!(resting.len(), 2);
    assert_eq!(
        (resting[0].tif, resting[0].stp),
        (Tif::Post, Stp::CancelMaker)
    );

    // Folded into a snapshot, segment 1 is gone: the snapshot alone holds the floors.
    compact(dir.path(), 1).unwrap();
    assert_eq!(reader::list(dir.path()).unwrap().segments, [0u64; 0]);
    let state = load(dir.path(), None).unwrap();
    assert_eq!(state.floors, expected_floors);
    assert_eq!(state.conn_base, 3);
    assert_eq!(books(&state.engine), expected);

    // Later segments raise a floor on top of the snapshot's.
    write_segment(
        dir.path(),
        2,
        &[(alice, 10, limit(20, Side::Buy, Tif::Ioc, Stp::None))],
    );
    let state = load(dir.path(), None).unwrap();
    assert_eq!(state.floors, BTreeMap::from([(alice, 20), (bob, 7)]));
    assert_eq!(state.conn_base, 3);
}

#[test]
fn floors_end_a_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let write = |records: &[Record]| {
        let mut bytes = SNAPSHOT_MAGIC.to_vec();
        for record in records {
            encode_record(record, &mut bytes);
        }
        fs::write(snapshot_path(dir.path(), 1), bytes).unwrap();
    };
    let header = Record::Snapshot {
        segment: 1,
        conn_base: 0,
        books: 0,
    };
    let floor = Record::Floor {
        owner: owner("alice"),
        id: 3,
    };
    let book = Record::Book {
        symbol: Symbol::new("AAA").unwrap(),
        last_match: 0,
        seq: 0,
        orders: 0,
    };
    write(&[header, floor]);
    let state = load(dir.path(), None).unwrap();
    assert_eq!(state.floors, BTreeMap::from([(owner("alice"), 3)]));
    // A book the header does not count, after the floors: corrupt.
    write(&[header, floor, book]);
    let err = load(dir.path(), None).unwrap_err();
    assert!(matches!(err, JournalError::Corrupt { .. }), "{err}");
}
