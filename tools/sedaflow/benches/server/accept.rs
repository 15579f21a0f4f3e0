//! The baseline's accept loop, shared by its TCP ([`run_inline`](super::run_inline)) and
//! HTTP halves: a task per accepted connection until `shutdown` completes; then the
//! listener closes, every connection is told to stop and gets [`SHUTDOWN_GRACE`] to
//! finish before it is dropped.

use std::future::Future;
use std::io;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// How long connections get to finish after `shutdown` before they are dropped.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// Pause after an accept failure for lack of file descriptors, so it does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(10);

/// Accepts on `listener` until `shutdown` completes, running `serve(stream, stopped)` as a
/// task per connection; `stopped` changes when the connection is to finish.
///
/// # Errors
///
/// An accept error other than a transient one (aborted connection, interrupted call,
/// out of file descriptors, which are waited out).
pub async fn accept_until<S, F>(
    listener: TcpListener,
    shutdown: impl Future,
    mut serve: S,
) -> io::Result<()>
where
    S: FnMut(TcpStream, watch::Receiver<bool>) -> F,
    F: Future<Output = ()> + Send + 'static,
{
    let (stop, stopped) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    let result = loop {
        tokio::select! {
            _ = shutdown.as_mut() => break Ok(()),
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(serve(stream, stopped.clone()));
                }
                Err(error) if is_transient(&error) => {
                    tracing::warn!(%error, "inline server: accept failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
                Err(error) => break Err(error),
            },
            // Reap finished connections so the set does not grow with every one served.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    };
    drop(listener);
    let _ = stop.send(true);
    let drain = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(SHUTDOWN_GRACE, drain).await.is_err() {
        connections.abort_all();
    }
    result
}

fn is_transient(error: &io::Error) -> bool {
    const EMFILE: i32 = 24;
    const ENFILE: i32 = 23;
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
    ) || matches!(error.raw_os_error(), Some(EMFILE | ENFILE))
}
