//! Round trips and refusals of the log and response payloads.

use super::*;
use crate::accounts::AccountName;
use crate::matching::{Price, Side, Stp, Symbol, Tif};

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
        Request::Limit {
            id: 8,
            symbol: sym(),
            side: Side::Buy,
            price: price(),
            qty: 5,
            tif: Tif::Post,
            stp: Stp::CancelMaker,
        },
        Request::Market {
            id: 9,
            symbol: sym(),
            side: Side::Sell,
            qty: 5,
            stp: Stp::CancelBoth,
        },
        Request::Amend {
            id: 8,
            symbol: sym(),
            qty: Some(2),
            price: None,
        },
        Request::Amend {
            id: 8,
            symbol: sym(),
            qty: None,
            price: Some(price()),
        },
        Request::CancelAll { symbol: None },
        Request::CancelAll {
            symbol: Some(sym()),
        },
        // Never journaled, but it travels the log to reach the matcher of its books.
        Request::Orders { symbol: None },
        Request::Orders {
            symbol: Some(sym()),
        },
    ];
    let named = AccountName::new("alice").unwrap().owner();
    for (req, owner) in reqs
        .into_iter()
        .zip([None, Some(named)].into_iter().cycle())
    {
        let record = LogRecord {
            from: ConnRef {
                ingress: 0xdead_beef,
                conn: 42,
            },
            owner,
            seq: 9,
            floor: 5,
            req,
        };
        let mut bytes = Vec::new();
        record.encode(&mut bytes).unwrap();
        assert_eq!(LogRecord::decode(&bytes), Ok(record));
        let mut message = Vec::new();
        let entry = LogEntry::Order(record);
        entry.append_to(&mut message).unwrap();
        entry.append_to(&mut message).unwrap();
        assert_eq!(LogEntry::read_all(&message), Ok(vec![entry; 2]));
        assert_eq!(
            LogRecord::decode(&bytes[..bytes.len() - 1]),
            Err(WireError::Truncated)
        );
    }
    for req in [Request::Ping, Request::Login] {
        let record = LogRecord {
            from: ConnRef {
                ingress: 1,
                conn: 1,
            },
            owner: None,
            seq: 1,
            floor: 0,
            req,
        };
        assert_eq!(
            record.encode(&mut Vec::new()),
            Err(WireError::Unencodable("login or ping"))
        );
    }
}

