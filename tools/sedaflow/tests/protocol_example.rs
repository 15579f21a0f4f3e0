//! The example at the end of PROTOCOL.md (v2), line for line: every request as written, every
//! response compared as a JSON value, in the listed order for each client. The accounts have
//! the example's keys (`keys` mode); the market-data subscriber's part is in
//! `protocol_market_data.rs`.

mod support;

use support::{Client, Server};

/// alice's key is `k-a`, bob's `k-b`.
const KEYS: &str = r#"
[auth]
mode = "keys"
[[auth.accounts]]
name = "alice"
key_sha256 = "29c2cc888fa9b3f46e0711100e1729a19129b4de8950fc68bd184ec09dfbe6cd"
[[auth.accounts]]
name = "bob"
key_sha256 = "fe47fbb21f25d73b64693515203198e88dfc6212449862e6c87aff46cfad65e1"
"#;

#[test]
fn the_contract_example_line_for_line() {
    let server = Server::start_with_config(KEYS);
    let mut a = Client::connect(server.tcp);
    a.send(r#"{"op":"login","account":"alice","key":"k-a"}"#);
    a.expect(r#"{"type":"login","account":"alice"}"#);
    let mut b = Client::connect(server.tcp);
    b.send(r#"{"op":"login","account":"bob","key":"k-b"}"#);
    b.expect(r#"{"type":"login","account":"bob"}"#);

    a.send(r#"{"op":"limit","id":1,"symbol":"ACME","side":"sell","price":"10.05","qty":100}"#);
    a.expect(r#"{"type":"ack","id":1}"#);
    b.send(r#"{"op":"limit","id":2,"symbol":"ACME","side":"buy","price":"10.10","qty":40}"#);
    b.expect(r#"{"type":"ack","id":2}"#);
    b.expect(r#"{"type":"fill","id":2,"symbol":"ACME","side":"buy","price":"10.05","qty":40,"leaves":0,"match":1}"#);
    a.expect(r#"{"type":"fill","id":1,"symbol":"ACME","side":"sell","price":"10.05","qty":40,"leaves":60,"match":1}"#);
    b.expect(r#"{"type":"done","id":2,"reason":"filled","leaves":0}"#);
    b.send(r#"{"op":"cancel","id":1,"symbol":"ACME"}"#);
    b.expect(r#"{"type":"reject","id":1,"reason":"unknown order"}"#);
    a.send(r#"{"op":"amend","id":1,"symbol":"ACME","qty":50}"#);
    a.expect(r#"{"type":"amended","id":1,"price":"10.05","leaves":50}"#);
    a.send(r#"{"op":"orders"}"#);
    a.expect(r#"{"type":"order","id":1,"symbol":"ACME","side":"sell","price":"10.05","leaves":50,"tif":"gtc"}"#);
    a.expect(r#"{"type":"orders_end","count":1}"#);
    a.send(r#"{"op":"cancel","id":1,"symbol":"ACME"}"#);
    a.expect(r#"{"type":"done","id":1,"reason":"cancelled","leaves":50}"#);

    // Nothing beyond the example was sent to either client.
    a.expect_idle();
    b.expect_idle();
}
