//! One event loop: a thread running a single-threaded tokio runtime, the TCP sessions that
//! live on it, the HTTP connections pinned to it, and what the sizing controller reads of it
//! (busy time, CPU demand, reads).

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rustc_hash::FxHashMap;
use sedaflow::{CpuDemand, CpuUse};
use tokio::runtime::Handle;
use tokio::sync::Notify;

use super::super::conn::Conn;
use super::super::Consolidation;
use super::{IdleWork, ReadCounts};

/// A loop's identity among every loop the group ever started (a move names its target by it).
pub(crate) type LoopId = usize;

pub(crate) struct EventLoop {
    pub(crate) id: LoopId,
    handle: Handle,
    /// The sessions it runs (joined at accept or a move in, left at the end or a move out).
    conns: Mutex<FxHashMap<u64, Arc<Conn>>>,
    /// Connections that live here until they end and never move (HTTP, and the WebSocket
    /// sessions upgraded from them): a retired loop runs until the last one ends.
    pinned: AtomicUsize,
    /// Set once it takes no more sessions: its thread ends when the last one has left.
    retiring: AtomicBool,
    /// Set when the server stops: its thread ends now, dropping what still runs on it.
    stopped: AtomicBool,
    left: Notify,
    /// Time it spent running tasks (unpark to park), for the controller's utilisation.
    busy_nanos: AtomicU64,
    unparked: Mutex<Option<Instant>>,
    cpu: OnceLock<CpuDemand>,
    /// The CPU demand when the thread ended: read from it afterwards would give zero, or
    /// another thread's that reused its id.
    last_cpu: Mutex<Option<CpuUse>>,
    /// What its readers did: written by its own thread only, so never contended.
    pub(crate) reads: ReadCounts,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl std::fmt::Debug for EventLoop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventLoop").field("id", &self.id).finish()
    }
}

impl EventLoop {
    /// Starts loop `id` on a thread of its own. Its runtime's park hooks account busy time
    /// and hand held output over ([`Consolidation`]), as every network thread does, then run
    /// the group's [`IdleWork`].
    pub(crate) fn start(
        id: LoopId,
        held: Arc<Consolidation>,
        idle: Arc<IdleWork>,
    ) -> std::io::Result<Arc<EventLoop>> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let thread = std::thread::Builder::new()
            .name(format!("sf-net-{id}"))
            .spawn(move || run(id, held, idle, tx))?;
        let Ok(Ok(this)) = rx.recv() else {
            let _ = thread.join();
            return Err(std::io::Error::other("event loop did not start"));
        };
        *this.thread.lock() = Some(thread);
        Ok(this)
    }

    /// Runs `task` on this loop.
    pub(crate) fn spawn(&self, task: impl std::future::Future<Output = ()> + Send + 'static) {
        self.handle.spawn(task);
    }

    /// Its runtime: IO registered in its context is polled by this loop.
    pub(crate) fn handle(&self) -> &Handle {
        &self.handle
    }

    pub(crate) fn join(&self, conn: &Arc<Conn>) {
        self.conns.lock().insert(conn.id, conn.clone());
    }

    pub(crate) fn leave(&self, conn: &Conn) {
        let mut conns = self.conns.lock();
        conns.remove(&conn.id);
        if conns.is_empty() && self.is_retiring() {
            self.left.notify_one();
        }
    }

    pub(crate) fn sessions(&self) -> usize {
        self.conns.lock().len()
    }

    /// Sessions and pinned connections: what new work is spread by.
    pub(crate) fn load(&self) -> usize {
        self.sessions() + self.pinned.load(Relaxed)
    }

    /// Nothing runs here that must outlive a retirement.
    pub(crate) fn is_empty(&self) -> bool {
        self.sessions() == 0 && self.pinned.load(Relaxed) == 0
    }

    /// Pins a connection here until the returned guard (and every clone) is dropped.
    pub(crate) fn pin(self: &Arc<Self>) -> Pinned {
        self.pinned.fetch_add(1, Relaxed);
        Pinned(self.clone())
    }

    /// Its sessions, for moves and for the output gauges.
    pub(crate) fn each_session(&self, mut f: impl FnMut(&Arc<Conn>)) {
        for conn in self.conns.lock().values() {
            f(conn);
        }
    }

    /// Takes no more sessions; the thread ends once the last one left.
    pub(crate) fn retire(&self) {
        self.retiring.store(true, Relaxed);
        self.left.notify_one();
    }

    pub(crate) fn is_retiring(&self) -> bool {
        self.retiring.load(Relaxed)
    }

    /// Ends the thread now (the server stops): sessions still on it are dropped, as a
    /// runtime's shutdown drops its tasks.
    pub(crate) fn stop(&self) {
        self.retiring.store(true, Relaxed);
        self.stopped.store(true, Relaxed);
        self.left.notify_one();
    }

    fn done(&self) -> bool {
        self.stopped.load(Relaxed) || (self.is_retiring() && self.is_empty())
    }

    /// Waits for the thread to end (after [`EventLoop::stop`], or [`EventLoop::retire`] and
    /// the last session).
    pub(crate) fn join_thread(&self) {
        let thread = self.thread.lock().take();
        if let Some(t) = thread {
            let _ = t.join();
        }
    }

    /// Busy time so far, counting a run in progress.
    pub(crate) fn busy(&self) -> Duration {
        let running = self.unparked.lock().map_or(Duration::ZERO, |t| t.elapsed());
        Duration::from_nanos(self.busy_nanos.load(Relaxed)) + running
    }

    /// CPU demand (on a core or waiting for one) so far.
    pub(crate) fn cpu(&self) -> CpuUse {
        if let Some(last) = *self.last_cpu.lock() {
            return last;
        }
        self.cpu.get().map(|c| c.read()).unwrap_or_default()
    }

    fn unparked(&self) {
        *self.unparked.lock() = Some(Instant::now());
    }

    fn parked(&self) {
        if let Some(t) = self.unparked.lock().take() {
            let nanos = u64::try_from(t.elapsed().as_nanos()).unwrap_or(u64::MAX);
            self.busy_nanos.fetch_add(nanos, Relaxed);
        }
    }
}

