//! Eight connections pipelining ten thousand orders each, each on symbols of its own: every
//! request is answered exactly once, nothing is lost, and each client's fills and dones are
//! those of a reference book fed with its orders in order.

mod support;

use std::thread;

use support::{pipeline, symbols, Checker, Client, Flow, Req, Server};

const CLIENTS: usize = 8;
const ORDERS: usize = 10_000;

#[test]
fn eight_clients_ten_thousand_orders_each_match_the_model() {
    let server = Server::start(&[]);
    let readers: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let mut client = Client::connect(server.tcp);
            let mut flow = Flow::new(0x10ad + c as u64, symbols(&format!("L{c}S"), 4), 1);
            let mut reqs = flow.orders(ORDERS);
            // The final pong proves every earlier response has been written.
            reqs.push(Req::Ping);
            let writer = pipeline(client.writer(), reqs.clone());
            thread::spawn(move || {
                let mut checker = Checker::new();
                checker.check(&mut client, &reqs);
                writer
                    .join()
                    .expect("writer thread")
                    .expect("writing the requests");
                let stats = checker.finish();
                client.expect_idle();
                (reqs, stats)
            })
        })
        .collect();

    for (c, reader) in readers.into_iter().enumerate() {
        let (reqs, stats) = reader
            .join()
            .unwrap_or_else(|_| panic!("client {c}: see its panic above"));
        let with_id = reqs.iter().filter(|r| r.id().is_some()).count();
        let orders = reqs.iter().filter(|r| r.is_order()).count();
        assert_eq!(orders, ORDERS);
        assert_eq!(stats.requests, with_id, "client {c}: {stats:?}");
        assert_eq!(
            stats.answered, with_id,
            "client {c}: every order and cancel is answered exactly once: {stats:?}"
        );
        assert!(
            stats.fills > 0,
            "client {c}: the flow should trade: {stats:?}"
        );
        eprintln!("client {c}: {stats:?}");
    }
}
