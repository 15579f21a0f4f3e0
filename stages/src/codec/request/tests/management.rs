//! The v2 requests: `stp`, `amend`, `orders`, `cancel_all`, `login`.

use proptest::prelude::*;

use super::*;

fn stp_of(frame: &str) -> Result<Stp, DecodeError> {
    decode(frame).map(|request| match request {
        Request::Limit { stp, .. } | Request::Market { stp, .. } => stp,
        other => panic!("not an order: {other:?}"),
    })
}

#[test]
fn stp_is_optional_on_limit_and_market() {
    for (text, stp) in [
        ("none", Stp::None),
        ("cancel_taker", Stp::CancelTaker),
        ("cancel_maker", Stp::CancelMaker),
        ("cancel_both", Stp::CancelBoth),
    ] {
        let value = format!(r#""{text}""#);
        assert_eq!(stp_of(&limit_with("stp", Some(&value))), Ok(stp));
        let market = format!(
            r#"{{"op":"market","id":5,"symbol":"ACME","side":"buy","qty":1,"stp":{value}}}"#
        );
        assert_eq!(stp_of(&market), Ok(stp));
    }
    assert_eq!(stp_of(&limit_with("stp", None)), Ok(Stp::None));
    assert_eq!(stp_of(&limit_with("stp", Some("null"))), Ok(Stp::None));
    for bad in [
        r#""NONE""#,
        r#""cancel""#,
        r#""""#,
        "1",
        "true",
        r#"["none"]"#,
    ] {
        assert_eq!(
            decode(&limit_with("stp", Some(bad))),
            reject(5, RejectReason::InvalidStp),
            "{bad}"
        );
        let market =
            format!(r#"{{"op":"market","id":6,"symbol":"ACME","side":"buy","qty":1,"stp":{bad}}}"#);
        assert_eq!(decode(&market), reject(6, RejectReason::InvalidStp));
    }
}

#[test]
fn stp_is_checked_after_the_order_fields() {
    let frame = r#"{"op":"limit","id":5,"symbol":"ACME","side":"buy","price":"10","qty":0,"tif":"x","stp":"x"}"#;
    assert_eq!(decode(frame), reject(5, RejectReason::InvalidQty));
    let frame = r#"{"op":"limit","id":5,"symbol":"ACME","side":"buy","price":"10","qty":1,"tif":"x","stp":"x"}"#;
    assert_eq!(decode(frame), reject(5, RejectReason::InvalidTif));
    // A market order ignores tif, not stp.
    let frame =
        r#"{"op":"market","id":5,"symbol":"ACME","side":"buy","qty":1,"tif":"x","stp":"x"}"#;
    assert_eq!(decode(frame), reject(5, RejectReason::InvalidStp));
}

fn amend_ok(qty: Option<Qty>, price_text: Option<&str>) -> Result<Request, DecodeError> {
    Ok(Request::Amend {
        id: 4,
        symbol: acme(),
        qty,
        price: price_text.map(price),
    })
}

#[test]
fn amend_takes_qty_or_price_or_both() {
    assert_eq!(
        decode(r#"{"op":"amend","id":4,"symbol":"ACME","qty":10}"#),
        amend_ok(Some(10), None)
    );
    assert_eq!(
        decode(r#"{"op":"amend","id":4,"symbol":"ACME","price":10.5}"#),
        amend_ok(None, Some("10.5"))
    );
    assert_eq!(
        decode(r#"{"op":"amend","id":4,"symbol":"ACME","price":"10.5","qty":1,"side":"x"}"#),
        amend_ok(Some(1), Some("10.5"))
    );
    assert_eq!(
        decode(r#"{"op":"amend","id":4,"symbol":"ACME","price":null,"qty":7}"#),
        amend_ok(Some(7), None)
    );
}

#[test]
fn amend_rules() {
    let amend = |fields: &str| decode(&format!(r#"{{"op":"amend","id":4{fields}}}"#));
    assert_eq!(
        amend(r#","symbol":"ACME""#),
        reject(4, RejectReason::NothingToAmend)
    );
    assert_eq!(
        amend(r#","symbol":"ACME","qty":null,"price":null"#),
        reject(4, RejectReason::NothingToAmend)
    );
    assert_eq!(amend(r#","qty":1"#), reject(4, RejectReason::MissingSymbol));
    assert_eq!(
        amend(r#","symbol":"acme","qty":1"#),
        reject(4, RejectReason::InvalidSymbol)
    );
    for bad in ["0", "1.0", "1000000001", r#""5""#, "-1"] {
        assert_eq!(
            amend(&format!(r#","symbol":"ACME","qty":{bad}"#)),
            reject(4, RejectReason::InvalidQty),
            "{bad}"
        );
    }
    for bad in ["0", r#""1.00001""#, "1e2", r#"".5""#, "true"] {
        assert_eq!(
            amend(&format!(r#","symbol":"ACME","price":{bad},"qty":0"#)),
            reject(4, RejectReason::InvalidPrice),
            "price is checked before qty: {bad}"
        );
    }
    assert_eq!(
        decode(r#"{"op":"amend","symbol":"ACME","qty":1}"#),
        error(ErrorReason::MissingId)
    );
    assert_eq!(
        decode(r#"{"op":"amend","id":0,"symbol":"ACME","qty":1}"#),
        error(ErrorReason::InvalidId)
    );
}

#[test]
fn orders_and_cancel_all_take_an_optional_symbol() {
    for (op, make) in [
        (
            "orders",
            (|symbol| Request::Orders { symbol }) as fn(_) -> _,
        ),
        ("cancel_all", |symbol| Request::CancelAll { symbol }),
    ] {
        let frame = |rest: &str| format!(r#"{{"op":"{op}"{rest}}}"#);
        assert_eq!(decode(&frame("")), Ok(make(None)));
        assert_eq!(decode(&frame(r#","symbol":null"#)), Ok(make(None)));
        assert_eq!(
            decode(&frame(r#","symbol":"ACME","id":"x","side":1"#)),
            Ok(make(Some(acme())))
        );
        for bad in [r#""acme""#, r#""""#, "1", r#""ABCDEFGHIJKLMNOPQ""#] {
            let with = format!(r#","symbol":{bad}"#);
            assert_eq!(
                decode(&frame(&with)),
                error(ErrorReason::InvalidSymbol),
                "{op} {bad}"
            );
            // A usable id, though none is needed, is answered to.
            let with = format!(r#","symbol":{bad},"id":8"#);
            assert_eq!(
                decode(&frame(&with)),
                reject(8, RejectReason::InvalidSymbol)
            );
        }
    }
}

#[test]
fn login_is_read_by_decode_login() {
    let frame = r#"{"op":"login","account":"alice","key":"k","id":"x"}"#;
    assert_eq!(decode(frame), Ok(Request::Login));
    // decode_request does not judge the fields: the network answers `login failed`.
    assert_eq!(decode(r#"{"op":"login"}"#), Ok(Request::Login));
    assert_eq!(
        decode(r#"{"op":"logout","id":2}"#),
        reject(2, RejectReason::InvalidOp)
    );
    assert_eq!(decode(r#"{"op":"Login"}"#), error(ErrorReason::InvalidOp));
}

fn every_v2_request() -> Vec<Request> {
    let mut requests = vec![
        Request::Amend {
            id: 1,
            symbol: acme(),
            qty: Some(MAX_QTY),
            price: None,
        },
        Request::Amend {
            id: MAX_ID,
            symbol: acme(),
            qty: None,
            price: Some(price("0.0001")),
        },
        Request::Amend {
            id: 2,
            symbol: acme(),
            qty: Some(1),
            price: Some(price("1000000000")),
        },
        Request::Orders { symbol: None },
        Request::Orders {
            symbol: Some(acme()),
        },
        Request::CancelAll { symbol: None },
        Request::CancelAll {
            symbol: Some(Symbol::new("A.B_C-9").unwrap()),
        },
        Request::Login,
    ];
    for stp in [Stp::CancelTaker, Stp::CancelMaker, Stp::CancelBoth] {
        requests.push(Request::Limit {
            id: 3,
            symbol: acme(),
            side: Side::Buy,
            price: price("10.05"),
            qty: 3,
            tif: Tif::Post,
            stp,
        });
        requests.push(Request::Market {
            id: 4,
            symbol: acme(),
            side: Side::Sell,
            qty: 3,
            stp,
        });
    }
    requests
}

#[test]
fn every_v2_request_encodes_to_a_line_that_decodes_to_itself() {
    for request in every_v2_request() {
        let mut out = Vec::new();
        encode_request(&request, &mut out);
        let line = out.strip_suffix(b"\n").expect("newline terminated");
        assert!(!line.contains(&b'\n'));
        assert_eq!(decode_request(line), Ok(request));
    }
}

#[test]
fn encodes_the_exact_v2_text() {
    let line = |request: Request| {
        let mut out = Vec::new();
        encode_request(&request, &mut out);
        String::from_utf8(out).unwrap()
    };
    assert_eq!(
        line(Request::Amend {
            id: 4,
            symbol: acme(),
            qty: Some(10),
            price: Some(price("10.50")),
        }),
        "{\"op\":\"amend\",\"id\":4,\"symbol\":\"ACME\",\"qty\":10,\"price\":\"10.5\"}\n"
    );
    assert_eq!(
        line(Request::Orders {
            symbol: Some(acme())
        }),
        "{\"op\":\"orders\",\"symbol\":\"ACME\"}\n"
    );
    assert_eq!(
        line(Request::Market {
            id: 1,
            symbol: acme(),
            side: Side::Buy,
            qty: 2,
            stp: Stp::CancelBoth,
        }),
        "{\"op\":\"market\",\"id\":1,\"symbol\":\"ACME\",\"side\":\"buy\",\"qty\":2,\"stp\":\"cancel_both\"}\n"
    );
    assert_eq!(line(Request::Login), "{\"op\":\"login\"}\n");
}

proptest! {
    /// Whatever the bytes, decoding answers without panicking, and an answer with an id
    /// names an id the frame could carry; admission's reading of a new order's id does not
    /// panic either.
    #[test]
    fn any_bytes_decode_or_are_refused(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = new_order_id(&bytes);
        match decode_request(&bytes) {
            Ok(request) => prop_assert!(request.id().is_none_or(|id| (1..=MAX_ID).contains(&id))),
            Err(DecodeError::Reject { id, .. }) => prop_assert!((1..=MAX_ID).contains(&id)),
            Err(DecodeError::Error { .. }) => {}
        }
    }

    /// JSON-shaped frames with the protocol's field names and arbitrary values reach every
    /// branch of the field rules; none panics, and what decodes re-encodes to itself.
    #[test]
    fn any_field_values_decode_or_are_refused(
        op in prop::sample::select(vec![
            "limit", "market", "cancel", "amend", "orders", "cancel_all", "login", "ping", "x",
        ]),
        values in proptest::collection::vec(
            prop::sample::select(vec![
                "1", "0", "-1", "1.5", "1e2", "null", "true", "\"\"", "\"ACME\"", "\"buy\"",
                "\"10.05\"", "\"gtc\"", "\"post\"", "\"cancel_maker\"", "\"\\u0041\"", "{}", "[]",
                "9223372036854775807", "9223372036854775808", "1000000000", "1000000001",
            ]),
            8,
        ),
    ) {
        let names = ["id", "symbol", "side", "price", "qty", "tif", "stp", "account"];
        let fields: Vec<String> = names
            .iter()
            .zip(&values)
            .map(|(name, value)| format!("\"{name}\":{value}"))
            .collect();
        let frame = format!("{{\"op\":\"{op}\",{}}}", fields.join(","));
        // Admission refuses exactly the new orders decode would take by op and id (and, not
        // reading further, also those decode rejects for another field).
        match decode(&frame) {
            Ok(Request::Limit { id, .. } | Request::Market { id, .. }) => {
                prop_assert_eq!(new_order_id(frame.as_bytes()), Some(id));
            }
            Ok(_) => prop_assert_eq!(new_order_id(frame.as_bytes()), None),
            Err(_) => {}
        }
        if let Ok(request) = decode(&frame) {
            let mut out = Vec::new();
            encode_request(&request, &mut out);
            prop_assert_eq!(decode_request(out.strip_suffix(b"\n").unwrap()), Ok(request));
        }
    }
}
