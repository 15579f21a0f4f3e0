//! Several connections driven at once, each on symbols of its own, every response checked
//! against the reference model and recorded, for comparing two servers fed the same flows.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;

use serde_json::Value;

use super::check::{Checker, Responses};
use super::client::{pipeline, Client};
use super::flow::{symbols, Flow};
use super::model::Req;

/// One connection: its checker (whose model holds the reference books of its symbols) and
/// every response it received.
pub struct Session {
    pub client: Client,
    pub checker: Checker,
    pub seen: Vec<Value>,
    /// Index of this connection (its seed and symbol prefix).
    pub index: usize,
}

impl Session {
    /// `n` connections to `tcp`: the even ones logged in as accounts `acct<index>` (in `open`
    /// mode), the odd ones anonymous accounts.
    pub fn open(tcp: SocketAddr, n: usize) -> Vec<Session> {
        (0..n)
            .map(|index| Session {
                client: if index % 2 == 0 {
                    Client::login(tcp, &format!("acct{index}"), "any")
                } else {
                    Client::connect(tcp)
                },
                checker: Checker::new(),
                seen: Vec::new(),
                index,
            })
            .collect()
    }

    /// The flow of connection `index`: `orders` orders over `symbols` symbols of its own, with
    /// amends, `orders` and `cancel_all` in the mix, then a ping (its pong proves every earlier
    /// response was written).
    pub fn orders(index: usize, orders: usize, symbol_count: usize) -> Vec<Req> {
        let mut flow = Flow::new(
            0xc105 + index as u64,
            symbols(&format!("C{index}S"), symbol_count),
            1,
        )
        .managed();
        let mut reqs = flow.orders(orders);
        reqs.push(Req::Ping);
        reqs
    }

    /// `orders` (the reference's resting orders with their prices and `leaves`, amends
    /// included), a cancel for each of them (each must answer `done`/`cancelled` with the
    /// reference's `leaves`), `orders` again (none left), then a ping.
    pub fn sweep(&self) -> Vec<Req> {
        let mut reqs = vec![Req::Orders { symbol: None }];
        reqs.extend(
            self.checker
                .model()
                .all_resting()
                .into_iter()
                .map(|(symbol, id)| Req::Cancel { id, symbol }),
        );
        reqs.push(Req::Orders { symbol: None });
        reqs.push(Req::Ping);
        reqs
    }

    /// The responses grouped by the order id they name (`pong`s and `error`s under 0), each
    /// group sorted: equal for two servers when every order got the same responses.
    pub fn by_order(&self) -> BTreeMap<u64, Vec<String>> {
        let mut groups: BTreeMap<u64, Vec<String>> = BTreeMap::new();
        for v in &self.seen {
            let id = v["id"].as_u64().unwrap_or(0);
            groups.entry(id).or_default().push(v.to_string());
        }
        for g in groups.values_mut() {
            g.sort();
        }
        groups
    }

    /// Fills received more than once (same order id and match id).
    pub fn doubled_fills(&self) -> Vec<String> {
        let mut seen = BTreeMap::new();
        for v in self.seen.iter().filter(|v| v["type"] == "fill") {
            *seen
                .entry((
                    v["symbol"].to_string(),
                    v["id"].as_u64(),
                    v["match"].as_u64(),
                ))
                .or_insert(0) += 1;
        }
        seen.into_iter()
            .filter(|(_, n)| *n > 1)
            .map(|(k, n)| format!("{k:?} x{n}"))
            .collect()
    }
}

/// Sends each session the requests `reqs` gives it (pipelined, from a writer thread) and
/// checks every response against its model, counting responses in `progress`. Returns the
/// sessions once every one is done.
///
/// # Panics
/// On the first response that breaks the contract, naming the connection.
pub fn drive(
    sessions: Vec<Session>,
    reqs: impl Fn(&Session) -> Vec<Req>,
    progress: &Arc<AtomicUsize>,
) -> Vec<Session> {
    let running: Vec<_> = sessions
        .into_iter()
        .map(|mut s| {
            let reqs = reqs(&s);
            let progress = progress.clone();
            let writer = pipeline(s.client.writer(), reqs.clone());
            thread::spawn(move || {
                let mut tap = Tap {
                    client: &mut s.client,
                    seen: &mut s.seen,
                    progress: &progress,
                };
                s.checker.check(&mut tap, &reqs);
                writer
                    .join()
                    .expect("writer thread")
                    .expect("writing the requests");
                s
            })
        })
        .collect();
    running
        .into_iter()
        .enumerate()
        .map(|(i, t)| {
            t.join()
                .unwrap_or_else(|_| panic!("connection {i}: see its panic above"))
        })
        .collect()
}

/// [`drive`], with `meanwhile` run once the connections have received `at` responses between
/// them, the load still running (a matcher killed, NATS stopped).
///
/// # Panics
/// If the load ends before `at` responses (nothing would be tested), and as [`drive`].
pub fn drive_interrupted(
    sessions: Vec<Session>,
    reqs: impl Fn(&Session) -> Vec<Req> + Send,
    at: usize,
    meanwhile: impl FnOnce(),
) -> Vec<Session> {
    let progress = Arc::new(AtomicUsize::new(0));
    thread::scope(|scope| {
        let progress = &progress;
        let load = scope.spawn(move || drive(sessions, reqs, progress));
        while progress.load(Ordering::Relaxed) < at && !load.is_finished() {
            thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(
            !load.is_finished(),
            "the load ended before its interruption: nothing was tested"
        );
        meanwhile();
        load.join().expect("the load: see its panic above")
    })
}

/// Asserts that every connection of `got` received, order by order, the same responses as the
/// same connection of `reference` (as multisets per order id), and no fill twice.
///
/// # Panics
/// Naming the first connection and order that differ.
pub fn assert_same_responses(reference: &[Session], got: &[Session]) {
    assert_eq!(reference.len(), got.len());
    for (r, g) in reference.iter().zip(got) {
        let doubled = g.doubled_fills();
        assert!(
            doubled.is_empty(),
            "connection {}: fills delivered twice: {doubled:?}",
            g.index
        );
        let (want, have) = (r.by_order(), g.by_order());
        for (id, responses) in &want {
            assert_eq!(
                have.get(id),
                Some(responses),
                "connection {}: order {id} got other responses than the single process gave",
                g.index
            );
        }
        assert_eq!(
            want.len(),
            have.len(),
            "connection {}: responses for orders never sent",
            g.index
        );
    }
}

/// How many responses of each `type` the sessions received.
pub fn tally(sessions: &[Session]) -> BTreeMap<String, usize> {
    let mut kinds = BTreeMap::new();
    for v in sessions.iter().flat_map(|s| &s.seen) {
        *kinds
            .entry(v["type"].as_str().unwrap_or("?").to_owned())
            .or_insert(0) += 1;
    }
    kinds
}

/// Records what a checker reads.
struct Tap<'a> {
    client: &'a mut Client,
    seen: &'a mut Vec<Value>,
    progress: &'a AtomicUsize,
}

impl Responses for Tap<'_> {
    /// A failure comes back as an error, so the checker names the request left unanswered.
    fn next_response(&mut self) -> Result<Value, String> {
        let v = self.client.try_recv()?;
        self.seen.push(v.clone());
        self.progress.fetch_add(1, Ordering::Relaxed);
        Ok(v)
    }
}
