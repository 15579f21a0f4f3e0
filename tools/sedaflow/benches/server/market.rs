//! The books: one per symbol, each behind its own lock with the outboxes of the
//! connections that have orders on it, so requests on different symbols never wait for
//! each other. The TCP and HTTP halves of the baseline share them, and the owners.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use sedaflow_stages::codec::{encode_line, Response};
use sedaflow_stages::matching::{Book, OrderId, Outcome, Owner, Report, Request, Symbol, To};

use super::outbox::Outbox;

/// Every symbol's book, created by its first order and kept for the server's life.
#[derive(Default)]
pub struct Markets {
    books: RwLock<HashMap<Symbol, Arc<Mutex<Market>>>>,
    /// The last owner handed out.
    owners: AtomicU64,
}

impl Markets {
    /// A new owner (account) for a TCP connection or an anonymous HTTP request, unique
    /// across both.
    pub fn owner(&self) -> Owner {
        self.owners.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// The book of `symbol`; `create` makes it when there is none (a new order), otherwise
    /// `None` (a cancel for a symbol never traded has nothing to cancel).
    pub fn get(&self, symbol: Symbol, create: bool) -> Option<Arc<Mutex<Market>>> {
        let read = self.books.read().unwrap_or_else(PoisonError::into_inner);
        if let Some(market) = read.get(&symbol) {
            return Some(Arc::clone(market));
        }
        drop(read);
        if !create {
            return None;
        }
        let mut write = self.books.write().unwrap_or_else(PoisonError::into_inner);
        let market = write
            .entry(symbol)
            .or_insert_with(|| Arc::new(Mutex::new(Market::new(symbol))));
        Some(Arc::clone(market))
    }
}

/// One symbol's book and who its reports can reach.
pub struct Market {
    book: Book,
    /// The outbox of every live connection that has sent an order here: only they can own
    /// a resting order of this book.
    outboxes: HashMap<Owner, Arc<Outbox>>,
    /// Scratch for one request's reports, kept for its capacity.
    reports: Vec<Report>,
}

impl Market {
    fn new(symbol: Symbol) -> Market {
        Market {
            book: Book::new(symbol),
            outboxes: HashMap::new(),
            reports: Vec::new(),
        }
    }

    /// Locks `market`.
    pub fn lock(market: &Mutex<Market>) -> MutexGuard<'_, Market> {
        // Every update under the lock is one book call plus its delivery: the state is
        // usable after a panic elsewhere.
        market.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Makes `owner`'s outbox reachable from this book.
    pub fn join(&mut self, owner: Owner, outbox: &Arc<Outbox>) {
        self.outboxes.insert(owner, Arc::clone(outbox));
    }

    /// Forgets `owner`'s outbox: its later reports from this book are discarded.
    pub fn leave(&mut self, owner: Owner) {
        self.outboxes.remove(&owner);
    }

    /// Applies `request` from `owner` (whose id floor is `floor`), encoding the reports to
    /// `owner` onto `out` and appending the others to their owners' outboxes, all in the
    /// book's order.
    pub fn submit(
        &mut self,
        owner: Owner,
        request: &Request,
        floor: OrderId,
        out: &mut Vec<u8>,
    ) -> Outcome {
        let outcome = self.book.submit(owner, request, floor, &mut self.reports);
        for report in self.reports.drain(..) {
            match report.to {
                To::Owner(to) if to != owner => {
                    if let Some(outbox) = self.outboxes.get(&to) {
                        outbox.push(report.kind);
                    }
                }
                _ => encode_line(&Response::Report(report.kind), out),
            }
        }
        outcome
    }
}
