//! Admission control under overload (issue: well-conditioned service). Behaviour only, no
//! timings: a slow matching stage behind a small admission limit makes a burst refuse some
//! orders `overloaded`, every request is answered exactly once and in order, cancels are never
//! refused, and a client flooding without reading cannot push the queues past the limit.
//! When the event loop itself is the bottleneck, connections kept waiting by each other are
//! shed at the read, again with every request answered once and in order.

mod support;

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use support::{get, pipeline, Client, Req, Server};

/// One matching thread waiting 2 ms per order (500 orders/s), behind an admission limit of
/// at most 32 queued orders steering to a 1 ms P90.
const SLOW_MATCHING: &str = r#"
[synthetic]
match_delay = "2ms"

[stages.decode]
handoff = false

[stages.match]
handoff = false
pool = { min = 1, max = 1, adaptive = false }
batch = { max = 4, initial = 1 }

[admission]
target = "1ms"
interval = "10ms"
min_limit = 4
max_limit = 32
"#;

const MAX_LIMIT: u64 = 32;

fn config_file(name: &str, text: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!(
        "sedaflow-{name}-{}-{:?}.toml",
        std::process::id(),
        thread::current().id()
    ));
    let mut f = std::fs::File::create(&path).expect("create config file");
    f.write_all(text.as_bytes()).expect("write config file");
    path
}

fn slow_server(name: &str) -> Server {
    let config = config_file(name, SLOW_MATCHING);
    let server = Server::start(&["--config", config.to_str().expect("utf-8 temp path")]);
    let _ = std::fs::remove_file(config);
    server
}

/// The value of the first sample of `name` (with its labels, if any) in a Prometheus text page.
fn metric(page: &str, name: &str) -> f64 {
    page.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            (series == name).then(|| value.parse().ok()).flatten()
        })
        .unwrap_or_else(|| panic!("no sample {name} in /metrics"))
}

fn scrape(server: &Server) -> String {
    let page = get(server.metrics, "/metrics");
    assert_eq!(page.status, 200, "metrics: {page:?}");
    page.body
}

