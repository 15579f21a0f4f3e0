//! The flat scanner's reading gives serde's answer for every frame: the fuzz corpus, edge
//! cases, and every one-byte edit of typical requests.

use super::*;

/// Requests as clients send them, one per op and price form.
const TYPICAL: &[&str] = &[
    r#"{"op":"limit","id":1,"symbol":"ACME","side":"sell","price":"10.05","qty":100,"tif":"gtc"}"#,
    r#"{"op":"limit","id":12,"symbol":"X.Y-Z_1","side":"buy","price":7,"qty":1,"tif":"ioc"}"#,
    r#"{"op":"market","id":3,"symbol":"ACME","side":"buy","qty":5}"#,
    r#"{"op":"cancel","id":9223372036854775807,"symbol":"ACME"}"#,
    r#"{"op":"ping"}"#,
    r#"{"op":"amend","id":5,"symbol":"ACME","qty":3,"price":"10.5"}"#,
    r#"{"op":"market","id":6,"symbol":"ACME","side":"sell","qty":2,"stp":"cancel_maker"}"#,
    r#"{"op":"orders","symbol":"ACME"}"#,
    r#"{"op":"cancel_all","id":8}"#,
    r#"{"op":"login","account":"alice","key":"k"}"#,
];

/// Shapes and values at the edges of the scanner's fast path and of each field's rule.
const EDGES: &[&str] = &[
    "{}",
    " { } ",
    "[]",
    "1",
    "\"x\"",
    "nul",
    "{",
    r#"{"op":"ping",}"#,
    r#"{"op":"ping"} x"#,
    r#"{"op":"ping"}  	"#,
    r#"{"op":null,"id":4}"#,
    r#"{"op":"nope","id":4}"#,
    r#"{"op":"nope"}"#,
    r#"{"op":"li\u006dit","id":4,"symbol":"A","side":"buy","price":"1","qty":1}"#,
    r#"{"op":"limit","op":"limit","id":4}"#,
    r#"{"x":1,"x":2,"op":"ping"}"#,
    r#"{"op":"limit","id":null,"id":4}"#,
    r#"{"op":"limit","id":"4"}"#,
    r#"{"op":"limit","id":0,"symbol":"A"}"#,
    r#"{"op":"limit","id":-1,"symbol":"A"}"#,
    r#"{"op":"limit","id":9223372036854775808,"symbol":"A"}"#,
    r#"{"op":"limit","id":4.0,"symbol":"A"}"#,
    r#"{"op":"limit","id":4e0,"symbol":"A"}"#,
    r#"{"op":"limit","id":04,"symbol":"A"}"#,
    r#"{"op":"cancel","id":4,"symbol":"acme"}"#,
    r#"{"op":"cancel","id":4,"symbol":"ABCDEFGHIJKLMNOPQ"}"#,
    r#"{"op":"cancel","id":4,"symbol":""}"#,
    r#"{"op":"cancel","id":4,"symbol":5}"#,
    r#"{"op":"cancel","id":4,"symbol":"ÄCME"}"#,
    r#"{"op":"limit","id":4,"symbol":"A","side":"BUY","price":"1","qty":1}"#,
    r#"{"op":"limit","id":4,"symbol":"A","side":"buy","qty":1}"#,
    r#"{"op":"limit","id":4,"symbol":"A","side":"buy","price":"1e2","qty":1}"#,
    r#"{"op":"limit","id":4,"symbol":"A","side":"buy","price":1e2,"qty":1}"#,
    r#"{"op":"limit","id":4,"symbol":"A","side":"buy","price":".5","qty":1}"#,
    r#"{"op":"limit","id":4,"symbol":"A","side":"buy","price":"1.00001","qty":1}"#,
    r#"{"op":"limit","id":4,"symbol":"A","side":"buy","price":"1.50000","qty":1}"#,
    r#"{"op":"limit","id":4,"symbol":"A","side":"buy","price":1000000000.0001,"qty":1}"#,
    r#"{"op":"limit","id":4,"symbol":"A","side":"buy","price":"0","qty":1}"#,
    r#"{"op":"limit","id":4,"symbol":"A","side":"buy","price":true,"qty":1}"#,
    r#"{"op":"limit","id":4,"symbol":"A","side":"buy","price":"1","qty":100.0}"#,
    r#"{"op":"limit","id":4,"symbol":"A","side":"buy","price":"1","qty":1000000001}"#,
    r#"{"op":"limit","id":4,"symbol":"A","side":"buy","price":"1","qty":"1"}"#,
    r#"{"op":"limit","id":4,"symbol":"A","side":"buy","price":"1","qty":1,"tif":"fok"}"#,
    r#"{"op":"limit","id":4,"symbol":"A","side":"buy","price":"1","qty":1,"tif":null}"#,
    r#"{"op":"market","id":4,"symbol":"A","side":"buy","qty":1,"price":"x","tif":7}"#,
    r#"{"op":"limit","id":4,"symbol":"A","side":"buy","price":"1","qty":1,"extra":{"a":[1,2]}}"#,
    r#"{"op":"limit","id":4,"symbol":"A","side":"buy","price":"1","qty":1,"extra":"\n"}"#,
    "{\"op\":\"ping\",\"x\":\"a\tb\"}",
    "{\"op\":\"ping\",\"x\":-0.5E+3}",
    "{\"op\":\"ping\",\"x\":-}",
    "{\"op\":\"ping\",\"x\":1.}",
    "{\"op\":\"ping\",\"x\":truex}",
    "{\"op\":\"ping\",\"x\":fals}",
];

/// Bytes worth putting anywhere: JSON's punctuation, digits, letters of its literals,
/// whitespace, a control character, a non-ASCII lead byte.
const PROBES: &[u8] = b"\"\\,:{}[] \t\r\n01-.eEntfx\x01\xc3";

/// serde's reading of the frame, without the scanner.
fn through_serde(frame: &[u8]) -> Result<Request, DecodeError> {
    let text = std::str::from_utf8(frame).map_err(|_| ErrorReason::InvalidJson)?;
    decode_fields(&parse_with_serde(text)?)
}

fn assert_same(frame: &[u8]) {
    assert_eq!(
        decode_request(frame),
        through_serde(frame),
        "frame {:?}",
        String::from_utf8_lossy(frame)
    );
}

#[test]
fn typical_requests_and_edges() {
    for frame in TYPICAL.iter().chain(EDGES) {
        assert_same(frame.as_bytes());
    }
}

#[test]
fn the_fuzz_corpus() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../fuzz/corpus/request");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).expect("the fuzz corpus") {
        let frame = std::fs::read(entry.expect("a corpus entry").path()).expect("a corpus file");
        // The fuzz target feeds whole files; a server sees lines.
        for line in frame.split(|&b| b == b'\n') {
            assert_same(line);
        }
        seen += 1;
    }
    assert!(seen > 0);
}

#[test]
fn every_one_byte_edit_of_typical_requests() {
    for frame in TYPICAL {
        let frame = frame.as_bytes();
        for at in 0..=frame.len() {
            if at < frame.len() {
                let mut deleted = frame.to_vec();
                deleted.remove(at);
                assert_same(&deleted);
            }
            for &probe in PROBES {
                let mut inserted = frame.to_vec();
                inserted.insert(at, probe);
                assert_same(&inserted);
                if at < frame.len() {
                    let mut replaced = frame.to_vec();
                    replaced[at] = probe;
                    assert_same(&replaced);
                }
            }
        }
    }
}
