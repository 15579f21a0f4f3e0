//! The matching state of one partition, as pure logic: the engine plus the table that maps
//! the deployment's anonymous connections to the engine's owners. Applying the same log
//! entries in the same order gives the same responses, which is what fail-over replays rely
//! on.
//!
//! # Owners and where their reports go
//! A named account's owner is the one in its log entries (the same in every process); its
//! sessions may be on any ingress, so whatever the entry caused for it goes to every ingress
//! ([`Dest::All`]), the requester's reply included: one subject carries all of a session's
//! output, in matching order. An anonymous account is one connection, numbered here in order
//! of first appearance; its reports go to that connection's ingress only.
//!
//! # Book changes
//! Each entry's [`BookDelta`]s are numbered by the books themselves, so a replay numbers them
//! as the first run did: market data's sequence continues across a take-over.
//!
//! # Sessions
//! Session events count each named account's live sessions over every ingress
//! ([`Sessions`]); when the last one closes, the account's orders on this partition's books
//! are cancelled as one process cancels on disconnect. An anonymous account's close (owner
//! 0) cancels its connection's orders at once. Nobody is told: the account has no
//! session left. Entries of a fenced ingress change nothing and are answered by nobody.

use std::collections::HashMap;

use super::sessions::Sessions;
use super::wire::{ConnRef, LogEntry, LogRecord, ReplyPart, ResponseBatch, WireNotice};
use super::Partition;
use crate::accounts::is_named;
use crate::matching::{BookDelta, Engine, Owner, Report, ReportKind, To};

/// Where a response batch goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dest {
    /// The ingress with this id.
    Ingress(u64),
    /// Every ingress.
    All,
}

/// One partition's books.
#[derive(Debug)]
pub(crate) struct Shard {
    partition: Partition,
    engine: Engine,
    /// Anonymous owners, numbered below named ones (which have the top bit set).
    owners: HashMap<ConnRef, Owner>,
    conns: Vec<ConnRef>,
    sessions: Sessions,
    reports: Vec<Report>,
}

impl Shard {
    pub(crate) fn new(partition: Partition) -> Shard {
        Shard {
            partition,
            engine: Engine::new(),
            owners: HashMap::new(),
            conns: Vec::new(),
            sessions: Sessions::default(),
            reports: Vec::new(),
        }
    }

    /// Orders resting on this partition's books.
    pub(crate) fn resting(&self) -> usize {
        self.engine.resting()
    }

    /// Applies log entry `position`: an order's responses go to `out`; a session event
    /// updates the session count and may cancel an account's orders. The books' changes go
    /// to `deltas`, their trades' time left for the caller to stamp.
    pub(crate) fn apply(
        &mut self,
        position: u64,
        entry: &LogEntry,
        out: &mut Vec<(Dest, ResponseBatch)>,
        deltas: &mut Vec<BookDelta>,
    ) {
        match *entry {
            LogEntry::Order(ref rec) if !self.sessions.fenced(rec.from.ingress) => {
                self.order(position, rec, out, deltas);
            }
            LogEntry::Order(_) => {}
            LogEntry::Opened { session, owner } => self.sessions.opened(owner, session),
            // An anonymous account's only session is its connection.
            LogEntry::Closed { session, owner } if !is_named(owner) => {
                let anonymous = self.owners.get(&session).copied();
                if let (Some(owner), false) = (anonymous, self.sessions.fenced(session.ingress)) {
                    self.cancel_on_disconnect(owner, deltas);
                }
            }
            LogEntry::Closed { session, owner } => {
                if self.sessions.closed(owner, session) {
                    self.cancel_on_disconnect(owner, deltas);
                }
            }
            LogEntry::IngressGone { ingress } => {
                for owner in self.sessions.ingress_gone(ingress) {
                    self.cancel_on_disconnect(owner, deltas);
                }
            }
        }
    }

    /// Cancels `owner`'s resting orders on this partition's books, one book change per order
    /// as one process cancels on disconnect (so market data numbers them alike).
    fn cancel_on_disconnect(&mut self, owner: Owner, deltas: &mut Vec<BookDelta>) {
        self.reports.clear();
        let _ = self
            .engine
            .cancel_all_each(owner, None, &mut self.reports, deltas);
    }

    /// Matches order `position` and appends what it caused to `out`: one batch per
    /// destination concerned, the requester's first. A request on every book applies to this
    /// partition's books only; the ingress merges the partitions' answers.
    fn order(
        &mut self,
        position: u64,
        rec: &LogRecord,
        out: &mut Vec<(Dest, ResponseBatch)>,
        deltas: &mut Vec<BookDelta>,
    ) {
        // Only a named owner is taken from the log: an anonymous number there would alias
        // another connection's.
        let owner = match rec.owner.filter(|&o| is_named(o)) {
            Some(named) => named,
            None => self.anonymous(rec.from),
        };
        self.reports.clear();
        let outcome =
            self.engine
                .submit_with_deltas(owner, &rec.req, rec.floor, &mut self.reports, deltas);
        let batch = |reply| ResponseBatch {
            partition: self.partition,
            position,
            reply,
            notices: Vec::new(),
        };
        let first = out.len();
        let requester = self.dest(owner);
        out.push((
            requester,
            batch(Some(ReplyPart {
                from: rec.from,
                seq: rec.seq,
                accepted: outcome.is_accepted(),
                kinds: Vec::new(),
            })),
        ));
        for r in &self.reports {
            let notice = match r.to {
                To::Owner(to) if to != owner => self.notice(to, r.kind),
                to => {
                    if let Some(reply) = &mut out[first].1.reply {
                        reply.kinds.push(r.kind);
                    }
                    // A report of a named account's resting order: its other sessions get a
                    // copy (an anonymous account has no other session).
                    if to == To::Sender || !is_named(owner) {
                        continue;
                    }
                    let except = Some(rec.from);
                    (
                        Dest::All,
                        WireNotice {
                            to: owner,
                            except,
                            kind: r.kind,
                        },
                    )
                }
            };
            let (dest, notice) = notice;
            let at = match out[first..].iter().position(|(d, _)| *d == dest) {
                Some(at) => first + at,
                None => {
                    out.push((dest, batch(None)));
                    out.len() - 1
                }
            };
            out[at].1.notices.push(notice);
        }
    }

    /// A report for another account's sessions.
    fn notice(&self, to: Owner, kind: ReportKind) -> (Dest, WireNotice) {
        if is_named(to) {
            return (
                Dest::All,
                WireNotice {
                    to,
                    except: None,
                    kind,
                },
            );
        }
        // Anonymous owners are only ever handed out by `anonymous`, so the index exists.
        let conn = self.conns[(to - 1) as usize];
        let notice = WireNotice {
            to: conn.conn,
            except: None,
            kind,
        };
        (Dest::Ingress(conn.ingress), notice)
    }

    fn dest(&self, owner: Owner) -> Dest {
        match is_named(owner) {
            true => Dest::All,
            false => Dest::Ingress(self.conns[(owner - 1) as usize].ingress),
        }
    }

    fn anonymous(&mut self, from: ConnRef) -> Owner {
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
mod tests;
