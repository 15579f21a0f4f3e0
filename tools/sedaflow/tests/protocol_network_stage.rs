//! The network as the order pipeline's first and last stages (`net_read`, `net_write`), and
//! the event loops under them moving with load.
//!
//! - Exact counts: a known number of requests (some refused at the read) and the bytes the
//!   client received show up in `sedaflow_stage_*` for both stages, balanced.
//! - The loops: idle, the server runs `min_loops`; a flood from many connections starts more
//!   (sessions move to them); idle again, it retires them (sessions move back) and returns to
//!   `min_loops`. Every connection stays open and gets every answer, in order, throughout;
//!   WebSocket subscribers, whose upgrades came in over both loops, keep no loop from
//!   retiring and stay served.
//!
//! No timing is asserted: every wait is a bounded hang guard.

mod support;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;

use support::{wait_until, Client, Req, Server, WsClient};

fn stage(server: &Server, name: &str, stage: &str) -> Option<f64> {
    let label = format!(r#"stage="{stage}""#);
    server.series(name, &[&label])
}

#[test]
fn the_network_stages_count_requests_and_bytes_exactly() {
    const ORDERS: u64 = 300;
    const TOO_LONG: u64 = 3;
    // Admission control off: on a busy machine it may refuse some orders as overloaded, and
    // this test counts exactly.
    let server =
        Server::start_with_config("[limits]\nmax_frame = 256\n[admission]\nenabled = false\n");
    for s in ["net_read", "net_write"] {
        let info = stage(&server, "sedaflow_stage_info", s);
        assert_eq!(info, Some(1.0), "{s} declared in sedaflow_stage_info");
    }
    let position = |s: &str| {
        let label = format!(r#"stage="{s}""#);
        let body = support::get(server.metrics, "/metrics").body;
        body.lines()
            .find(|l| l.starts_with("sedaflow_stage_info") && l.contains(&label))
            .and_then(|l| {
                l.split("position=\"")
                    .nth(1)?
                    .split('"')
                    .next()?
                    .parse::<u32>()
                    .ok()
            })
    };
    assert_eq!(position("net_read"), Some(0), "net_read comes first");
    let last = ["decode", "match", "market", "encode"]
        .iter()
        .filter_map(|s| position(s))
        .max();
    assert!(
        position("net_write") > last,
        "net_write comes last: {:?} after {last:?}",
        position("net_write")
    );

    let mut client = Client::connect(server.tcp);
    let mut received = 0u64;
    for id in 1..=ORDERS {
        client.send(&Req::resting_bid(id, "NET").to_line());
    }
    for _ in 0..TOO_LONG {
        client.send(&format!(r#"{{"op":"ping","pad":"{}"}}"#, "x".repeat(400)));
    }
    for _ in 0..ORDERS + TOO_LONG {
        received += client.recv_line().len() as u64 + 1;
    }
    let requests = (ORDERS + TOO_LONG) as f64;
    let count = |name: &str, s: &str| stage(&server, name, s).unwrap_or(-1.0);
    // A read is counted handed on once its publish returns, which may be after its answers
    // went out (the stages run on the reader's thread).
    wait_until(
        "net_read counted every request, handed on or refused",
        || {
            let done = count("sedaflow_stage_events_processed_total", "net_read")
                + count("sedaflow_stage_events_rejected_total", "net_read");
            count("sedaflow_stage_events_enqueued_total", "net_read") == requests
                && done == requests
        },
    );
    assert_eq!(
        count("sedaflow_stage_events_processed_total", "net_read"),
        ORDERS as f64
    );
    assert_eq!(
        count("sedaflow_stage_events_rejected_total", "net_read"),
        TOO_LONG as f64
    );
    assert_eq!(count("sedaflow_stage_queue_depth", "net_read"), 0.0);
    wait_until("net_write counted every byte written", || {
        count("sedaflow_stage_events_processed_total", "net_write") == received as f64
    });
    assert_eq!(
        count("sedaflow_stage_events_enqueued_total", "net_write"),
        received as f64
    );
    assert_eq!(count("sedaflow_stage_queue_depth", "net_write"), 0.0);
    assert!(count("sedaflow_stage_queue_capacity", "net_write") > 0.0);
    assert_eq!(count("sedaflow_stage_threads", "net_read"), 1.0);
}

/// Reads the answer to order `id`: its ack, or (admission control under the flood) its
/// `overloaded` reject.
fn answered(client: &mut Client, id: u64) {
    let answer = client.recv();
    let kind = answer["type"].as_str().unwrap_or_default();
    let ok = kind == "ack" || (kind == "reject" && answer["reason"] == "overloaded");
    assert!(
        ok && answer["id"] == id,
        "the answer to order {id}, in order: got {answer}"
    );
}

/// One flooding connection: a writer thread sends resting bids with increasing ids, 256 a
/// round, until told to stop; the reader checks that each answer names the next id. Returns the
/// connection and how many it sent (all answered).
fn flood(server: &Server, n: usize, stop: &Arc<AtomicBool>) -> thread::JoinHandle<(Client, u64)> {
    let mut client = Client::connect(server.tcp);
    let stop = stop.clone();
    thread::spawn(move || {
        let mut writer = client.writer();
        let symbol = format!("L{n}");
        let sent = AtomicU64::new(0);
        thread::scope(|s| {
            let sending = s.spawn(|| {
                let mut id = 0;
                while !stop.load(Ordering::Relaxed) {
                    let round: String = (id + 1..=id + 256)
                        .map(|i| Req::resting_bid(i, &symbol).to_line() + "\n")
                        .collect();
                    writer
                        .send_raw(round.as_bytes())
                        .and_then(|()| writer.flush())
                        .expect("the server reads");
                    id += 256;
                    sent.store(id, Ordering::Release);
                }
            });
            let mut read = 0;
            loop {
                let done = sending.is_finished();
                let upto = sent.load(Ordering::Acquire);
                while read < upto {
                    read += 1;
                    answered(&mut client, read);
                }
                if done {
                    break;
                }
                thread::yield_now();
            }
        });
        (client, sent.into_inner())
    })
}

#[test]
fn event_loops_grow_under_a_flood_and_return_to_the_minimum_when_idle() {
    let server = Server::start_with_config(
        "[network]\nmin_loops = 1\nmax_loops = 2\nidle_timeout = \"300ms\"\n",
    );
    let active = || server.series("sedaflow_net_loops", &[r#"state="active""#]);
    assert_eq!(active(), Some(1.0), "idle: the minimum");
    assert_eq!(server.metric("sedaflow_net_loops_started_total"), 1.0);
    assert_eq!(
        stage(&server, "sedaflow_stage_threads_max", "net_read"),
        Some(2.0)
    );

    let stop = Arc::new(AtomicBool::new(false));
    let floods: Vec<_> = (0..12).map(|n| flood(&server, n, &stop)).collect();
    wait_until("a flood from 12 connections starts a second loop", || {
        server.metric("sedaflow_net_loops_started_total") >= 2.0
    });
    wait_until("sessions moved to the new loop", || {
        server.metric("sedaflow_net_sessions_moved_total") >= 1.0
    });
    // HTTP connections go to the least busy loop (by sessions, and connections pinned to it):
    // more of them than the 12 sessions can tip the balance, so some of these upgrades come in
    // over the loop that retires later.
    let mut subscribers: Vec<WsClient> = (0..24)
        .map(|_| {
            let mut ws = WsClient::connect(server.http);
            ws.subscribe("trades", "WS");
            ws
        })
        .collect();
    stop.store(true, Ordering::Relaxed);
    let mut clients: Vec<(Client, u64)> = floods
        .into_iter()
        .map(|f| f.join().expect("every ack came, in order"))
        .collect();

    let loops = || {
        let threads = server.series("sedaflow_net_loops", &[r#"state="threads""#]);
        let moved = server.metric("sedaflow_net_sessions_moved_total");
        let backlogged = server.metric("sedaflow_net_read_backlogged_connections");
        let depth = stage(&server, "sedaflow_stage_queue_depth", "net_read");
        format!(
            "active {:?} threads {threads:?} moved {moved} backlogged {backlogged} held {depth:?}",
            active()
        )
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !(active() == Some(1.0)
        && server.series("sedaflow_net_loops", &[r#"state="threads""#]) == Some(1.0))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "not back to one loop: {}",
            loops()
        );
        thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(server.metric("sedaflow_net_loops_retired_total") >= 1.0);
    for ws in &mut subscribers {
        ws.subscribe("bbo", "WS");
        assert_eq!(ws.json()["type"], "bbo", "still served");
    }
    let connections = server.metric("sedaflow_server_connections");
    assert_eq!(connections, 12.0, "no connection was lost");
    // Each connection still answers, after every move, in order.
    for (n, (client, sent)) in clients.iter_mut().enumerate() {
        client.send(&Req::resting_bid(*sent + 1, &format!("L{n}")).to_line());
        client.expect(&format!(r#"{{"type":"ack","id":{}}}"#, *sent + 1));
    }
    let total: u64 = clients.iter().map(|(_, sent)| sent + 1).sum();
    let count = |name: &str| stage(&server, name, "net_read").unwrap_or(-1.0);
    wait_until(
        "net_read counted every request, each handed on or refused",
        || {
            let done = count("sedaflow_stage_events_processed_total")
                + count("sedaflow_stage_events_rejected_total");
            count("sedaflow_stage_events_enqueued_total") == total as f64 && done == total as f64
        },
    );
}

#[test]
fn http_order_bodies_count_as_requests_read_by_the_network() {
    const ORDERS: u64 = 20;
    let server =
        Server::start_with_config("[limits]\nmax_frame = 256\n[admission]\nenabled = false\n");
    for id in 1..=ORDERS {
        let body = Req::resting_bid(id, "HTTPN").to_line();
        let r = support::post(server.http, "/orders", &body);
        assert_eq!(r.status, 200, "{r:?}");
    }
    // A body over the frame limit is refused at the read.
    let long = format!(r#"{{"op":"ping","pad":"{}"}}"#, "x".repeat(300));
    assert_eq!(support::post(server.http, "/orders", &long).status, 400);
    let count = |name: &str| stage(&server, name, "net_read").unwrap_or(-1.0);
    assert_eq!(
        count("sedaflow_stage_events_enqueued_total"),
        (ORDERS + 1) as f64
    );
    assert_eq!(
        count("sedaflow_stage_events_processed_total"),
        ORDERS as f64
    );
    assert_eq!(count("sedaflow_stage_events_rejected_total"), 1.0);
}
