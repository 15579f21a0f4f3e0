//! Comparing what the server wrote with what the contract (or the model) expects.
//!
//! A group of responses may arrive in any order across orders, but each order's own responses
//! must keep their order (ack, fills in trade order, done). A `fill` the test cannot number in
//! advance accepts any integer `match`; [`MatchLog`] then checks that both sides of a trade
//! share it and that it increases with the symbol's trades.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::ErrorKind;

use serde_json::Value;

use super::client::Client;
use super::model::{Model, Reason, Report, Req};

/// What one expected response accepts.
#[derive(Clone, Debug)]
pub struct Pattern {
    value: Value,
    /// A `fill` whose `match` is not known in advance: any integer is accepted.
    any_match: bool,
    /// A `reject` whose reason only has to name this field.
    names_field: Option<&'static str>,
}

impl Pattern {
    /// A JSON literal; a `fill` without `match` accepts any integer `match`.
    ///
    /// # Panics
    /// If `text` is not JSON (a bug in the test).
    pub fn parse(text: &str) -> Pattern {
        let value: Value = serde_json::from_str(text)
            .unwrap_or_else(|e| panic!("bad expected JSON in the test ({e}): {text}"));
        let any_match = value["type"] == "fill" && value.get("match").is_none();
        Pattern {
            value,
            any_match,
            names_field: None,
        }
    }

    /// What the model's report accepts.
    pub fn report(report: &Report) -> Pattern {
        let names_field = match report {
            Report::Reject {
                reason: Reason::Field(field),
                ..
            } => Some(*field),
            _ => None,
        };
        Pattern {
            value: report.to_value(0),
            any_match: matches!(report, Report::Fill { .. }),
            names_field,
        }
    }

    /// Whether `got` is an acceptable response for this pattern.
    pub fn fits(&self, got: &Value) -> bool {
        let Some(obj) = got.as_object() else {
            return false;
        };
        if let Some(field) = self.names_field {
            return obj.len() == 3
                && obj.get("type") == self.value.get("type")
                && obj.get("id") == self.value.get("id")
                && obj
                    .get("reason")
                    .and_then(Value::as_str)
                    .is_some_and(|r| r.contains(field));
        }
        if self.any_match {
            let Some(matched) = obj.get("match").filter(|m| m.is_u64()) else {
                return false;
            };
            let mut want = self.value.clone();
            want["match"] = matched.clone();
            return want == *got;
        }
        self.value == *got
    }

    fn describe(&self) -> String {
        let mut text = self.value.to_string();
        if self.any_match {
            text.push_str("  (any match)");
        }
        if let Some(field) = self.names_field {
            text = format!(
                "{{\"type\":\"reject\",\"id\":{},\"reason\":<names {field:?}>}}",
                self.value["id"]
            );
        }
        text
    }
}

/// Pairs each received response with the expected one it fits; returns, per received
/// response, the index of its expected one. Each order's (same `id`) responses must arrive in
/// the expected order.
///
/// # Errors
/// A readable account of the mismatch.
pub fn assign(expected: &[Pattern], got: &[Value]) -> Result<Vec<usize>, String> {
    let account = |problem: String| {
        let want: Vec<String> = expected
            .iter()
            .map(|p| format!("    {}", p.describe()))
            .collect();
        let have: Vec<String> = got.iter().map(|g| format!("    {g}")).collect();
        format!(
            "{problem}\n  expected (any order across orders):\n{}\n  got:\n{}",
            want.join("\n"),
            have.join("\n")
        )
    };
    if expected.len() != got.len() {
        return Err(account(format!(
            "expected {} responses, got {}",
            expected.len(),
            got.len()
        )));
    }
    let mut used = vec![false; expected.len()];
    let mut pairs = Vec::with_capacity(got.len());
    for g in got {
        let Some(at) = (0..expected.len()).find(|&j| !used[j] && expected[j].fits(g)) else {
            return Err(account(format!("unexpected response {g}")));
        };
        used[at] = true;
        pairs.push(at);
    }
    let mut last: HashMap<u64, usize> = HashMap::new();
    for (g, &at) in got.iter().zip(&pairs) {
        let Some(id) = g.get("id").and_then(Value::as_u64) else {
            continue;
        };
        if last.get(&id).is_some_and(|&before| before > at) {
            return Err(account(format!(
                "responses of order {id} out of order at {g}"
            )));
        }
        last.insert(id, at);
    }
    Ok(pairs)
}

