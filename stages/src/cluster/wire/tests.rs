//! Round trips and refusals of the log and response payloads.

use super::*;
use crate::matching::{Price, Side, Symbol, Tif};

fn sym() -> Symbol {
    Symbol::new("ACME.B").unwrap()
}

fn price() -> Price {
    Price::from_ticks(100_500).unwrap()
}

#[test]
fn log_records_round_trip() {
    let reqs = [
        Request::Limit {
            id: 7,
            symbol: sym(),
            side: Side::Sell,
            price: price(),
            qty: 100,
            tif: Tif::Ioc,
            stp: Default::default(),
        },
        Request::Market {
            id: u64::MAX >> 1,
            symbol: sym(),
            side: Side::Buy,
            qty: 1,
            stp: Default::default(),
        },
        Request::Cancel {
            id: 3,
            symbol: sym(),
        },
    ];
    for req in reqs {
        let record = LogRecord {
            from: ConnRef {
                ingress: 0xdead_beef,
                conn: 42,
            },
            seq: 9,
            floor: 5,
            req,
        };
        let mut bytes = Vec::new();
        record.encode(&mut bytes).unwrap();
        assert_eq!(LogRecord::decode(&bytes), Ok(record));
        let mut message = Vec::new();
        record.append_to(&mut message).unwrap();
        record.append_to(&mut message).unwrap();
        assert_eq!(LogRecord::read_all(&message), Ok(vec![record; 2]));
        assert_eq!(
            LogRecord::decode(&bytes[..bytes.len() - 1]),
            Err(WireError::Truncated)
        );
    }
    let mut bytes = Vec::new();
    let ping = LogRecord {
        from: ConnRef {
            ingress: 1,
            conn: 1,
        },
        seq: 1,
        floor: 0,
        req: Request::Ping,
    };
    assert_eq!(ping.encode(&mut bytes), Err(WireError::Unencodable("ping")));
}

#[test]
fn response_batches_round_trip() {
    let batch = ResponseBatch {
        partition: 3,
        position: 1234,
        reply: Some(ReplyPart {
            conn: 5,
            seq: 77,
            accepted: true,
            kinds: vec![
                ReportKind::Ack { id: 2 },
                ReportKind::Fill {
                    id: 2,
                    symbol: sym(),
                    side: Side::Buy,
                    price: price(),
                    qty: 40,
                    leaves: 0,
                    match_id: 1,
                },
                ReportKind::Done {
                    id: 2,
                    reason: DoneReason::Filled,
                    leaves: 0,
                },
            ],
        }),
        notices: vec![(
            6,
            ReportKind::Reject {
                id: 1,
                reason: RejectReason::IdNotIncreasing,
            },
        )],
    };
    let mut bytes = Vec::new();
    batch.encode(&mut bytes).unwrap();
    assert_eq!(ResponseBatch::decode(&bytes), Ok(batch.clone()));
    let mut message = Vec::new();
    let second = ResponseBatch {
        position: 1235,
        reply: None,
        ..batch.clone()
    };
    batch.append_to(&mut message).unwrap();
    second.append_to(&mut message).unwrap();
    assert_eq!(
        ResponseBatch::read_all(&message),
        Ok(vec![batch.clone(), second])
    );
    assert_eq!(
        ResponseBatch::read_all(&message[..message.len() - 1]),
        Err(WireError::Truncated)
    );
    bytes.push(0);
    assert_eq!(ResponseBatch::decode(&bytes), Err(WireError::Trailing(1)));
    bytes[0] = 9;
    assert_eq!(ResponseBatch::decode(&bytes), Err(WireError::Version(9)));
}

#[test]
fn field_reasons_do_not_cross_the_wire() {
    let batch = ResponseBatch {
        partition: 0,
        position: 1,
        reply: None,
        notices: vec![(
            1,
            ReportKind::Reject {
                id: 1,
                reason: RejectReason::InvalidQty,
            },
        )],
    };
    assert_eq!(
        batch.encode(&mut Vec::new()),
        Err(WireError::Unencodable("reject reason"))
    );
}

#[test]
fn would_cross_crosses_the_wire() {
    let batch = ResponseBatch {
        partition: 0,
        position: 1,
        reply: Some(ReplyPart {
            conn: 1,
            seq: 1,
            accepted: false,
            kinds: vec![ReportKind::Reject {
                id: 4,
                reason: RejectReason::WouldCross,
            }],
        }),
        notices: Vec::new(),
    };
    let mut bytes = Vec::new();
    batch.encode(&mut bytes).unwrap();
    assert_eq!(ResponseBatch::decode(&bytes), Ok(batch));
}
