//! `decode_request` and `decode_login` over arbitrary bytes.
//!
//! Checked: no panic; the same answer twice; JSON whitespace around the frame changes nothing;
//! whatever is accepted or rejected respects the protocol's ranges (id, qty, price, symbol);
//! an accepted request written back by `encode_request` decodes to itself; a login that
//! decodes has a valid account name.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sedaflow_stages::accounts::AccountName;
use sedaflow_stages::codec::{decode_login, decode_request, encode_request, DecodeError};
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

fuzz_target!(|frame: &[u8]| {
    let decoded = decode_request(frame);
    assert_eq!(decoded, decode_request(frame), "not deterministic");
    let mut padded = b" \t\r\n".to_vec();
    padded.extend_from_slice(frame);
    padded.extend_from_slice(b"\r\n\t ");
    assert_eq!(decode_request(&padded), decoded, "whitespace changed the answer");

    if let Ok(login) = decode_login(frame) {
        let name = login.account.as_str();
        assert_eq!(AccountName::new(name), Some(login.account), "invalid account accepted");
    }
    // The id, qty and price to check against their ranges, for what has them.
    let ranged = match &decoded {
        Ok(Request::Ping | Request::Login) | Err(DecodeError::Error { .. }) => None,
        Ok(Request::Orders { symbol } | Request::CancelAll { symbol }) => {
            if let Some(symbol) = symbol {
                check_symbol(symbol);
            }
            None
        }
        Err(DecodeError::Reject { id, .. }) => Some((*id, 1, None)),
        Ok(Request::Cancel { id, symbol }) => {
            check_symbol(symbol);
            Some((*id, 1, None))
        }
        Ok(Request::Amend {
            id,
            symbol,
            qty,
            price,
        }) => {
            check_symbol(symbol);
            Some((*id, qty.unwrap_or(1), *price))
        }
        Ok(Request::Market { id, symbol, qty, .. }) => {
            check_symbol(symbol);
            Some((*id, *qty, None))
        }
        Ok(Request::Limit {
            id,
            symbol,
            qty,
            price,
            ..
        }) => {
            check_symbol(symbol);
            Some((*id, *qty, Some(*price)))
        }
    };
    if let Some((id, qty, price)) = ranged {
        assert!((1..=MAX_ID).contains(&id), "id out of range: {id}");
        assert!((1..=MAX_QTY).contains(&qty), "qty out of range: {qty}");
        if let Some(price) = price {
            assert!(price.ticks() > 0 && price <= Price::MAX, "price out of range");
            assert_eq!(Price::parse(&price.to_string()), Ok(price), "price does not round-trip");
        }
    }
    if let Ok(request) = decoded {
        let mut line = Vec::new();
        encode_request(&request, &mut line);
        let plain = line.strip_suffix(b"\n").unwrap_or(&line);
        assert_eq!(decode_request(plain), Ok(request), "{}", String::from_utf8_lossy(plain));
    }
});