/// The `match` the server gave each of a symbol's trades (numbered by the test).
#[derive(Default)]
pub struct MatchLog {
    symbols: HashMap<String, BTreeMap<u64, u64>>,
}

impl MatchLog {
    /// Records that the test's trade `trade` on `symbol` was reported with `matched`.
    ///
    /// # Errors
    /// If the other side of the trade was reported with another `match`.
    pub fn record(&mut self, symbol: &str, trade: u64, matched: u64) -> Result<(), String> {
        let trades = self.symbols.entry(symbol.to_owned()).or_default();
        match trades.insert(trade, matched) {
            Some(before) if before != matched => Err(format!(
                "{symbol} trade #{trade}: the two sides carry different match ids ({before} and {matched})"
            )),
            _ => Ok(()),
        }
    }

    /// Checks that `match` strictly increases with the trades of each symbol.
    ///
    /// # Errors
    /// The first symbol where it does not.
    pub fn verify(&self) -> Result<(), String> {
        for (symbol, trades) in &self.symbols {
            let mut before: Option<(u64, u64)> = None;
            for (&trade, &matched) in trades {
                if let Some((t, m)) = before {
                    if matched <= m {
                        return Err(format!(
                            "{symbol}: match ids do not increase: trade #{t} has {m}, trade #{trade} has {matched}"
                        ));
                    }
                }
                before = Some((trade, matched));
            }
        }
        Ok(())
    }
}

/// Counts over a checked stream.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stats {
    /// Requests with an `id` (orders, cancels and amends) sent.
    pub requests: usize,
    /// Of those, how many got their one `ack`/`reject` (orders), `done`/`reject` (cancels) or
    /// `amended`/`reject` (amends).
    pub answered: usize,
    pub acks: usize,
    pub rejects: usize,
    pub overloaded: usize,
    pub fills: usize,
    pub dones: usize,
    pub pongs: usize,
}

/// Checks one connection's responses, request by request, against the model. The connection
/// must be the only one trading its symbols, so every response is caused by its own requests
/// and the contract fixes which responses belong to which request. A `reject`/`overloaded`
/// is accepted for any order or cancel (admission control); the model then skips it.
#[derive(Default)]
pub struct Checker {
    model: Model,
    matches: MatchLog,
    stats: Stats,
    seen: usize,
}

impl Checker {
    pub fn new() -> Checker {
        Checker::default()
    }

    /// Reads the responses to `reqs`, which were sent on one connection in this order, and
    /// checks that all responses caused by one request come before any caused by the next.
    ///
    /// # Panics
    /// On the first response that breaks the contract (or is missing), naming the request.
    pub fn check(&mut self, from: &mut impl Responses, reqs: &[Req]) {
        for req in reqs {
            let n = self.seen;
            self.seen += 1;
            let so_far = self.stats;
            let mut next = || {
                from.next_response().unwrap_or_else(|e| {
                    panic!("request #{n} {}: {e}; so far: {so_far:?}", req.to_line())
                })
            };
            let first = next();
            if req.id().is_some() {
                self.stats.requests += 1;
                if is_overloaded(&first, req) {
                    self.stats.overloaded += 1;
                    self.stats.rejects += 1;
                    self.stats.answered += 1;
                    continue;
                }
            }
            let reports = self.model.apply(0, req);
            assert!(
                reports.iter().all(|(owner, _)| *owner == 0),
                "test bug: a checked stream must be the only client on its symbols"
            );
            let expected: Vec<Pattern> = reports.iter().map(|(_, r)| Pattern::report(r)).collect();
            let mut got = vec![first];
            got.extend((1..expected.len()).map(|_| next()));
            let pairs = assign(&expected, &got).unwrap_or_else(|e| {
                panic!("request #{n} {} : responses wrong\n{e}", req.to_line())
            });
            // A listing or a `cancel_all` answers in one fixed order: ascending by id, total last.
            let listed = matches!(req, Req::Orders { .. } | Req::CancelAll { .. });
            assert!(
                !listed || pairs.iter().enumerate().all(|(i, &at)| i == at),
                "request #{n} {}: answered out of order: {got:?}",
                req.to_line()
            );
            for (g, &at) in got.iter().zip(&pairs) {
                if let (_, Report::Fill { symbol, trade, .. }) = &reports[at] {
                    let matched = g["match"].as_u64().unwrap_or_default();
                    if let Err(e) = self.matches.record(symbol, *trade, matched) {
                        panic!("request #{n} {}: {e}", req.to_line());
                    }
                }
            }
            self.count(req, &got);
        }
    }