#[test]
fn a_burst_gets_overloaded_answers_and_every_request_exactly_one_answer_in_order() {
    const CLIENTS: usize = 4;
    const ORDERS: u64 = 500;
    let server = slow_server("burst");
    let mut clients: Vec<Client> = (0..CLIENTS).map(|_| Client::connect(server.tcp)).collect();
    // Every client writes its whole burst at once: 500 resting orders on its own symbol, with
    // a cancel of an unknown order after every tenth.
    let bursts: Vec<Vec<Req>> = (0..CLIENTS)
        .map(|c| {
            let symbol = format!("BURST{c}");
            let mut reqs = Vec::new();
            for id in 1..=ORDERS {
                reqs.push(Req::resting_bid(id, &symbol));
                if id % 10 == 0 {
                    reqs.push(Req::Cancel {
                        id: 1_000_000 + id,
                        symbol: symbol.clone(),
                    });
                }
            }
            reqs
        })
        .collect();
    for (client, reqs) in clients.iter_mut().zip(&bursts) {
        client.send_reqs(reqs);
    }

    let (mut acks, mut overloaded) = (0u64, 0u64);
    for (client, reqs) in clients.iter_mut().zip(&bursts) {
        for req in reqs {
            let answer = client.recv();
            let kind = answer["type"].as_str().unwrap_or_default();
            match req {
                Req::Limit { id, .. } => {
                    assert_eq!(answer["id"], *id, "answers in request order: {answer}");
                    match (kind, answer["reason"].as_str()) {
                        ("ack", None) => acks += 1,
                        ("reject", Some("overloaded")) => overloaded += 1,
                        _ => panic!("order {id}: ack or reject/overloaded expected, got {answer}"),
                    }
                }
                Req::Cancel { id, .. } => {
                    assert_eq!(answer["id"], *id, "answers in request order: {answer}");
                    assert_eq!(
                        answer["reason"], "unknown order",
                        "a cancel is admitted ahead of new orders, never refused: {answer}"
                    );
                }
                _ => unreachable!("the burst has limits and cancels only"),
            }
        }
        // Exactly one answer each: nothing more comes.
        client.expect_idle();
    }
    let total = CLIENTS as u64 * ORDERS;
    assert_eq!(acks + overloaded, total);
    assert!(
        overloaded > 0,
        "a burst of {total} at 500/s behind a limit of {MAX_LIMIT} must refuse some"
    );
    assert!(acks > 0, "the limit admits work");

    // The server's own counts agree with what the clients saw: refused by the limit, or
    // shed at the read (a burst fills reads, and a busy machine can keep a connection's
    // reads waiting past the grace).
    let page = scrape(&server);
    let refused = |reason: &str| {
        let series = format!(r#"sedaflow_server_refused_total{{reason="{reason}"}}"#);
        metric(&page, &series) as u64
    };
    assert_eq!(refused("admission") + refused("read_backlog"), overloaded);
    // Admitted: the acked orders, every cancel, and each client's closing ping.
    let cancels = CLIENTS as u64 * ORDERS / 10;
    assert_eq!(
        metric(&page, "sedaflow_admission_admitted_total") as u64,
        acks + cancels + CLIENTS as u64
    );
    assert!(metric(&page, "sedaflow_admission_limit") <= MAX_LIMIT as f64);
}

#[test]
fn a_client_flooding_without_reading_cannot_grow_the_queues_past_the_limit() {
    let server = slow_server("flood");
    let hog = Client::connect(server.tcp);
    let written = Arc::new(AtomicUsize::new(0));
    let flood = {
        let mut writer = hog.writer();
        let written = Arc::clone(&written);
        thread::spawn(move || {
            for id in 1..=200_000u64 {
                if writer.send(&Req::resting_bid(id, "HOG").to_line()).is_err() {
                    return;
                }
                written.fetch_add(1, Ordering::Relaxed);
            }
            let _ = writer.flush();
        })
    };
    // Until the server stops reading the hog (its unread answers pass the watermark) or it
    // has sent everything; bounded by a hang guard, not a timing.
    let guard = Instant::now() + Duration::from_secs(30);
    let mut last = 0;
    loop {
        thread::sleep(Duration::from_millis(200));
        let now = written.load(Ordering::Relaxed);
        if now == last || flood.is_finished() {
            break;
        }
        assert!(
            Instant::now() < guard,
            "the hog kept writing for 30 s (hang guard)"
        );
        last = now;
    }

    // A well-behaved client is still answered, one request at a time.
    let mut good = Client::connect(server.tcp);
    for id in 1..=20 {
        good.send(&Req::resting_bid(id, "GOOD").to_line());
        let answer = good.recv();
        assert_eq!(answer["id"], id, "{answer}");
    }

    let page = scrape(&server);
    // The first scrape's peaks are the highest depths since start. The hog's reader admits
    // at most the limit; the good client adds at most its one request in flight.
    for stage in ["decode", "match"] {
        let peak = metric(
            &page,
            &format!(r#"sedaflow_stage_queue_depth_peak{{pipeline="orders",stage="{stage}"}}"#),
        );
        assert!(
            peak <= (MAX_LIMIT + 1) as f64,
            "{stage} queue peaked at {peak}, over the admission limit {MAX_LIMIT}"
        );
    }
    let refused = metric(
        &page,
        r#"sedaflow_server_refused_total{reason="admission"}"#,
    );
    assert!(refused > 0.0, "the flood was refused, not queued");
    assert!(
        (written.load(Ordering::Relaxed) as f64) > refused,
        "refusals answer what was read"
    );
    hog.shutdown_both();
    flood.join().expect("hog writer thread");
}

/// One event loop, which runs the stages inline; a limit that never cuts (a 10 s target),
/// so every refusal is shedding at the read, after 1 ms of waiting for other connections.
const ONE_LOOP: &str = r#"
[network]
max_loops = 1

[admission]
target = "10s"
read_grace = "1ms"
"#;

#[test]
fn connections_kept_waiting_by_each_other_are_shed_at_the_read_and_all_answered_in_order() {
    const CLIENTS: usize = 16;
    // 3,000 orders of ~90 bytes: many reads of a full 16 KiB buffer each.
    const ORDERS: u64 = 3_000;
    let config = config_file("read-shed", ONE_LOOP);
    let server = Server::start(&["--config", config.to_str().expect("utf-8 temp path")]);
    let _ = std::fs::remove_file(config);
    let mut clients: Vec<Client> = (0..CLIENTS).map(|_| Client::connect(server.tcp)).collect();
    // Every client sends its whole burst at once, from its own thread.
    let writers: Vec<_> = clients
        .iter()
        .enumerate()
        .map(|(c, client)| {
            let symbol = format!("SHED{c}");
            let reqs = (1..=ORDERS)
                .map(|id| Req::resting_bid(id, &symbol))
                .collect();
            pipeline(client.writer(), reqs)
        })
        .collect();

    let (mut acks, mut overloaded) = (0u64, 0u64);
    for client in &mut clients {
        for id in 1..=ORDERS {
            let answer = client.recv();
            assert_eq!(answer["id"], id, "answers in request order: {answer}");
            match (answer["type"].as_str(), answer["reason"].as_str()) {
                (Some("ack"), None) => acks += 1,
                (Some("reject"), Some("overloaded")) => overloaded += 1,
                _ => panic!("order {id}: ack or reject/overloaded expected, got {answer}"),
            }
        }
    }
    for writer in writers {
        writer
            .join()
            .expect("writer thread")
            .expect("the burst is written");
    }
    for client in &mut clients {
        client.expect_idle();
    }
    let total = CLIENTS as u64 * ORDERS;
    assert_eq!(acks + overloaded, total);
    assert!(
        overloaded > 0,
        "{CLIENTS} connections bursting at once on one loop keep each other waiting"
    );
    assert!(acks > 0, "shedding admits part of each read");

    // The server's counts agree with the clients': all of it was shedding at the read.
    let page = scrape(&server);
    let refused = |reason: &str| {
        metric(
            &page,
            &format!(r#"sedaflow_server_refused_total{{reason="{reason}"}}"#),
        ) as u64
    };
    assert_eq!(refused("read_backlog"), overloaded);
    assert_eq!(refused("admission"), 0);
}
