//! `decode_request` over arbitrary bytes.
//!
//! Checked: no panic; the same answer twice; JSON whitespace around the frame changes nothing;
//! whatever is accepted or rejected respects the protocol's ranges (id, qty, price, symbol);
//! and an accepted request written back as plain JSON decodes to itself.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sedaflow_stages::codec::{decode_request, DecodeError};
use sedaflow_stages::matching::{Price, Request, Symbol};

/// 2^63 - 1, the highest id.
const MAX_ID: u64 = i64::MAX as u64;
const MAX_QTY: u64 = 1_000_000_000;

fn check_symbol(symbol: &Symbol) {
    let text = symbol.as_str();
    assert!(
        (1..=16).contains(&text.len())
            && text
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b".-_".contains(&b)),
        "invalid symbol accepted: {text:?}"
    );
}

/// The request as the plainest JSON that means it.
fn to_json(request: &Request) -> String {
    match request {
        Request::Ping => r#"{"op":"ping"}"#.to_owned(),
        Request::Cancel { id, symbol } => {
            format!(r#"{{"op":"cancel","id":{id},"symbol":"{symbol}"}}"#)
        }
        Request::Market {
            id,
            symbol,
            side,
            qty,
        } => format!(
            r#"{{"op":"market","id":{id},"symbol":"{symbol}","side":"{}","qty":{qty}}}"#,
            side.as_str()
        ),
        Request::Limit {
            id,
            symbol,
            side,
            price,
            qty,
            tif,
        } => format!(
            r#"{{"op":"limit","id":{id},"symbol":"{symbol}","side":"{}","price":"{price}","qty":{qty},"tif":"{}"}}"#,
            side.as_str(),
            tif.as_str()
        ),
    }
}

fuzz_target!(|frame: &[u8]| {
    let decoded = decode_request(frame);
    assert_eq!(decoded, decode_request(frame), "not deterministic");
    let mut padded = b" \t\r\n".to_vec();
    padded.extend_from_slice(frame);
    padded.extend_from_slice(b"\r\n\t ");
    assert_eq!(decode_request(&padded), decoded, "whitespace changed the answer");

    let (id, qty, price) = match &decoded {
        Ok(Request::Ping) | Err(DecodeError::Error { .. }) => return,
        Err(DecodeError::Reject { id, .. }) => (*id, 1, None),
        Ok(Request::Cancel { id, symbol }) => {
            check_symbol(symbol);
            (*id, 1, None)
        }
        Ok(Request::Market { id, symbol, qty, .. }) => {
            check_symbol(symbol);
            (*id, *qty, None)
        }
        Ok(Request::Limit {
            id,
            symbol,
            qty,
            price,
            ..
        }) => {
            check_symbol(symbol);
            (*id, *qty, Some(*price))
        }
    };
    assert!((1..=MAX_ID).contains(&id), "id out of range: {id}");
    assert!((1..=MAX_QTY).contains(&qty), "qty out of range: {qty}");
    if let Some(price) = price {
        assert!(price.ticks() > 0 && price <= Price::MAX, "price out of range");
        assert_eq!(Price::parse(&price.to_string()), Ok(price), "price does not round-trip");
    }
    if let Ok(request) = decoded {
        let plain = to_json(&request);
        assert_eq!(decode_request(plain.as_bytes()), Ok(request), "{plain}");
    }
});
