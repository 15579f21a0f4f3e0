//! An ingress's router: reads what matchers answered and hands it to encode.
//!
//! # Subjects
//! An ingress reads two response subjects: its own (`<prefix>.responses.<ingress>`: what
//! log entries caused for its anonymous connections) and the one every ingress reads
//! (`<prefix>.responses.all`: what they caused for named accounts, whose sessions may be on
//! any ingress). A session's output is all on one of them, so it arrives in matching order;
//! the two are read by one task, so encode sees one sequence.
//!
//! Of a batch on the shared subject, an ingress takes the reply only when the request is its
//! own, and hands every notice to its sessions of the account (none, if it has none). A
//! named account's notice that reaches no session here is not counted as discarded: no one
//! ingress knows whether another one delivered it. An anonymous account's is, as in one
//! process.
//!
//! # Duplicates
//! Responses carry their (partition, log sequence); a matcher publishes a partition's in log
//! order on each subject, so anything at or below the last sequence seen from a partition on
//! a subject is a re-publication after fail-over that JetStream's duplicate window did not
//! catch (another span, or older than the window), and is dropped.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use async_nats::jetstream::Message;
use futures_util::{Stream, StreamExt};
use sedaflow::{Event, Publisher};

use super::follow::{follow, Since};
use super::ingress::{IngressLink, Pending};
use super::shard::Dest;
use super::wire::{ReplyPart, ResponseBatch, WireNotice};
use super::{ClusterError, Log};
use crate::admission::Admission;
use crate::internal_events::ClusterMetrics;
use crate::matching::{Owner, RejectReason, ReportKind};

/// A matcher's answer, routed back to the connection it is for.
#[derive(Debug)]
pub(crate) enum Answer<C> {
    /// Everything request `seq` caused for its sender `to`; `accepted`: a new order was
    /// accepted. A request on every book whose part was refused here ends with `refused`.
    Reply {
        to: C,
        seq: u64,
        kinds: Vec<ReportKind>,
        accepted: bool,
        refused: Option<RejectReason>,
        read_at: Instant,
    },
    /// A report for the live sessions here of account `to` but connection `except`;
    /// `elsewhere`: other ingresses may hold sessions of it.
    Notice {
        to: Owner,
        except: Option<Owner>,
        elsewhere: bool,
        kind: ReportKind,
    },
}

/// Response messages, each with whether it came on the shared subject.
type Responses = Pin<Box<dyn Stream<Item = (bool, Message)> + Send>>;

/// Routes the responses matchers publish for this ingress to its connections.
pub(super) struct Router<C, E: Event> {
    link: Arc<IngressLink<C>>,
    encode: Publisher<E>,
    answered: fn(Answer<C>) -> E,
    /// Fed, as matching feeds it in one process, with when each answered order was read.
    admission: Arc<Admission>,
    /// Last log position routed per (shared subject?, partition).
    last: HashMap<(bool, u32), u64>,
    metrics: ClusterMetrics,
}

impl<C, E: Event> Router<C, E> {
    pub(super) fn new(
        link: Arc<IngressLink<C>>,
        encode: Publisher<E>,
        answered: fn(Answer<C>) -> E,
        admission: Arc<Admission>,
        metrics: ClusterMetrics,
    ) -> Self {
        Router {
            link,
            encode,
            answered,
            admission,
            last: HashMap::new(),
            metrics,
        }
    }

    /// Reads this ingress's subject and the shared one, from now on (before this ingress
    /// takes connections, so nothing for them is missed).
    pub(super) async fn subscribe(&self, log: &Log) -> Result<Responses, ClusterError> {
        let mut both = Vec::with_capacity(2);
        for dest in [Dest::Ingress(self.link.id), Dest::All] {
            let subject = (log.responses_stream(), log.response_subject(dest));
            // What came before is for sessions this ingress does not hold: the shared
            // subject's history must not reach sessions that log in now.
            let messages = follow(log, subject, Since::Now, "responses").await?;
            both.push(messages.map(move |m| (dest == Dest::All, m)));
        }
        let all = both.pop().expect("two subjects");
        let own = both.pop().expect("two subjects");
        Ok(Box::pin(futures_util::stream::select(own, all)))
    }

    pub(super) async fn run(mut self, mut messages: Responses) {
        while let Some((shared, message)) = messages.next().await {
            let batches = match ResponseBatch::read_all(&message.payload) {
                Ok(batches) => batches,
                Err(e) => {
                    tracing::error!(error = %e, "unreadable response message dropped");
                    continue;
                }
            };
            let mut events = Vec::new();
            let mut read_at = Vec::new();
            for batch in batches {
                self.route(shared, batch, &mut events, &mut read_at);
            }
            self.admission.matched(&read_at);
            // One offer: encode's single lane keeps these in order.
            if self.encode.publish_batch(&mut events).await.is_err() {
                tracing::debug!("encode closed: responses dropped during shutdown");
            }
        }
    }

    /// Appends what `batch` (from the `shared` subject or this ingress's) holds for this
    /// ingress's connections to `events`, and when its request was read to `read_at`.
    fn route(
        &mut self,
        shared: bool,
        batch: ResponseBatch,
        events: &mut Vec<E>,
        read_at: &mut Vec<Instant>,
    ) {
        let last = self.last.entry((shared, batch.partition)).or_default();
        if batch.position <= *last {
            self.metrics.duplicate_response();
            return;
        }
        *last = batch.position;
        if let Some(reply) = batch.reply.filter(|r| r.from.ingress == self.link.id) {
            if let Some(answer) = self.reply(reply, read_at) {
                events.push((self.answered)(answer));
            }
        }
        let here = self.link.id;
        events.extend(batch.notices.into_iter().map(|n: WireNotice| {
            (self.answered)(Answer::Notice {
                to: n.to,
                except: n.except.filter(|c| c.ingress == here).map(|c| c.conn),
                elsewhere: shared,
                kind: n.kind,
            })
        }));
    }

    /// The answer to one of this ingress's requests; `None` until every part of a request on
    /// every book has answered.
    fn reply(&self, reply: ReplyPart, read_at: &mut Vec<Instant>) -> Option<Answer<C>> {
        let key = (reply.from.conn, reply.seq);
        let mut pending = self.link.pending.lock();
        let Some(waiting) = pending.get(&key) else {
            tracing::warn!(
                conn = reply.from.conn,
                seq = reply.seq,
                "reply for no pending request"
            );
            return None;
        };
        // Each part counts for admission, as each lane's part does in one process.
        read_at.push(waiting.read_at);
        let (kinds, refused) = match &waiting.part {
            None => (reply.kinds, None),
            Some(gather) => {
                let merged = gather.add(&reply.kinds)?;
                (merged.kinds, merged.refused)
            }
        };
        let Pending { to, read_at, .. } = pending.remove(&key)?;
        Some(Answer::Reply {
            to,
            seq: reply.seq,
            kinds,
            accepted: reply.accepted,
            refused,
            read_at,
        })
    }
}
