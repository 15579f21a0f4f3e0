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
    // What format 1 could say is written exactly as format 1 wrote it.
    assert_eq!(encode_all(&decoded.records), bytes);
}

#[test]
fn new_tags_are_only_for_what_format_1_could_not_say() {
    let mut resting = v1_resting();
    resting[0] = 19;
    // Tag 19 with gtc and no stp would be a second spelling of a tag 18 record.
    let gtc_none = [&resting[..], &[0, 0]].concat();
    let post_none = [&resting[..], &[3, 0]].concat();
    let gtc_both = [&resting[..], &[0, 3]].concat();
    assert_eq!(
        decode_records(&framed(&gtc_none)).error,
        Some(FormatError::Payload { offset: 0 })
    );
    for payload in [post_none, gtc_both] {
        let decoded = decode_records(&framed(&payload));
        assert_eq!(decoded.error, None);
        assert_eq!(encode_all(&decoded.records), framed(&payload));
    }
    // Tag 4 (a limit with stp) carrying stp none, likewise.
    let mut limit = v1_limit();
    limit[0] = 4;
    limit.push(0);
    assert_eq!(
        decode_records(&framed(&limit)).error,
        Some(FormatError::Payload { offset: 0 })
    );
    *limit.last_mut().unwrap() = 1;
    assert_eq!(decode_records(&framed(&limit)).error, None);
}

#[test]
fn a_book_keeps_its_sequence_and_tag_17_reads_as_sequence_0() {
    let a = Symbol::new("A").unwrap();
    let book = |seq| Record::Book {
        symbol: a,
        last_match: 4,
        seq,
        orders: 2,
    };
    let mut v1_book = vec![17, 1, b'A'];
    v1_book.extend(le(&[4, 2]));
    assert_eq!(decode_records(&framed(&v1_book)).records, [book(0)]);
    // Sequence 0 keeps the tag 17 spelling.
    assert_eq!(encode_all(&[book(0)]), framed(&v1_book));
    let mut with_seq = vec![21, 1, b'A'];
    with_seq.extend(le(&[4, 9, 2]));
    assert_eq!(encode_all(&[book(9)]), framed(&with_seq));
    assert_eq!(decode_records(&framed(&with_seq)).records, [book(9)]);
    // Tag 21 with sequence 0 would be a second spelling of a tag 17 record.
    let mut zero = vec![21, 1, b'A'];
    zero.extend(le(&[4, 0, 2]));
    assert_eq!(
        decode_records(&framed(&zero)).error,
        Some(FormatError::Payload { offset: 0 })
    );
}
