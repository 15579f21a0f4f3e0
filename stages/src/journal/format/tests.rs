use super::*;
use crate::matching::{Price, Side, Tif};

mod v1;

fn symbol() -> Symbol {
    Symbol::new("BRK.B").unwrap()
}

fn samples() -> Vec<Record> {
    let price = Price::parse("10.05").unwrap();
    vec![
        Record::Request {
            owner: 1,
            floor: 0,
            req: Request::Limit {
                id: 1,
                symbol: symbol(),
                side: Side::Sell,
                price,
                qty: 100,
                tif: Tif::Gtc,
                stp: Default::default(),
            },
        },
        Record::Request {
            owner: u64::MAX,
            floor: 41,
            req: Request::Limit {
                id: (1 << 63) - 1,
                symbol: Symbol::new("0123456789ABCDEF").unwrap(),
                side: Side::Buy,
                price: Price::MAX,
                qty: 1_000_000_000,
                tif: Tif::Ioc,
                stp: Default::default(),
            },
        },
        Record::Request {
            owner: 2,
            floor: 5,
            req: Request::Market {
                id: 6,
                symbol: symbol(),
                side: Side::Buy,
                qty: 3,
                stp: Default::default(),
            },
        },
        Record::Request {
            owner: 2,
            floor: 0,
            req: Request::Cancel {
                id: 1,
                symbol: symbol(),
            },
        },
        Record::Snapshot {
            segment: 9,
            conn_base: 77,
            books: 1,
        },
        Record::Book {
            symbol: symbol(),
            last_match: 12,
            seq: 0,
            orders: 1,
        },
        Record::Resting(Resting {
            id: 1,
            owner: 1,
            side: Side::Sell,
            price,
            leaves: 60,
            stp: Default::default(),
            tif: Default::default(),
        }),
        Record::Request {
            owner: 1 << 63 | 5,
            floor: 7,
            req: Request::Limit {
                id: 8,
                symbol: symbol(),
                side: Side::Buy,
                price,
                qty: 9,
                tif: Tif::Post,
                stp: Stp::CancelMaker,
            },
        },
        Record::Request {
            owner: 3,
            floor: 8,
            req: Request::Market {
                id: 9,
                symbol: symbol(),
                side: Side::Sell,
                qty: 1,
                stp: Stp::CancelTaker,
            },
        },
        Record::Request {
            owner: 3,
            floor: 9,
            req: Request::Amend {
                id: 8,
                symbol: symbol(),
                qty: Some(4),
                price: None,
            },
        },
        Record::Request {
            owner: 3,
            floor: 9,
            req: Request::Amend {
                id: 8,
                symbol: symbol(),
                qty: None,
                price: Some(Price::MAX),
            },
        },
        Record::Request {
            owner: 3,
            floor: 9,
            req: Request::CancelAll { symbol: None },
        },
        Record::Request {
            owner: 3,
            floor: 9,
            req: Request::CancelAll {
                symbol: Some(symbol()),
            },
        },
        Record::Resting(Resting {
            id: 2,
            owner: 1 << 63 | 5,
            side: Side::Buy,
            price,
            leaves: 3,
            tif: Tif::Post,
            stp: Stp::CancelBoth,
        }),
        Record::Floor {
            owner: u64::MAX,
            id: (1 << 63) - 1,
        },
    ]
}

fn encode_all(records: &[Record]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for r in records {
        encode_record(r, &mut bytes);
    }
    bytes
}

#[test]
fn round_trip() {
    let records = samples();
    let bytes = encode_all(&records);
    let decoded = decode_records(&bytes);
    assert_eq!(decoded.records, records);
    assert_eq!(decoded.valid_len, bytes.len());
    assert_eq!(decoded.error, None);
}

