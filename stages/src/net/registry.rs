//! Live connections by id, so reports for a resting order's owner reach its writer; the
//! encode stage's view of them ([`Clients`]).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::RwLock;
use rustc_hash::FxHashMap;

use sedaflow::Context;

use super::conn::Conn;
use super::output;
use crate::codec::Response;
use crate::matching::ReportKind;
use crate::pipeline::{Clients, ConnId};

/// Connections by id. Lookups take a read lock once per notification batch. The ids are the
/// server's own, so a fast non-keyed hash is safe.
#[derive(Default)]
pub(crate) struct Registry {
    conns: RwLock<FxHashMap<ConnId, Arc<Conn>>>,
    next: AtomicU64,
    open: AtomicUsize,
}

impl Registry {
    /// A registry whose connection ids start above `base` (ids a journal already names).
    pub(crate) fn numbering_after(base: ConnId) -> Registry {
        Registry {
            next: AtomicU64::new(base),
            ..Registry::default()
        }
    }

    pub(crate) fn next_id(&self) -> ConnId {
        self.next.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Claims one of `max` TCP connection slots; the connection is then [`Registry::insert`]ed
    /// and, when it ends, removed as counted.
    pub(crate) fn reserve(&self, max: usize) -> bool {
        self.open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .is_ok()
    }

    /// Registers a connection (one that holds a slot, or an HTTP request, which needs none).
    pub(crate) fn insert(&self, conn: Arc<Conn>) {
        self.conns.write().insert(conn.id, conn);
    }

    pub(crate) fn remove(&self, id: ConnId, counted: bool) {
        if let Some(c) = self.conns.write().remove(&id) {
            c.close();
            if counted {
                self.open.fetch_sub(1, Ordering::Relaxed);
            }
        }
    }

    pub(crate) fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }
}

impl Clients for Registry {
    /// One read lock for the whole batch of reports.
    fn notify(&self, notices: &mut Vec<(ConnId, ReportKind)>) -> u64 {
        let conns = self.conns.read();
        let mut gone = 0;
        for (to, kind) in notices.drain(..) {
            match conns.get(&to) {
                Some(conn) => conn.notify(&Response::Report(kind)),
                None => gone += 1,
            }
        }
        gone
    }

    fn encode_then_write(&self, ctx: &mut Context<'_>, encode: &mut dyn FnMut()) {
        let ((), conns) = output::collecting(encode);
        if !conns.is_empty() {
            ctx.after_release(move || output::write_collected(conns));
        }
    }
}
