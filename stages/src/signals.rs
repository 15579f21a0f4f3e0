//! SIGTERM and SIGINT for the server and the scale-out roles: a graceful stop. SIGHUP for the
//! server: reload its configuration.

use parking_lot::Mutex;
use tokio::signal::unix::{signal, Signal, SignalKind};

/// SIGTERM and SIGINT, caught from the moment a server starts (before it announces its
/// addresses): a signal right after the `listening` lines is a graceful stop, not a kill.
pub(crate) struct StopSignals {
    term: Option<Signal>,
    int: Option<Signal>,
}

/// SIGHUP, caught from the moment a server starts, as the stop signals are.
pub(crate) struct Hangups(Option<Signal>);

/// What a wait ended with.
pub(crate) enum Caught {
    /// SIGINT or SIGTERM.
    Stop,
    /// SIGHUP.
    Hangup,
}

impl StopSignals {
    pub(crate) fn install(runtime: &tokio::runtime::Runtime) -> Mutex<StopSignals> {
        Mutex::new(StopSignals {
            term: catch(runtime, SignalKind::terminate(), "SIGTERM"),
            int: catch(runtime, SignalKind::interrupt(), "SIGINT"),
        })
    }

    /// Blocks on `runtime` until SIGINT or SIGTERM.
    pub(crate) fn wait(signals: &Mutex<StopSignals>, runtime: &tokio::runtime::Runtime) {
        runtime.block_on(signals.lock().stopped());
    }

    /// Blocks on `runtime` until SIGINT, SIGTERM or SIGHUP.
    pub(crate) fn wait_or_hangup(
        signals: &Mutex<StopSignals>,
        hangups: &Mutex<Hangups>,
        runtime: &tokio::runtime::Runtime,
    ) -> Caught {
        let (mut s, mut h) = (signals.lock(), hangups.lock());
        runtime.block_on(async {
            tokio::select! {
                _ = s.stopped() => Caught::Stop,
                _ = recv(&mut h.0) => Caught::Hangup,
            }
        })
    }

    async fn stopped(&mut self) {
        tokio::select! {
            _ = recv(&mut self.term) => {}
            _ = recv(&mut self.int) => {}
        }
    }
}

impl Hangups {
    pub(crate) fn install(runtime: &tokio::runtime::Runtime) -> Mutex<Hangups> {
        Mutex::new(Hangups(catch(runtime, SignalKind::hangup(), "SIGHUP")))
    }
}

fn catch(runtime: &tokio::runtime::Runtime, kind: SignalKind, name: &str) -> Option<Signal> {
    let _in_runtime = runtime.enter();
    match signal(kind) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!(error = %e, "cannot catch {name}: it will stop the process at once");
            None
        }
    }
}

/// The next signal; never, when it could not be caught.
async fn recv(signal: &mut Option<Signal>) {
    match signal {
        Some(s) => {
            s.recv().await;
        }
        None => std::future::pending().await,
    }
}
