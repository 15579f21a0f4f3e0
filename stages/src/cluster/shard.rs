//! The matching state of one partition, as pure logic: the engine plus the table that maps
//! the deployment's connections to the engine's owners. Applying the same log entries in the
//! same order gives the same responses, which is what fail-over replays rely on.

use std::collections::HashMap;

use super::wire::{ConnRef, LogRecord, ReplyPart, ResponseBatch};
use super::Partition;
use crate::matching::{Engine, Owner, Report, To};

/// One partition's books.
#[derive(Debug)]
pub(crate) struct Shard {
    partition: Partition,
    engine: Engine,
    /// Owners are numbered in order of first appearance in the log: deterministic on replay.
    owners: HashMap<ConnRef, Owner>,
    conns: Vec<ConnRef>,
    reports: Vec<Report>,
}

impl Shard {
    pub(crate) fn new(partition: Partition) -> Shard {
        Shard {
            partition,
            engine: Engine::new(),
            owners: HashMap::new(),
            conns: Vec::new(),
            reports: Vec::new(),
        }
    }

    /// Orders resting on this partition's books.
    pub(crate) fn resting(&self) -> usize {
        self.engine.resting()
    }

    /// Matches log entry `position` and appends what it caused to `out`: one batch per ingress
    /// that holds a connection concerned (the requester's first), with that ingress's id.
    pub(crate) fn apply(
        &mut self,
        position: u64,
        rec: &LogRecord,
        out: &mut Vec<(u64, ResponseBatch)>,
    ) {
        let owner = self.owner(rec.from);
        self.reports.clear();
        let outcome = self
            .engine
            .submit(owner, &rec.req, rec.floor, &mut self.reports);
        let first = out.len();
        out.push((
            rec.from.ingress,
            ResponseBatch {
                partition: self.partition,
                position,
                reply: Some(ReplyPart {
                    conn: rec.from.conn,
                    seq: rec.seq,
                    accepted: outcome.is_accepted(),
                    kinds: Vec::new(),
                }),
                notices: Vec::new(),
            },
        ));
        for r in &self.reports {
            let to = match r.to {
                To::Sender => owner,
                To::Owner(to) => to,
            };
            if to == owner {
                if let Some(reply) = &mut out[first].1.reply {
                    reply.kinds.push(r.kind);
                }
                continue;
            }
            // Owners are only ever handed out by `owner`, so the index exists.
            let to = self.conns[(to - 1) as usize];
            let at = match out[first..].iter().position(|(i, _)| *i == to.ingress) {
                Some(at) => first + at,
                None => {
                    out.push((
                        to.ingress,
                        ResponseBatch {
                            partition: self.partition,
                            position,
                            reply: None,
                            notices: Vec::new(),
                        },
                    ));
                    out.len() - 1
                }
            };
            out[at].1.notices.push((to.conn, r.kind));
        }
    }

    fn owner(&mut self, from: ConnRef) -> Owner {
        if let Some(&o) = self.owners.get(&from) {
            return o;
        }
        self.conns.push(from);
        let o = self.conns.len() as Owner;
        self.owners.insert(from, o);
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::{Price, ReportKind, Request, Side, Symbol, Tif};

    fn limit(from: ConnRef, seq: u64, id: u64, side: Side, qty: u64) -> LogRecord {
        LogRecord {
            from,
            seq,
            floor: 0,
            req: Request::Limit {
                id,
                symbol: Symbol::new("ACME").unwrap(),
                side,
                price: Price::from_ticks(100_500).unwrap(),
                qty,
                tif: Tif::Gtc,
                stp: Default::default(),
            },
        }
    }

    #[test]
    fn routes_each_side_to_its_ingress_and_replays_identically() {
        let a = ConnRef {
            ingress: 10,
            conn: 1,
        };
        let b = ConnRef {
            ingress: 20,
            conn: 1,
        };
        let log = [
            limit(a, 1, 1, Side::Sell, 100),
            limit(b, 1, 2, Side::Buy, 40),
        ];
        let run = || {
            let mut shard = Shard::new(3);
            let mut out = Vec::new();
            for (i, rec) in log.iter().enumerate() {
                shard.apply(i as u64 + 1, rec, &mut out);
            }
            (out, shard.resting())
        };
        let (out, resting) = run();
        assert_eq!(resting, 1);
        // Entry 1: A's ack. Entry 2: B's ack, fill, done to ingress 20; A's fill to 10.
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].0, 10);
        assert_eq!(out[1].0, 20);
        let reply = out[1].1.reply.as_ref().unwrap();
        assert!(reply.accepted);
        assert_eq!(reply.kinds.len(), 3);
        assert_eq!(reply.kinds[0], ReportKind::Ack { id: 2 });
        assert_eq!((out[2].0, out[2].1.position), (10, 2));
        assert!(out[2].1.reply.is_none());
        assert!(matches!(
            out[2].1.notices[..],
            [(
                1,
                ReportKind::Fill {
                    id: 1,
                    leaves: 60,
                    ..
                }
            )]
        ));
        assert_eq!(run(), (out, resting));
    }
}
