//! Order entry over HTTP: `POST /orders` answers 200 with the array of responses addressed to
//! the requester, 400 with one `error` object for a body that is not a request;
//! `GET /healthz` answers 200; the metrics port serves `GET /metrics`.

mod support;

use serde_json::json;
use support::{get, post, post_with, Client, KeepAlive, Pattern, Server};

/// The body must be a JSON array fitting `expected`, element by element.
fn assert_array(body: &serde_json::Value, expected: &[&str]) -> Vec<serde_json::Value> {
    let items = body
        .as_array()
        .unwrap_or_else(|| panic!("expected a JSON array, got: {body}"));
    assert_eq!(
        items.len(),
        expected.len(),
        "expected {expected:?}, got: {body}"
    );
    for (got, want) in items.iter().zip(expected) {
        assert!(
            Pattern::parse(want).fits(got),
            "expected {want}, got {got} (in {body})"
        );
    }
    items.clone()
}

#[test]
fn post_orders_answers_the_requesters_responses() {
    let server = Server::start(&[]);
    // In open mode any key logs in; HTTP requests name the account with Basic auth.
    let mut a = Client::login(server.tcp, "web", "x");
    let web = ["Authorization: Basic d2ViOng="];

    // A resting order: just the ack.
    let r = post(
        server.http,
        "/orders",
        r#"{"op":"limit","id":5,"symbol":"HTTP1","side":"buy","price":"12","qty":3}"#,
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json(), json!([{"type": "ack", "id": 5}]));

    // Crossing a TCP client's resting order: ack, fill, done for the requester; the fill for
    // the TCP owner goes to its connection.
    a.send(r#"{"op":"limit","id":1,"symbol":"HTTP2","side":"sell","price":"12.50","qty":10}"#);
    a.expect(r#"{"type":"ack","id":1}"#);
    let r = post(
        server.http,
        "/orders",
        r#"{"op":"limit","id":6,"symbol":"HTTP2","side":"buy","price":"13","qty":4}"#,
    );
    assert_eq!(r.status, 200, "{r:?}");
    let items = assert_array(
        &r.json(),
        &[
            r#"{"type":"ack","id":6}"#,
            r#"{"type":"fill","id":6,"symbol":"HTTP2","side":"buy","price":"12.5","qty":4,"leaves":0}"#,
            r#"{"type":"done","id":6,"reason":"filled","leaves":0}"#,
        ],
    );
    let m = a.expect_fill(
        r#"{"type":"fill","id":1,"symbol":"HTTP2","side":"sell","price":"12.5","qty":4,"leaves":6}"#,
    );
    assert_eq!(
        items[1]["match"], m,
        "both sides of a trade share its match id"
    );

    // An order entered over HTTP rests like any other: a TCP sell trades with it.
    a.send(r#"{"op":"limit","id":2,"symbol":"HTTP1","side":"sell","price":"11","qty":1}"#);
    a.expect(r#"{"type":"ack","id":2}"#);
    a.expect_fill(
        r#"{"type":"fill","id":2,"symbol":"HTTP1","side":"sell","price":"12","qty":1,"leaves":0}"#,
    );
    a.expect(r#"{"type":"done","id":2,"reason":"filled","leaves":0}"#);

    // Cancel over HTTP, for the same account, of the TCP session's order: both get the done.
    let r = post_with(
        server.http,
        "/orders",
        r#"{"op":"cancel","id":1,"symbol":"HTTP2"}"#,
        &web,
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.json(),
        json!([{"type": "done", "id": 1, "reason": "cancelled", "leaves": 6}])
    );
    a.expect(r#"{"type":"done","id":1,"reason":"cancelled","leaves":6}"#);

    // A request with a usable id but an invalid field is a request: 200 with its reject.
    let r = post(
        server.http,
        "/orders",
        r#"{"op":"limit","id":7,"symbol":"HTTP1","side":"buy","price":"-1","qty":1}"#,
    );
    assert_eq!(r.status, 200, "{r:?}");
    let body = r.json();
    let reason = body[0]["reason"].as_str().unwrap_or_default();
    assert!(
        body.as_array().map(Vec::len) == Some(1)
            && body[0]["type"] == "reject"
            && body[0]["id"] == 7
            && reason.contains("price"),
        "expected [reject 7 naming price], got {body}"
    );

    let r = post(server.http, "/orders", r#"{"op":"ping"}"#);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json(), json!([{"type": "pong"}]));

    a.expect_idle();
}

/// Each anonymous request is an account of its own, also one after another on a keep-alive
/// connection (which reuses its last request's connection state once nothing holds it): an
/// id is never "not increasing" against an earlier request's, and a resting order stays its
/// own request's.
#[test]
fn a_keep_alive_connections_anonymous_requests_are_accounts_of_their_own() {
    let server = Server::start(&[]);
    let mut c = KeepAlive::open(server.http);
    let ioc =
        r#"{"op":"limit","id":9,"symbol":"KEEP1","side":"buy","price":"10","qty":1,"tif":"ioc"}"#;
    for _ in 0..3 {
        let r = c.post("/orders", ioc);
        assert_eq!(r.status, 200, "{r:?}");
        assert_array(
            &r.json(),
            &[
                r#"{"type":"ack","id":9}"#,
                r#"{"type":"done","id":9,"reason":"expired","leaves":1}"#,
            ],
        );
    }
    // A resting buy, then a sell crossing it from the next request: two accounts trade.
    let rest = r#"{"op":"limit","id":1,"symbol":"KEEP2","side":"buy","price":"10","qty":3}"#;
    let r = c.post("/orders", rest);
    assert_eq!(r.json(), json!([{"type": "ack", "id": 1}]));
    let sell = r#"{"op":"limit","id":1,"symbol":"KEEP2","side":"sell","price":"10","qty":2}"#;
    let r = c.post("/orders", sell);
    assert_array(
        &r.json(),
        &[
            r#"{"type":"ack","id":1}"#,
            r#"{"type":"fill","id":1,"symbol":"KEEP2","side":"sell","price":"10","qty":2,"leaves":0}"#,
            r#"{"type":"done","id":1,"reason":"filled","leaves":0}"#,
        ],
    );
    // What is left of the buy is its own request's: the next request cannot cancel it.
    let cancel = r#"{"op":"cancel","id":1,"symbol":"KEEP2"}"#;
    let r = c.post("/orders", cancel);
    assert_eq!(
        r.json(),
        json!([{"type": "reject", "id": 1, "reason": "unknown order"}])
    );
}

#[test]
fn a_body_that_is_not_a_request_is_400_with_one_error() {
    let server = Server::start(&[]);
    for body in [
        "not json",
        "[1,2]",
        r#"{"op":"limit","symbol":"HTTP3","side":"buy","price":"1","qty":1}"#,
        r#"{"op":"limit","id":0,"symbol":"HTTP3","side":"buy","price":"1","qty":1}"#,
    ] {
        let r = post(server.http, "/orders", body);
        assert_eq!(r.status, 400, "body {body:?}: {r:?}");
        let error = r.json();
        assert!(
            error["type"] == "error" && error["reason"].is_string(),
            "body {body:?}: expected one error object, got {error}"
        );
    }
}

#[test]
fn healthz_and_metrics_answer_200() {
    let server = Server::start(&[]);
    let health = get(server.http, "/healthz");
    assert_eq!(health.status, 200, "{health:?}");
    let metrics = get(server.metrics, "/metrics");
    assert_eq!(metrics.status, 200, "{metrics:?}");
}

/// Requests from many connections at once meet in one batch on their loop (its turn): each
/// is still answered with its own responses, and a bad body among them with its own 400.
#[test]
fn concurrent_requests_are_each_answered_with_their_own_responses() {
    const CLIENTS: u64 = 16;
    const EACH: u64 = 25;
    // Admission control off: on a busy machine it may answer some orders `overloaded`.
    let server = Server::start_with_config("[admission]\nenabled = false\n");
    let http = server.http;
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            std::thread::spawn(move || {
                for i in 0..EACH {
                    let id = c * 1_000 + i + 1;
                    if i % 5 == 4 {
                        let r = post(http, "/orders", r#"{"op":"limit","id":0}"#);
                        assert_eq!(r.status, 400, "client {c}, request {i}: {r:?}");
                        assert_eq!(r.json()["type"], "error", "{r:?}");
                        continue;
                    }
                    let body = format!(
                        r#"{{"op":"limit","id":{id},"symbol":"TURN{}","side":"buy","price":"10","qty":1}}"#,
                        c % 4
                    );
                    let r = post(http, "/orders", &body);
                    assert_eq!(r.status, 200, "client {c}, request {i}: {r:?}");
                    assert_eq!(r.json(), json!([{"type": "ack", "id": id}]));
                }
            })
        })
        .collect();
    for client in clients {
        client.join().expect("a client's answers were wrong");
    }
}