type Started = std::io::Result<Arc<EventLoop>>;

/// The loop's thread: builds its runtime, reports it started, and runs until retired and
/// empty; whatever output it still holds is handed over before the thread ends.
fn run(
    id: LoopId,
    held: Arc<Consolidation>,
    work: Arc<IdleWork>,
    started: std::sync::mpsc::SyncSender<Started>,
) {
    let cell: Arc<OnceLock<Arc<EventLoop>>> = Arc::default();
    let (on_unpark, on_park) = (cell.clone(), cell.clone());
    let (resumed, idle) = (held.clone(), held.clone());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .on_thread_unpark(move || {
            resumed.resumed();
            if let Some(l) = on_unpark.get() {
                l.unparked();
            }
        })
        .on_thread_park(move || {
            idle.idle();
            if let Some(l) = on_park.get() {
                l.parked();
            }
            // Not counted as the loop's busy time: it is work the loop takes on only when idle.
            work.run();
        })
        .build();
    let runtime = match runtime {
        Ok(r) => r,
        Err(e) => {
            let _ = started.send(Err(e));
            return;
        }
    };
    let this = Arc::new(EventLoop {
        id,
        handle: runtime.handle().clone(),
        conns: Mutex::default(),
        pinned: AtomicUsize::new(0),
        retiring: AtomicBool::new(false),
        stopped: AtomicBool::new(false),
        left: Notify::new(),
        busy_nanos: AtomicU64::new(0),
        unparked: Mutex::new(Some(Instant::now())),
        cpu: OnceLock::new(),
        last_cpu: Mutex::new(None),
        reads: ReadCounts::default(),
        thread: Mutex::new(None),
    });
    let _ = this.cpu.set(CpuDemand::current());
    // However the thread ends, its last CPU reading stays (read later it would be zero, or
    // another thread's that reused its id).
    let _last = LastCpu(this.clone());
    let _ = cell.set(this.clone());
    held.resumed();
    if started.send(Ok(this.clone())).is_err() {
        return;
    }
    runtime.block_on(async {
        loop {
            let left = this.left.notified();
            if this.done() {
                break;
            }
            left.await;
        }
    });
    this.parked();
    held.idle();
    runtime.shutdown_background();
}

/// Keeps a loop's last CPU reading when its thread ends.
struct LastCpu(Arc<EventLoop>);

impl Drop for LastCpu {
    fn drop(&mut self) {
        let last = self.0.cpu();
        *self.0.last_cpu.lock() = Some(last);
    }
}

/// A connection pinned to a loop ([`EventLoop::pin`]); a clone pins one more (a WebSocket
/// upgrade, until its socket has moved to the runtime that serves it).
pub(crate) struct Pinned(Arc<EventLoop>);

impl Pinned {
    /// The loop it is pinned to.
    pub(crate) fn home(&self) -> &Arc<EventLoop> {
        &self.0
    }
}

impl Clone for Pinned {
    fn clone(&self) -> Self {
        self.0.pin()
    }
}

impl Drop for Pinned {
    fn drop(&mut self) {
        if self.0.pinned.fetch_sub(1, Relaxed) == 1 && self.0.is_retiring() {
            self.0.left.notify_one();
        }
    }
}