#[test]
fn a_log_record_written_before_v2_still_decodes() {
    // Version 1, ingress 1, conn 2, seq 3, floor 4, then a cancel (tag 3) of id 5 on "A".
    let mut bytes = vec![1];
    for v in [1u64, 2, 3, 4] {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    bytes.push(3);
    bytes.extend_from_slice(&5u64.to_le_bytes());
    bytes.extend_from_slice(&[1, b'A']);
    let record = LogRecord::decode(&bytes).unwrap();
    assert_eq!(
        record.req,
        Request::Cancel {
            id: 5,
            symbol: Symbol::new("A").unwrap()
        }
    );
    assert_eq!((record.from.conn, record.seq, record.floor), (2, 3, 4));
    assert_eq!(
        record.owner, None,
        "before accounts, every sender was anonymous"
    );
    let mut again = Vec::new();
    record.encode(&mut again).unwrap();
    assert_eq!(again[0], VERSION);
    assert_eq!(LogRecord::decode(&again), Ok(record));
}

#[test]
fn response_batches_round_trip() {
    let batch = ResponseBatch {
        partition: 3,
        position: 1234,
        reply: Some(ReplyPart {
            from: ConnRef {
                ingress: 0xfeed,
                conn: 5,
            },
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
        notices: vec![
            WireNotice {
                to: 6,
                except: None,
                kind: ReportKind::Reject {
                    id: 1,
                    reason: RejectReason::IdNotIncreasing,
                },
            },
            WireNotice {
                to: AccountName::new("bob").unwrap().owner(),
                except: Some(ConnRef {
                    ingress: 0xfeed,
                    conn: 5,
                }),
                kind: ReportKind::Ack { id: 3 },
            },
        ],
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
        notices: vec![WireNotice {
            to: 1,
            except: None,
            kind: ReportKind::Reject {
                id: 1,
                reason: RejectReason::InvalidQty,
            },
        }],
    };
    assert_eq!(
        batch.encode(&mut Vec::new()),
        Err(WireError::Unencodable("reject reason"))
    );
}

/// Every report kind and every reason that crosses the wire, in one batch.
fn every_kind() -> Vec<ReportKind> {
    let mut kinds = vec![
        ReportKind::Ack { id: 1 },
        ReportKind::Amended {
            id: 2,
            price: price(),
            leaves: 7,
        },
        ReportKind::OrdersEnd { count: 0 },
        ReportKind::OrdersEnd { count: u64::MAX },
        ReportKind::CancelAllDone { count: 3 },
    ];
    for tif in [Tif::Gtc, Tif::Post] {
        kinds.push(ReportKind::Order {
            id: 3,
            symbol: sym(),
            side: Side::Sell,
            price: Price::MAX,
            leaves: 1_000_000_000,
            tif,
        });
    }
    for reason in [
        DoneReason::Filled,
        DoneReason::Cancelled,
        DoneReason::Expired,
        DoneReason::SelfTrade,
    ] {
        kinds.push(ReportKind::Done {
            id: 4,
            reason,
            leaves: 1,
        });
    }
    for (reason, _) in REJECT_CODES {
        kinds.push(ReportKind::Reject { id: 5, reason });
    }
    kinds
}

#[test]
fn every_v2_report_crosses_the_wire() {
    let batch = ResponseBatch {
        partition: 1,
        position: 2,
        reply: Some(ReplyPart {
            from: ConnRef {
                ingress: 1,
                conn: 1,
            },
            seq: 1,
            accepted: false,
            kinds: every_kind(),
        }),
        notices: every_kind()
            .into_iter()
            .map(|kind| WireNotice {
                to: 9,
                except: None,
                kind,
            })
            .collect(),
    };
    let mut bytes = Vec::new();
    batch.encode(&mut bytes).unwrap();
    assert_eq!(ResponseBatch::decode(&bytes), Ok(batch.clone()));
    for cut in 1..bytes.len() {
        assert!(ResponseBatch::decode(&bytes[..cut]).is_err(), "{cut}");
    }
}

#[test]
fn report_tags_and_reject_codes_are_fixed() {
    let first_bytes = |kind: ReportKind| {
        let mut out = Vec::new();
        put_kind(&mut out, &kind).unwrap();
        out
    };
    let tags = [
        (ReportKind::Ack { id: 1 }, 1),
        (every_kind()[1], 5),
        (ReportKind::OrdersEnd { count: 1 }, 7),
        (ReportKind::CancelAllDone { count: 1 }, 8),
        (every_kind()[5], 6),
    ];
    for (kind, tag) in tags {
        assert_eq!(first_bytes(kind)[0], tag, "{kind:?}");
    }
    let reject = |reason| {
        *first_bytes(ReportKind::Reject { id: 1, reason })
            .last()
            .unwrap()
    };
    assert_eq!(reject(RejectReason::WouldCross), 6);
    assert_eq!(reject(RejectReason::NothingToAmend), 7);
    assert_eq!(reject(RejectReason::LoginRequired), 8);
    let self_trade = first_bytes(ReportKind::Done {
        id: 1,
        reason: DoneReason::SelfTrade,
        leaves: 0,
    });
    assert_eq!(self_trade[9], 3);
    // An unknown report tag is named: version, partition, position, no reply, one notice
    // for conn 0, excepting none, tagged 9.
    let mut bytes = vec![VERSION, 0, 0, 0, 0];
    bytes.extend_from_slice(&[0; 8]);
    bytes.extend_from_slice(&[0, 1, 0]);
    bytes.extend_from_slice(&[0; 8]);
    bytes.extend_from_slice(&[0, 9]);
    assert_eq!(
        ResponseBatch::decode(&bytes),
        Err(WireError::Tag {
            what: "report",
            tag: 9
        })
    );
}

#[test]
fn would_cross_crosses_the_wire() {
    let batch = ResponseBatch {
        partition: 0,
        position: 1,
        reply: Some(ReplyPart {
            from: ConnRef {
                ingress: 1,
                conn: 1,
            },
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

#[test]
fn session_events_round_trip_among_orders() {
    let session = ConnRef {
        ingress: 0xfeed,
        conn: 7,
    };
    let owner = AccountName::new("alice").unwrap().owner();
    let order = LogEntry::Order(LogRecord {
        from: session,
        owner: Some(owner),
        seq: 1,
        floor: 0,
        req: Request::CancelAll { symbol: None },
    });
    let entries = [
        LogEntry::Opened { session, owner },
        order,
        LogEntry::Closed { session, owner },
        LogEntry::IngressGone { ingress: 0xfeed },
    ];
    let mut message = Vec::new();
    for e in &entries {
        e.append_to(&mut message).unwrap();
    }
    assert_eq!(LogEntry::read_all(&message), Ok(entries.to_vec()));
    let mut bytes = Vec::new();
    LogEntry::IngressGone { ingress: 1 }
        .encode(&mut bytes)
        .unwrap();
    bytes[1] = 9;
    assert_eq!(
        LogEntry::decode(&bytes),
        Err(WireError::Tag {
            what: "log event",
            tag: 9
        })
    );
}
