//! Public market data over real sockets (PROTOCOL.md, "Market data"): WebSocket `GET /ws`
//! subscriptions, their answers and errors, pings, the idle close, and the HTTP snapshots
//! `GET /depth`, `/trades`, `/klines`, on books nobody traded.

mod support;

use std::collections::HashMap;

use support::{get, wait_until, Ended, Server, WsClient, READ_GUARD};
use tungstenite::Message;

fn subscribe(channel: &str, symbol: &str) -> String {
    format!(r#"{{"op":"subscribe","channel":"{channel}","symbol":"{symbol}"}}"#)
}

/// Subscribes `ws` to `channel` (not `kline`) of `symbol`; the next message is the answer.
fn subscribed(ws: &mut WsClient, channel: &str, symbol: &str) {
    ws.send(&subscribe(channel, symbol));
    assert_eq!(
        ws.text(),
        format!(r#"{{"type":"subscribed","channel":"{channel}","symbol":"{symbol}"}}"#)
    );
}

#[test]
fn subscribers_get_the_current_state_of_an_untouched_book() {
    let server = Server::start(&[]);
    let mut ws = WsClient::connect(server.http);
    subscribed(&mut ws, "depth", "ACME");
    assert_eq!(
        ws.text(),
        r#"{"type":"depth","symbol":"ACME","seq":0,"bids":[],"asks":[]}"#
    );
    subscribed(&mut ws, "bbo", "ACME");
    assert_eq!(
        ws.text(),
        r#"{"type":"bbo","symbol":"ACME","seq":0,"bid":null,"bid_qty":0,"ask":null,"ask_qty":0}"#
    );
    // No candle without trades, and trades start with the next one: only the answers.
    ws.send(r#"{"op":"subscribe","channel":"kline","symbol":"ACME","interval":"1m"}"#);
    ws.send(&subscribe("trades", "ACME"));
    assert_eq!(
        ws.text(),
        r#"{"type":"subscribed","channel":"kline","symbol":"ACME","interval":"1m"}"#
    );
    assert_eq!(
        ws.text(),
        r#"{"type":"subscribed","channel":"trades","symbol":"ACME"}"#
    );
    assert_eq!(server.metric("sedaflow_market_subscribers"), 1.0);
}

#[test]
fn unsubscribing_is_answered_with_the_same_fields() {
    let server = Server::start(&[]);
    let mut ws = WsClient::connect(server.http);
    ws.send(r#"{"op":"subscribe","channel":"kline","symbol":"ACME","interval":"5m"}"#);
    ws.text();
    ws.send(r#"{"op":"unsubscribe","channel":"kline","symbol":"ACME","interval":"5m"}"#);
    assert_eq!(
        ws.text(),
        r#"{"type":"unsubscribed","channel":"kline","symbol":"ACME","interval":"5m"}"#
    );
    // Unsubscribing what is not held is answered too.
    ws.send(r#"{"op":"unsubscribe","channel":"bbo","symbol":"OTHER"}"#);
    assert_eq!(
        ws.text(),
        r#"{"type":"unsubscribed","channel":"bbo","symbol":"OTHER"}"#
    );
}

#[test]
fn every_bad_message_is_answered_and_the_socket_stays_open() {
    let server = Server::start(&[]);
    let mut ws = WsClient::connect(server.http);
    let cases = [
        ("not json", "invalid json"),
        ("[1,2]", "invalid json"),
        (r#"{"op":"subscribe""#, "invalid json"),
        ("{}", "unknown op"),
        (
            r#"{"op":"login","channel":"depth","symbol":"ACME"}"#,
            "unknown op",
        ),
        (r#"{"op":"subscribe","symbol":"ACME"}"#, "unknown channel"),
        (
            r#"{"op":"subscribe","channel":"book","symbol":"ACME"}"#,
            "unknown channel",
        ),
        (r#"{"op":"subscribe","channel":"depth"}"#, "invalid symbol"),
        (
            r#"{"op":"subscribe","channel":"depth","symbol":"acme"}"#,
            "invalid symbol",
        ),
        (
            r#"{"op":"subscribe","channel":"trades","symbol":"TOO_LONG_A_SYMBOL"}"#,
            "invalid symbol",
        ),
        (
            r#"{"op":"subscribe","channel":"kline","symbol":"ACME"}"#,
            "invalid interval",
        ),
        (
            r#"{"op":"unsubscribe","channel":"kline","symbol":"ACME","interval":"1d"}"#,
            "invalid interval",
        ),
    ];
    for (frame, reason) in cases {
        ws.send(frame);
        assert_eq!(
            ws.text(),
            format!(r#"{{"type":"error","reason":"{reason}"}}"#),
            "for {frame:?}"
        );
    }
    subscribed(&mut ws, "trades", "ACME");
}

#[test]
fn a_socket_holds_at_most_1024_subscriptions() {
    let server = Server::start(&[]);
    let mut ws = WsClient::connect(server.http);
    for n in 0..1025 {
        ws.send(&subscribe("trades", &format!("S{n}")));
    }
    // Subscriptions on different symbols may be answered in any order.
    let mut answers: HashMap<String, usize> = HashMap::new();
    for _ in 0..1025 {
        let answer = ws.json();
        let kind = match answer["type"].as_str() {
            Some("error") => format!("error {}", answer["reason"]),
            Some(kind) => kind.to_string(),
            None => panic!("no type in {answer}"),
        };
        *answers.entry(kind).or_default() += 1;
    }
    assert_eq!(answers["subscribed"], 1024, "{answers:?}");
    assert_eq!(
        answers[r#"error "too many subscriptions""#], 1,
        "{answers:?}"
    );
    // Subscribing again to one held is no new subscription; after an unsubscribe there is room.
    subscribed(&mut ws, "trades", "S0");
    ws.send(r#"{"op":"unsubscribe","channel":"trades","symbol":"S1"}"#);
    assert_eq!(ws.json()["type"], "unsubscribed");
    subscribed(&mut ws, "trades", "S1024");
}

#[test]
fn pings_are_answered() {
    let server = Server::start(&[]);
    let mut ws = WsClient::connect(server.http);
    ws.ping(b"are you there");
    assert_eq!(ws.frame(), Message::Pong(b"are you there"[..].into()));
    ws.send(&subscribe("depth", "ACME"));
    assert_eq!(ws.json()["type"], "subscribed");
}

#[test]
fn a_client_that_closes_gets_a_close_frame_and_the_socket_ends() {
    let server = Server::start(&[]);
    let mut ws = WsClient::connect(server.http);
    subscribed(&mut ws, "trades", "ACME");
    ws.ping(b"first");
    ws.close();
    // What was sent before the close is still answered, then the server's close frame.
    assert_eq!(ws.frame(), Message::Pong(b"first"[..].into()));
    assert!(matches!(ws.frame(), Message::Close(_)));
    assert_eq!(ws.until_end(), (Ended::Closed, None));
    wait_until("the server forgets the subscriber", || {
        server.metric("sedaflow_market_subscribers") == 0.0
    });
}

#[test]
fn a_silent_socket_is_closed_after_the_idle_timeout() {
    let server = Server::start_with_config("[limits]\nidle_timeout = \"1s\"\n");
    let mut ws = WsClient::connect(server.http);
    ws.send(&subscribe("depth", "ACME"));
    assert_eq!(ws.json()["type"], "subscribed");
    assert_eq!(ws.json()["type"], "depth");
    assert_eq!(ws.until_end(), (Ended::Closed, None));
}

#[test]
fn a_stopping_server_closes_its_sockets() {
    let mut server = Server::start(&[]);
    let mut ws = WsClient::connect(server.http);
    subscribed(&mut ws, "trades", "ACME");
    server.sigterm();
    assert_eq!(ws.until_end().0, Ended::Closed);
    assert!(server.wait_exit(READ_GUARD).success());
}

#[test]
fn a_subscriber_that_does_not_read_is_cut_off_as_a_slow_consumer() {
    let server = Server::start_with_config("[market]\nunsent_cap = 4096\n");
    let mut ws = WsClient::connect(server.http);
    // Each subscribe queues its answer and a snapshot again; not read, they fill the
    // socket's buffers, then the outbox past its cap.
    let sent = 20_000;
    for n in 0..sent {
        ws.send(&subscribe("depth", &format!("S{}", n % 1000)));
    }
    let (ended, last) = ws.until_end();
    assert_eq!(ended, Ended::Closed);
    assert_eq!(
        last.as_deref(),
        Some(r#"{"type":"error","reason":"slow consumer"}"#)
    );
    assert_eq!(server.metric("sedaflow_market_slow_consumers_total"), 1.0);
}

#[test]
fn http_snapshots_of_an_untouched_book_are_empty() {
    let server = Server::start(&[]);
    let depth = get(server.http, "/depth?symbol=ACME");
    assert_eq!(depth.status, 200);
    assert_eq!(
        depth.body,
        r#"{"type":"depth","symbol":"ACME","seq":0,"bids":[],"asks":[]}"#
    );
    for path in [
        "/trades?symbol=ACME",
        "/trades?symbol=ACME&limit=1000",
        "/klines?symbol=ACME&interval=1s",
        "/klines?interval=1h&symbol=ACME&limit=1",
    ] {
        let answer = get(server.http, path);
        assert_eq!((answer.status, answer.body.as_str()), (200, "[]"), "{path}");
    }
}

#[test]
fn bad_snapshot_queries_answer_400_with_the_reason() {
    let server = Server::start(&[]);
    let cases = [
        ("/depth", "invalid symbol"),
        ("/depth?symbol=acme", "invalid symbol"),
        ("/trades?symbol=", "invalid symbol"),
        ("/trades?symbol=ACME&limit=0", "invalid limit"),
        ("/trades?symbol=ACME&limit=1001", "invalid limit"),
        ("/trades?symbol=ACME&limit=ten", "invalid limit"),
        ("/klines?symbol=ACME", "invalid interval"),
        ("/klines?symbol=ACME&interval=1d", "invalid interval"),
        ("/klines?symbol=ACME&interval=1m&limit=-1", "invalid limit"),
    ];
    for (path, reason) in cases {
        let answer = get(server.http, path);
        assert_eq!(answer.status, 400, "{path}: {}", answer.body);
        assert_eq!(
            answer.body,
            format!(r#"{{"type":"error","reason":"{reason}"}}"#),
            "{path}"
        );
    }
    // A plain GET of /ws is no WebSocket handshake.
    assert_eq!(get(server.http, "/ws").status, 400);
}
