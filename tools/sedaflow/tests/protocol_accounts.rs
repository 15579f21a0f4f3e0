//! *v2* accounts over real sockets (PROTOCOL.md "Accounts", "Delivery guarantees"): login
//! before anything in `keys` mode, `login failed` closes the connection, `login not first`,
//! orders that only their account may cancel, reports to every live session of the account,
//! the increasing-id rule per account over sessions and reconnections, HTTP Basic auth, and
//! `cancel_on_disconnect`.

mod support;

use support::{post_with, wait_until, Client, Server, KEYS};

fn login(server: &Server, account: &str, key: &str) -> Client {
    Client::login(server.tcp, account, key)
}

#[test]
fn keys_mode_answers_nothing_but_ping_and_login_before_a_login() {
    let server = Server::start_with_config(KEYS);
    let mut c = Client::connect(server.tcp);
    c.send(r#"{"op":"ping"}"#);
    c.expect(r#"{"type":"pong"}"#);
    c.send(r#"{"op":"limit","id":1,"symbol":"ACME","side":"sell","price":"10","qty":5}"#);
    c.expect(r#"{"type":"reject","id":1,"reason":"login required"}"#);
    c.send(r#"{"op":"orders"}"#);
    c.expect(r#"{"type":"error","reason":"login required"}"#);
    c.send("not json");
    c.expect(r#"{"type":"error","reason":"invalid json"}"#);
    // None of those counted as processed: the login is still first.
    c.send(r#"{"op":"login","account":"alice","key":"k-a"}"#);
    c.expect(r#"{"type":"login","account":"alice"}"#);
    c.send(r#"{"op":"login","account":"alice","key":"k-a"}"#);
    c.expect(r#"{"type":"error","reason":"login not first"}"#);
    c.send(r#"{"op":"limit","id":1,"symbol":"ACME","side":"sell","price":"10","qty":5}"#);
    c.expect(r#"{"type":"ack","id":1}"#);
    assert_eq!(
        server.series("sedaflow_logins_total", &["result=\"ok\""]),
        Some(1.0)
    );
    assert_eq!(server.metric("sedaflow_login_required_total"), 2.0);
}

#[test]
fn a_failed_login_is_answered_and_closes_the_connection() {
    let server = Server::start_with_config(KEYS);
    let long = "a".repeat(1900);
    let attempts = [
        r#"{"op":"login","account":"alice","key":"wrong"}"#.to_owned(),
        r#"{"op":"login","account":"carol","key":"k-a"}"#.to_owned(),
        r#"{"op":"login","account":"al ice","key":"k-a"}"#.to_owned(),
        r#"{"op":"login","account":"alice"}"#.to_owned(),
        r#"{"op":"login","account":7,"key":"k-a"}"#.to_owned(),
        format!(r#"{{"op":"login","account":"{long}","key":"{long}"}}"#),
        r#"{"op":"login","account":"\u00e9\u0000","key":"\ud800"}"#.to_owned(),
    ];
    for attempt in &attempts {
        let mut c = Client::connect(server.tcp);
        c.send(attempt);
        c.expect(r#"{"type":"error","reason":"login failed"}"#);
        c.expect_eof();
    }
    assert_eq!(
        server.series("sedaflow_logins_total", &["result=\"failed\""]),
        Some(attempts.len() as f64)
    );
    // Keys never reach the log.
    assert!(!server.stderr().contains("wrong"), "{}", server.stderr());
    // Other clients are served as before.
    let mut alice = login(&server, "alice", "k-a");
    alice.send(r#"{"op":"ping"}"#);
    alice.expect(r#"{"type":"pong"}"#);
}

#[test]
fn only_the_owner_cancels_and_every_session_of_the_account_gets_its_reports() {
    let server = Server::start_with_config(KEYS);
    let mut a1 = login(&server, "alice", "k-a");
    let mut a2 = login(&server, "alice", "k-a");
    let mut b = login(&server, "bob", "k-b");

    a1.send(r#"{"op":"limit","id":1,"symbol":"ACME","side":"sell","price":"10.05","qty":100}"#);
    a1.expect(r#"{"type":"ack","id":1}"#);
    a2.expect_idle();

    // Another account's order is reported exactly as no order.
    b.send(r#"{"op":"cancel","id":1,"symbol":"ACME"}"#);
    b.expect(r#"{"type":"reject","id":1,"reason":"unknown order"}"#);

    // A trade against alice's order reaches both her sessions.
    b.send(r#"{"op":"limit","id":2,"symbol":"ACME","side":"buy","price":"10.10","qty":40}"#);
    b.expect(r#"{"type":"ack","id":2}"#);
    b.expect_fill(r#"{"type":"fill","id":2,"symbol":"ACME","side":"buy","price":"10.05","qty":40,"leaves":0}"#);
    b.expect(r#"{"type":"done","id":2,"reason":"filled","leaves":0}"#);
    let fill = r#"{"type":"fill","id":1,"symbol":"ACME","side":"sell","price":"10.05","qty":40,"leaves":60}"#;
    a1.expect_fill(fill);
    a2.expect_fill(fill);

    // Her second session cancels the order the first placed: its own answer, and a copy to
    // the first.
    a2.send(r#"{"op":"cancel","id":1,"symbol":"ACME"}"#);
    let done = r#"{"type":"done","id":1,"reason":"cancelled","leaves":60}"#;
    a2.expect(done);
    a1.expect(done);
    a1.expect_idle();
    a2.expect_idle();
    b.expect_idle();
}

#[test]
fn the_increasing_id_rule_is_per_account_over_sessions_and_reconnections() {
    let server = Server::start_with_config(KEYS);
    let mut a1 = login(&server, "alice", "k-a");
    let mut a2 = login(&server, "alice", "k-a");
    let mut b = login(&server, "bob", "k-b");
    a1.send(r#"{"op":"limit","id":5,"symbol":"AAA","side":"buy","price":"1","qty":1}"#);
    a1.expect(r#"{"type":"ack","id":5}"#);
    a2.send(r#"{"op":"limit","id":3,"symbol":"BBB","side":"buy","price":"1","qty":1}"#);
    a2.expect(r#"{"type":"reject","id":3,"reason":"id not increasing"}"#);
    a2.send(r#"{"op":"limit","id":5,"symbol":"AAA","side":"buy","price":"1","qty":1}"#);
    a2.expect(r#"{"type":"reject","id":5,"reason":"duplicate id"}"#);
    // Two accounts may use the same id.
    b.send(r#"{"op":"limit","id":5,"symbol":"AAA","side":"buy","price":"1","qty":1}"#);
    b.expect(r#"{"type":"ack","id":5}"#);
    drop(a1);
    drop(a2);
    let mut a3 = login(&server, "alice", "k-a");
    a3.send(r#"{"op":"limit","id":4,"symbol":"CCC","side":"buy","price":"1","qty":1}"#);
    a3.expect(r#"{"type":"reject","id":4,"reason":"id not increasing"}"#);
    a3.send(r#"{"op":"limit","id":6,"symbol":"CCC","side":"buy","price":"1","qty":1}"#);
    a3.expect(r#"{"type":"ack","id":6}"#);
}

#[test]
fn an_order_that_stalls_in_the_middle_of_a_read_holds_the_rest_of_it_in_order() {
    // One write, so (most likely) one read: id 3 comes while 5 is in flight and waits for
    // it with everything behind it; 4 stalls again behind 3 and 6 once decode takes them back.
    let server = Server::start_with_config(KEYS);
    let mut a = login(&server, "alice", "k-a");
    let limit = |id: u64, symbol: &str| {
        format!(
            r#"{{"op":"limit","id":{id},"symbol":"{symbol}","side":"buy","price":"1","qty":1}}"#
        ) + "\n"
    };
    let lines = [
        limit(5, "AAA"),
        limit(3, "BBB"),
        limit(6, "CCC"),
        limit(4, "AAA"),
        limit(7, "BBB"),
        "{\"op\":\"ping\"}\n".to_string(),
    ];
    a.send_raw(lines.concat().as_bytes());
    for expected in [
        r#"{"type":"ack","id":5}"#,
        r#"{"type":"reject","id":3,"reason":"id not increasing"}"#,
        r#"{"type":"ack","id":6}"#,
        r#"{"type":"reject","id":4,"reason":"id not increasing"}"#,
        r#"{"type":"ack","id":7}"#,
        r#"{"type":"pong"}"#,
    ] {
        a.expect(expected);
    }
    a.expect_idle();
}

#[test]
fn open_mode_gives_each_connection_its_own_account_unless_it_logs_in() {
    let server = Server::start(&[]);
    let mut x = Client::connect(server.tcp);
    let mut y = Client::connect(server.tcp);
    x.send(r#"{"op":"limit","id":1,"symbol":"OPEN","side":"sell","price":"10","qty":5}"#);
    x.expect(r#"{"type":"ack","id":1}"#);
    // v1 clients still work, except that they cannot cancel each other's orders.
    y.send(r#"{"op":"cancel","id":1,"symbol":"OPEN"}"#);
    y.expect(r#"{"type":"reject","id":1,"reason":"unknown order"}"#);
    // Any valid name logs in, with any key; the key is not checked.
    let mut z1 = login(&server, "zed", "anything");
    let mut z2 = login(&server, "zed", "something else");
    z1.send(r#"{"op":"limit","id":1,"symbol":"OPEN","side":"sell","price":"11","qty":5}"#);
    z1.expect(r#"{"type":"ack","id":1}"#);
    z2.send(r#"{"op":"cancel","id":1,"symbol":"OPEN"}"#);
    z2.expect(r#"{"type":"done","id":1,"reason":"cancelled","leaves":5}"#);
    z1.expect(r#"{"type":"done","id":1,"reason":"cancelled","leaves":5}"#);
    // A login after the first processed request is refused.
    x.send(r#"{"op":"login","account":"zed","key":""}"#);
    x.expect(r#"{"type":"error","reason":"login not first"}"#);
    assert!(
        server.stderr().contains("auth mode is open"),
        "no warning about open mode: {}",
        server.stderr()
    );
}

#[test]
fn http_requests_act_for_the_account_their_basic_auth_names() {
    let server = Server::start_with_config(KEYS);
    let order = r#"{"op":"limit","id":7,"symbol":"WEB","side":"sell","price":"10","qty":3}"#;
    for headers in [&[][..], &["Authorization: Basic YWxpY2U6d3Jvbmc="][..]] {
        let r = post_with(server.http, "/orders", order, headers);
        assert_eq!(r.status, 401, "{}", r.body);
        assert_eq!(r.body, r#"{"type":"error","reason":"login failed"}"#);
    }
    let mut a = login(&server, "alice", "k-a");
    let mut b = login(&server, "bob", "k-b");
    let alice = ["Authorization: Basic YWxpY2U6ay1h"];
    let r = post_with(server.http, "/orders", order, &alice);
    assert_eq!(
        (r.status, r.body.as_str()),
        (200, r#"[{"type":"ack","id":7}]"#)
    );
    // The order is alice's: a trade reaches her TCP session.
    b.send(r#"{"op":"market","id":1,"symbol":"WEB","side":"buy","qty":1}"#);
    b.expect(r#"{"type":"ack","id":1}"#);
    a.expect_fill(
        r#"{"type":"fill","id":7,"symbol":"WEB","side":"sell","price":"10","qty":1,"leaves":2}"#,
    );
    // Her id rule spans HTTP and TCP.
    a.send(r#"{"op":"limit","id":6,"symbol":"WEB","side":"sell","price":"10","qty":1}"#);
    a.expect(r#"{"type":"reject","id":6,"reason":"id not increasing"}"#);
    // And only she may cancel it.
    let cancel = r#"{"op":"cancel","id":7,"symbol":"WEB"}"#;
    let bob = ["Authorization: Basic Ym9iOmstYg=="];
    let r = post_with(server.http, "/orders", cancel, &bob);
    assert_eq!(
        r.body,
        r#"[{"type":"reject","id":7,"reason":"unknown order"}]"#
    );
    let r = post_with(server.http, "/orders", cancel, &alice);
    let done = r#"{"type":"done","id":7,"reason":"cancelled","leaves":2}"#;
    assert_eq!(r.body, format!("[{done}]"));
    a.expect(done);
}

#[test]
fn cancel_on_disconnect_cancels_when_the_accounts_last_session_closes() {
    let server = Server::start_with_config(&format!("cancel_on_disconnect = true\n{KEYS}"));
    let mut b = login(&server, "bob", "k-b");
    let a1 = login(&server, "alice", "k-a");
    let mut a2 = login(&server, "alice", "k-a");
    a2.send(r#"{"op":"limit","id":1,"symbol":"COD","side":"sell","price":"10","qty":5}"#);
    a2.expect(r#"{"type":"ack","id":1}"#);
    drop(a2);
    // One session is still live: the order stays.
    b.send(r#"{"op":"limit","id":1,"symbol":"COD","side":"buy","price":"10","qty":1,"tif":"ioc"}"#);
    b.expect(r#"{"type":"ack","id":1}"#);
    b.expect_fill(
        r#"{"type":"fill","id":1,"symbol":"COD","side":"buy","price":"10","qty":1,"leaves":0}"#,
    );
    b.expect(r#"{"type":"done","id":1,"reason":"filled","leaves":0}"#);
    drop(a1);
    // Her last session closed: once the server has queued the cancel, a new session's
    // requests come after it, and the order is gone.
    wait_until("the disconnect cancel", || {
        server.metric("sedaflow_disconnect_cancels_total") == 1.0
    });
    let mut a3 = login(&server, "alice", "k-a");
    a3.send(r#"{"op":"cancel","id":1,"symbol":"COD"}"#);
    a3.expect(r#"{"type":"reject","id":1,"reason":"unknown order"}"#);
    b.send(r#"{"op":"limit","id":2,"symbol":"COD","side":"buy","price":"10","qty":1,"tif":"ioc"}"#);
    b.expect(r#"{"type":"ack","id":2}"#);
    b.expect(r#"{"type":"done","id":2,"reason":"expired","leaves":1}"#);
}

#[test]
fn without_cancel_on_disconnect_orders_outlive_their_sessions() {
    let server = Server::start_with_config(KEYS);
    let mut a1 = login(&server, "alice", "k-a");
    a1.send(r#"{"op":"limit","id":1,"symbol":"KEEP","side":"sell","price":"10","qty":5}"#);
    a1.expect(r#"{"type":"ack","id":1}"#);
    drop(a1);
    let mut a2 = login(&server, "alice", "k-a");
    a2.send(r#"{"op":"cancel","id":1,"symbol":"KEEP"}"#);
    a2.expect(r#"{"type":"done","id":1,"reason":"cancelled","leaves":5}"#);
}
