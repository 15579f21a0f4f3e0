use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::runtime::Runtime;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use sedaflow_stages::matching::Symbol;

use super::check::Final;
use super::snapshot;
use super::subscriber;
use super::summary::{MarketSummary, MarketTally};
use crate::mix::symbol_set;
use crate::{LoadgenConfig, LoadgenError};

/// How long the subscribers may take to get every snapshot.
const READY_WAIT: Duration = Duration::from_secs(10);

/// Threads of the subscribers' own runtime.
const THREADS: usize = 2;

/// A run's market-data subscribers, from their subscriptions to the end check. They run on
/// a runtime of their own, so the order load's connections never wait behind them for a
/// thread.
pub(crate) struct Fleet {
    runtime: Option<Runtime>,
    tasks: JoinSet<Result<MarketTally, LoadgenError>>,
    finals: watch::Sender<Option<Arc<[Final]>>>,
    http: SocketAddr,
    symbols: Vec<Symbol>,
    /// Each symbol's last trade once the subscribers were ready.
    match_at_start: Vec<Option<u64>>,
    subscribers: usize,
    started: Instant,
}

/// The `count` busiest symbols of the order mix. The mix sends to its symbols round-robin,
/// so all are equally busy: the first `count` (all of them when there are fewer).
pub(crate) fn busiest(config: &LoadgenConfig, count: usize) -> Vec<Symbol> {
    let mut symbols: Vec<Symbol> = symbol_set(config.symbols.get())
        .into_iter()
        .map(|(symbol, _)| symbol)
        .collect();
    symbols.truncate(count);
    symbols
}

impl Fleet {
    /// Connects `config.md_subscribers` sockets to `config.http` and waits until each has
    /// the snapshot of every subscription; `None` without subscribers.
    ///
    /// # Errors
    ///
    /// [`LoadgenError::Connect`] or [`LoadgenError::WebSocket`] when a socket cannot be
    /// opened, [`LoadgenError::NotReady`] when snapshots do not come within [`READY_WAIT`],
    /// [`LoadgenError::Snapshot`] when the trades snapshot cannot be read.
    pub(crate) async fn start(config: &LoadgenConfig) -> Result<Option<Fleet>, LoadgenError> {
        let subscribers = config.md_subscribers;
        if subscribers == 0 {
            return Ok(None);
        }
        let symbols = busiest(config, config.md_symbols.get());
        let nice = config.md_nice;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(THREADS)
            .thread_name("md-subscriber")
            .on_thread_start(move || lower_priority(nice))
            .enable_all()
            .build()
            .map_err(LoadgenError::Runtime)?;
        let (finals, finals_rx) = watch::channel(None);
        let (ready_tx, mut ready_rx) = mpsc::channel(subscribers);
        let mut tasks = JoinSet::new();
        for index in 0..subscribers {
            let (http, symbols) = (config.http, symbols.clone());
            let (ready, finals) = (ready_tx.clone(), finals_rx.clone());
            let subscriber = async move {
                let socket = subscriber::connect(http, index).await?;
                subscriber::run(index, socket, symbols, ready, finals).await
            };
            tasks.spawn_on(subscriber, runtime.handle());
        }
        drop(ready_tx);
        let mut fleet = Fleet {
            runtime: Some(runtime),
            tasks,
            finals,
            http: config.http,
            symbols,
            match_at_start: Vec::new(),
            subscribers,
            started: Instant::now(),
        };
        let give_up = tokio::time::Instant::now() + READY_WAIT;
        let mut ready = 0;
        while ready < subscribers {
            match tokio::time::timeout_at(give_up, ready_rx.recv()).await {
                Ok(Some(())) => ready += 1,
                // Every subscriber ended or the time is up: one that failed says why.
                Ok(None) | Err(_) => {
                    return Err(fleet
                        .failure()
                        .unwrap_or(LoadgenError::NotReady { ready, subscribers }));
                }
            }
        }
        for &symbol in &fleet.symbols {
            let last = snapshot::last_match(config.http, symbol).await?;
            fleet.match_at_start.push(last);
        }
        fleet.started = Instant::now();
        Ok(Some(fleet))
    }

    /// The error of a subscriber that ended already, if one failed.
    fn failure(&mut self) -> Option<LoadgenError> {
        while let Some(joined) = self.tasks.try_join_next() {
            match joined {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Some(e),
                Err(e) => return Some(LoadgenError::Task(e)),
            }
        }
        None
    }

    /// Once the order load has stopped: waits for a quiet feed, hands every subscriber the
    /// final books and collects what they saw.
    ///
    /// # Errors
    ///
    /// [`LoadgenError::Snapshot`] when the final snapshots cannot be read,
    /// [`LoadgenError::Task`] when a subscriber task failed.
    pub(crate) async fn finish(mut self) -> Result<MarketSummary, LoadgenError> {
        let load_end = Instant::now();
        let finals = snapshot::finals(self.http, &self.symbols, &self.match_at_start).await?;
        // The subscribers that still run all hold a receiver; those that ended need nothing.
        let _ = self.finals.send(Some(finals.into()));
        let mut total = MarketTally::new();
        while let Some(joined) = self.tasks.join_next().await {
            total.merge(joined.map_err(LoadgenError::Task)??);
        }
        let settle = load_end.elapsed();
        Ok(MarketSummary::new(
            total,
            (self.subscribers, self.symbols.len()),
            self.started.elapsed(),
            settle,
        ))
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        // Not waiting: dropped inside the caller's runtime, where blocking is not allowed.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// Gives the calling thread the nice value `nice` (0 leaves it as it is).
fn lower_priority(nice: i32) {
    #[cfg(target_os = "linux")]
    if nice > 0 {
        // SAFETY: gettid and setpriority take integers and touch only this thread's
        // priority (Linux keeps the nice value per thread).
        let done = unsafe {
            let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
            libc::setpriority(libc::PRIO_PROCESS, tid, nice)
        };
        if done != 0 {
            let e = std::io::Error::last_os_error();
            eprintln!("loadgen: the subscribers' priority stays as it was: {e}");
        }
    }
}
