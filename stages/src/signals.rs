//! SIGTERM and SIGINT for the server and the scale-out roles: a graceful stop.

use parking_lot::Mutex;
use tokio::signal::unix::{signal, Signal, SignalKind};

/// SIGTERM and SIGINT, caught from the moment a server starts (before it announces its
/// addresses): a signal right after the `listening` lines is a graceful stop, not a kill.
pub(crate) struct StopSignals {
    term: Option<Signal>,
    int: Option<Signal>,
}

impl StopSignals {
    pub(crate) fn install(runtime: &tokio::runtime::Runtime) -> Mutex<StopSignals> {
        let _in_runtime = runtime.enter();
        let catch = |kind: SignalKind, name: &str| match signal(kind) {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::warn!(error = %e, "cannot catch {name}: it will stop the process at once");
                None
            }
        };
        Mutex::new(StopSignals {
            term: catch(SignalKind::terminate(), "SIGTERM"),
            int: catch(SignalKind::interrupt(), "SIGINT"),
        })
    }

    /// Blocks on `runtime` until SIGINT or SIGTERM.
    pub(crate) fn wait(signals: &Mutex<StopSignals>, runtime: &tokio::runtime::Runtime) {
        let mut s = signals.lock();
        let StopSignals { term, int } = &mut *s;
        runtime.block_on(async {
            tokio::select! {
                _ = recv(term) => {}
                _ = recv(int) => {}
            }
        });
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