    /// As [`Checker::check`], for a stream that may end early: what arrived must be the
    /// complete responses of the first requests. Returns how many requests were answered.
    ///
    /// # Panics
    /// As [`Checker::check`], and if the stream ends inside a request's responses.
    pub fn check_prefix(&mut self, from: &mut Recorded, reqs: &[Req]) -> usize {
        for (n, req) in reqs.iter().enumerate() {
            if from.remaining() == 0 {
                return n;
            }
            self.check(from, std::slice::from_ref(req));
        }
        reqs.len()
    }

    fn count(&mut self, req: &Req, got: &[Value]) {
        for g in got {
            let kind = g["type"].as_str().unwrap_or_default();
            match kind {
                "ack" => self.stats.acks += 1,
                "reject" => self.stats.rejects += 1,
                "fill" => self.stats.fills += 1,
                "done" => self.stats.dones += 1,
                "pong" => self.stats.pongs += 1,
                _ => {}
            }
            let answers = match req {
                Req::Limit { .. } | Req::Market { .. } => matches!(kind, "ack" | "reject"),
                Req::Cancel { .. } => kind == "reject" || g["reason"] == "cancelled",
                Req::Amend { .. } => matches!(kind, "amended" | "reject"),
                Req::Orders { .. } | Req::CancelAll { .. } | Req::Ping => false,
            };
            if answers && g["id"].as_u64() == req.id() {
                self.stats.answered += 1;
            }
        }
    }

    /// The reference books as the checked requests left them.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Checks the `match` ids of every trade seen and returns the counts.
    ///
    /// # Panics
    /// If a symbol's match ids do not increase with its trades.
    pub fn finish(self) -> Stats {
        if let Err(e) = self.matches.verify() {
            panic!("{e}");
        }
        self.stats
    }
}

/// Where a [`Checker`] reads responses from.
pub trait Responses {
    /// The next response.
    ///
    /// # Errors
    /// How the stream ended, if it has.
    fn next_response(&mut self) -> Result<Value, String>;
}

impl Responses for Client {
    fn next_response(&mut self) -> Result<Value, String> {
        Ok(self.recv())
    }
}

/// A connection's responses read up front, up to the end of the stream.
pub struct Recorded {
    items: VecDeque<Value>,
    read: usize,
    end: Result<(), String>,
}

impl Recorded {
    /// Reads `client` until the server closes it (or resets it).
    ///
    /// # Panics
    /// If a line is not JSON, or nothing arrives within the read guard.
    pub fn read_to_end(client: &mut Client) -> Recorded {
        let mut items = VecDeque::new();
        let end = loop {
            match client.try_recv_line() {
                Ok(Some(line)) => items.push_back(
                    serde_json::from_str(&line)
                        .unwrap_or_else(|e| panic!("response is not JSON ({e}): {line:?}")),
                ),
                Ok(None) => break Ok(()),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    panic!("the connection neither answered nor closed (hang guard): {e}")
                }
                Err(e) => break Err(e.to_string()),
            }
        };
        Recorded {
            read: 0,
            items,
            end,
        }
    }

    /// How the stream ended: `Ok` for a clean end of stream, else the read error.
    ///
    /// # Errors
    /// The error that ended the stream.
    pub fn end(&self) -> Result<(), String> {
        self.end.clone()
    }

    /// Responses not consumed by a checker.
    pub fn remaining(&self) -> usize {
        self.items.len()
    }
}

impl Responses for Recorded {
    fn next_response(&mut self) -> Result<Value, String> {
        self.read += 1;
        self.items.pop_front().ok_or_else(|| {
            let how = match &self.end {
                Ok(()) => "end of stream".to_owned(),
                Err(e) => e.clone(),
            };
            format!(
                "the connection ended ({how}) after {} responses, where another was expected",
                self.read - 1
            )
        })
    }
}

fn is_overloaded(got: &Value, req: &Req) -> bool {
    got["type"] == "reject" && got["reason"] == "overloaded" && got["id"].as_u64() == req.id()
}
