//! The example at the end of PROTOCOL.md, line for line: every request as written, every
//! response compared as a JSON value, in the listed order for each client.

mod support;

use support::{Client, Server};

#[test]
fn the_contract_example_line_for_line() {
    let server = Server::start(&[]);
    let mut a = Client::connect(server.tcp);
    let mut b = Client::connect(server.tcp);

    a.send(r#"{"op":"limit","id":1,"symbol":"ACME","side":"sell","price":"10.05","qty":100}"#);
    a.expect(r#"{"type":"ack","id":1}"#);
    b.send(r#"{"op":"limit","id":2,"symbol":"ACME","side":"buy","price":"10.10","qty":40}"#);
    b.expect(r#"{"type":"ack","id":2}"#);
    b.expect(r#"{"type":"fill","id":2,"symbol":"ACME","side":"buy","price":"10.05","qty":40,"leaves":0,"match":1}"#);
    a.expect(r#"{"type":"fill","id":1,"symbol":"ACME","side":"sell","price":"10.05","qty":40,"leaves":60,"match":1}"#);
    b.expect(r#"{"type":"done","id":2,"reason":"filled","leaves":0}"#);
    a.send(r#"{"op":"cancel","id":1,"symbol":"ACME"}"#);
    a.expect(r#"{"type":"done","id":1,"reason":"cancelled","leaves":60}"#);

    // Nothing beyond the example was sent to either client.
    a.expect_idle();
    b.expect_idle();
}
