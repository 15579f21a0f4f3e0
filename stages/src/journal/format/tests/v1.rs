//! Records as the first format wrote them (before `stp`, amends, accounts) read the same,
//! and what still has the same meaning is written with the same bytes.

use super::*;

fn le(values: &[u64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// A limit request record of format 1: owner 2, floor 1, id 3 on "A", sell 1.5 x 10, ioc.
fn v1_limit() -> Vec<u8> {
    let mut payload = vec![1];
    payload.extend(le(&[2, 1, 3]));
    payload.extend_from_slice(&[1, b'A', 1]);
    payload.extend(le(&[15_000, 10]));
    payload.push(1);
    payload
}

/// A resting order record of format 1: owner 2, id 3, buy 1.5, leaves 10.
fn v1_resting() -> Vec<u8> {
    let mut payload = vec![18];
    payload.extend(le(&[2, 3]));
    payload.push(0);
    payload.extend(le(&[15_000, 10]));
    payload
}

#[test]
fn format_1_records_read_the_same() {
    let mut bytes = framed(&v1_limit());
    bytes.extend(framed(&v1_resting()));
    let decoded = decode_records(&bytes);
    assert_eq!(decoded.error, None);
    let price = Price::parse("1.5").unwrap();
    let a = Symbol::new("A").unwrap();
    assert_eq!(
        decoded.records,
        [
            Record::Request {
                owner: 2,
                floor: 1,
                req: Request::Limit {
                    id: 3,
                    symbol: a,
                    side: Side::Sell,
                    price,
                    qty: 10,
                    tif: Tif::Ioc,
                    stp: Stp::None,
                },
            },
            Record::Resting(Resting {
                owner: 2,
                id: 3,
                side: Side::Buy,
                price,
                leaves: 10,
                tif: Tif::Gtc,
                stp: Stp::None,
            }),
        ]
    );
    // A request without stp is written exactly as format 1 wrote it.
    let mut again = Vec::new();
    encode_record(&decoded.records[0], &mut again);
    assert_eq!(again, framed(&v1_limit()));
    // A resting order is written with its tif and stp (tag 19), and reads back whole.
    again.clear();
    encode_record(&decoded.records[1], &mut again);
    let mut v2 = v1_resting();
    v2[0] = 19;
    v2.extend_from_slice(&[0, 0]);
    assert_eq!(again, framed(&v2));
}
