//! The TCP listener: socket options, the accept loop and the connection limit.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinSet;

use super::conn::{Conn, Sink};
use super::loops::EventLoop;
use super::output::{Outgoing, SocketOut};
use super::session::{read_loop, write_loop, Ended, Reader, SessionEnv};
use crate::codec::{encode_line, ErrorReason, Response};
use crate::config::SocketOptions;
use crate::pipeline::DecodeIn;

/// Binds with the configured options (std listener, so the caller learns the address before
/// any runtime exists).
pub(crate) fn bind(addr: SocketAddr, opts: &SocketOptions) -> io::Result<std::net::TcpListener> {
    let domain = socket2::Domain::for_address(addr);
    let socket = socket2::Socket::new(domain, socket2::Type::STREAM, Some(socket2::Protocol::TCP))?;
    socket.set_reuse_address(opts.reuseaddr)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(i32::try_from(opts.backlog).unwrap_or(i32::MAX))?;
    Ok(socket.into())
}

fn tune(stream: &TcpStream, opts: &SocketOptions) -> io::Result<()> {
    stream.set_nodelay(opts.nodelay)?;
    let sock = socket2::SockRef::from(stream);
    if let Some(n) = opts.recv_buffer {
        sock.set_recv_buffer_size(n)?;
    }
    if let Some(n) = opts.send_buffer {
        sock.set_send_buffer_size(n)?;
    }
    Ok(())
}

/// Accepts until the stop signal, then waits for every session to finish its replies. Each
/// connection's session runs on an event loop ([`loops`](super::loops)); what ends it
/// (the registry, a disconnect cancel) runs here.
pub(crate) async fn serve(listener: TcpListener, opts: SocketOptions, mut env: SessionEnv) {
    let mut sessions = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            _ = env.stop.changed() => break,
            a = listener.accept() => a,
        };
        let stream = match accepted {
            Ok((s, _)) => s,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                continue;
            }
        };
        if let Err(e) = tune(&stream, &opts) {
            tracing::warn!(error = %e, "socket options not applied");
        }
        sessions.spawn(session(stream, env.clone()));
        // Reap finished sessions so the set stays as small as the open connections.
        while sessions.try_join_next().is_some() {}
    }
    drop(listener);
    while sessions.join_next().await.is_some() {}
}

async fn session(mut stream: TcpStream, env: SessionEnv) {
    let registry = &env.registry;
    if !registry.reserve(env.limits.max_connections) {
        env.metrics.connection_refused();
        let mut line = Vec::new();
        encode_line(&Response::Error(ErrorReason::TooManyConnections), &mut line);
        let _ = stream.write_all(&line).await;
        let _ = stream.shutdown().await;
        return;
    }
    let conn = open(stream, &env);
    env.metrics.connections(registry.open());
    let (done, ended) = oneshot::channel();
    match env.loops.assign(&conn) {
        Some(home) => match conn.socket().map(|out| out.rehome(home.handle())) {
            Some(Ok(rd)) => {
                let reader = Reader::new(conn.clone(), env.limits.clone());
                home.spawn(start(reader, rd, env.clone(), home.clone(), done));
                // Resolves when the last loop the session ran on drops `done`.
                let _ = ended.await;
            }
            _ => {
                tracing::warn!(conn = conn.id, "socket not registered with its event loop");
                abandon(&conn, &home);
            }
        },
        // The server is stopping.
        None => conn.close(),
    }
    let last = registry.remove(&conn);
    env.metrics.connections(registry.open());
    // An ingress logs every named session's close, and the matchers count the account's
    // sessions over all ingresses.
    let logged = registry.logs_sessions() && conn.bound().is_some_and(|a| a.name.is_some());
    if (last.is_some() || logged) && env.cancel_on_disconnect {
        // Behind the account's requests already read, in decode's account lane.
        if env
            .input
            .publish(DecodeIn::Disconnected(conn))
            .await
            .is_ok()
            && last.is_some()
        {
            registry.metrics().disconnect_cancel();
        }
    }
}

/// The connection around an accepted socket: its output writes through the listener's
/// registration until the session's loop registers it anew.
fn open(stream: TcpStream, env: &SessionEnv) -> Arc<Conn> {
    Arc::new(Conn::new(
        env.registry.next_id(),
        Sink::Socket(SocketOut::new(Arc::new(stream))),
        env.limits.write_hard_cap,
        env.metrics.clone(),
    ))
}

/// [`run`] as a task of `home` (boxed: a session that moves spawns itself again).
fn start(
    reader: Reader,
    rd: Arc<TcpStream>,
    env: SessionEnv,
    home: Arc<EventLoop>,
    done: oneshot::Sender<()>,
) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(run(reader, rd, env, home, done))
}

/// The session on `home`: its writer task and its reader, until the connection ends or the
/// session moves (it then goes on on the target loop, with its state and `done`).
async fn run(
    mut reader: Reader,
    rd: Arc<TcpStream>,
    mut env: SessionEnv,
    home: Arc<EventLoop>,
    done: oneshot::Sender<()>,
) {
    let conn = reader.conn().clone();
    let writer = tokio::spawn(write_loop(conn.clone(), env.clone()));
    let ended = read_loop(&mut reader, &rd, &mut env, &home).await;
    if let Ended::Closed { linger } = ended {
        conn.send(Outgoing::End { seqs: reader.seq });
        let _ = writer.await;
        if linger {
            super::linger::linger(&rd).await;
        }
        conn.discard_pending();
        home.leave(&conn);
        return;
    }
    // The writer stops at the same request; both resume on the target.
    let _ = writer.await;
    drop(rd);
    let Some(target) = env.loops.moved(&conn, &home) else {
        // The server stopped meanwhile.
        abandon(&conn, &home);
        return;
    };
    let rehomed = conn.socket().map(|out| out.rehome(target.handle()));
    match rehomed {
        Some(Ok(rd)) => target.spawn(start(reader, rd, env, target.clone(), done)),
        _ => {
            tracing::warn!(conn = conn.id, "session could not move: closing it");
            abandon(&conn, &target);
        }
    }
}

/// Ends a session that cannot go on (on `home`): the connection closes, its unwritten output
/// counts as discarded.
fn abandon(conn: &Conn, home: &EventLoop) {
    conn.close();
    conn.discard_pending();
    home.leave(conn);
}
