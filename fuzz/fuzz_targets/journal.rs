//! `journal::format::decode_records` over arbitrary bytes: what recovery reads after a crash.
//!
//! Checked: no panic; the valid prefix is within the input and is all of it when nothing
//! failed; decoding that prefix alone gives the same records with no error; and the records
//! encode back to exactly the prefix's bytes (the format has one spelling per record, so a
//! replayed journal is the journal that was written).

#![no_main]

use libfuzzer_sys::fuzz_target;
use sedaflow_stages::journal::format::{decode_records, encode_record};

fuzz_target!(|bytes: &[u8]| {
    let decoded = decode_records(bytes);
    assert!(decoded.valid_len <= bytes.len());
    if decoded.error.is_none() {
        assert_eq!(decoded.valid_len, bytes.len(), "no error but bytes left over");
    }
    let prefix = &bytes[..decoded.valid_len];
    let again = decode_records(prefix);
    assert!(again.error.is_none(), "the valid prefix fails: {:?}", again.error);
    assert_eq!(again.records, decoded.records);
    let mut encoded = Vec::new();
    for record in &decoded.records {
        encode_record(record, &mut encoded);
    }
    assert_eq!(encoded, prefix, "records do not encode back to their bytes");
});