#[test]
fn requests_that_change_nothing_are_not_recorded() {
    let mut bytes = vec![1, 2];
    let symbol = Some(symbol());
    for req in [
        Request::Ping,
        Request::Login,
        Request::Orders { symbol: None },
        Request::Orders { symbol },
    ] {
        let record = Record::Request {
            owner: 1,
            floor: 0,
            req,
        };
        encode_record(&record, &mut bytes);
        assert_eq!(bytes, [1, 2]);
    }
    // Not read either: an `orders` request framed by hand is not a record.
    let mut payload = vec![8];
    payload.extend_from_slice(&[0; 16]);
    payload.push(0);
    assert_eq!(
        decode_records(&framed(&payload)).error,
        Some(FormatError::Payload { offset: 0 })
    );
}

/// `payload` in a valid frame.
fn framed(payload: &[u8]) -> Vec<u8> {
    let len = (payload.len() as u32).to_le_bytes();
    let mut crc = crc32fast::Hasher::new();
    crc.update(&len);
    crc.update(payload);
    let mut bytes = len.to_vec();
    bytes.extend_from_slice(&crc.finalize().to_le_bytes());
    bytes.extend_from_slice(payload);
    bytes
}

#[test]
fn every_cut_inside_the_last_record_is_a_torn_tail() {
    let records = samples();
    let bytes = encode_all(&records);
    let good = encode_all(&records[..records.len() - 1]).len();
    for cut in good + 1..bytes.len() {
        let decoded = decode_records(&bytes[..cut]);
        assert_eq!(decoded.records, records[..records.len() - 1], "cut {cut}");
        assert_eq!(decoded.valid_len, good);
        assert_eq!(
            decoded.error,
            Some(FormatError::Truncated { offset: good }),
            "cut {cut}"
        );
    }
}

#[test]
fn a_flipped_bit_or_garbage_ends_the_valid_part() {
    let records = samples();
    let bytes = encode_all(&records);
    let second = encode_all(&records[..1]).len();
    let third = encode_all(&records[..2]).len();
    for at in second..third {
        let mut flipped = bytes.clone();
        flipped[at] ^= 0x10;
        let decoded = decode_records(&flipped);
        assert_eq!(decoded.records, records[..1], "flip at {at}");
        assert_eq!(decoded.valid_len, second);
        assert!(decoded.error.is_some());
    }
    let mut garbage = bytes.clone();
    garbage.extend_from_slice(b"\xff\xff\xff\x7fnot a record");
    let decoded = decode_records(&garbage);
    assert_eq!(decoded.records, records);
    assert_eq!(
        decoded.error,
        Some(FormatError::Length {
            offset: bytes.len(),
            len: 0x7fff_ffff
        })
    );
}

proptest::proptest! {
    #[test]
    fn any_bytes_decode_to_a_valid_prefix(
        bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512),
        keep in 0usize..20,
    ) {
        // Real records first, so the checksum passes and payload parsing is reached too.
        let records = samples();
        let mut input = encode_all(&records[..keep.min(records.len())]);
        input.extend_from_slice(&bytes);
        let decoded = decode_records(&input);
        proptest::prop_assert!(decoded.valid_len <= input.len());
        proptest::prop_assert_eq!(decoded.error.is_none(), decoded.valid_len == input.len());
        let again = decode_records(&input[..decoded.valid_len]);
        proptest::prop_assert_eq!(&again.records, &decoded.records);
        proptest::prop_assert_eq!(again.error, None);
        // One spelling per record: what decodes encodes back to the same bytes.
        proptest::prop_assert_eq!(encode_all(&again.records), &input[..decoded.valid_len]);
    }
}

#[test]
fn a_valid_frame_with_a_bad_payload_is_malformed() {
    let floor_with_a_byte_more = [&[TAG_FLOOR][..], &[0; 17]].concat();
    for payload in [
        &[TAG_BOOK, 0][..],
        &[0],
        &[9],
        &[21],
        &floor_with_a_byte_more,
    ] {
        assert_eq!(
            decode_records(&framed(payload)).error,
            Some(FormatError::Payload { offset: 0 }),
            "{payload:?}"
        );
    }
}
