//! A TCP connection's socket output: its [`Reorder`] buffer under a lock, written with
//! non-blocking `try_write` by whichever thread files what is due; the connection's writer
//! task takes over only while the socket is full.
//!
//! The socket is registered with the reactor of the event loop the session runs on; a move
//! swaps in a registration with the new loop ([`SocketOut::rehome`]) while no write is in
//! progress.

use std::io;
use std::sync::Arc;
use std::time::Instant;

use parking_lot::{Mutex, MutexGuard, RwLock};
use tokio::net::TcpStream;
use tokio::sync::Notify;

use super::reorder::{Filed, Outgoing, Reorder};

pub(crate) struct SocketOut {
    /// Read-locked by each write (never across an await), write-locked by a move.
    stream: RwLock<Arc<TcpStream>>,
    state: Mutex<Reorder>,
    /// Tells the writer task that the socket is full (it waits for room and flushes) or that
    /// every reply is written (it finishes).
    pub(crate) kick: Notify,
}

/// What a `put` or a write did, for the connection's accounting (done outside the lock).
#[derive(Debug, Default)]
pub(crate) struct Progress {
    /// Bytes written to the socket.
    pub(crate) bytes: usize,
    /// Replies that came into turn.
    pub(crate) replies: u64,
    /// The read time of the oldest reply a write took (its latency is measured once per
    /// write, not per reply).
    pub(crate) written_oldest: Option<Instant>,
    /// The socket failed: the connection is gone.
    pub(crate) failed: bool,
    /// The writer task must act (socket full, or everything answered).
    pub(crate) kick: bool,
    /// Filed bytes that no later answer is certain to carry: they need a write.
    pub(crate) due: bool,
    /// Of those, some answer a read (or end the connection): the client is waiting for them.
    /// Bytes due without it are reports nobody asked for just now (a resting order's fill),
    /// which a network thread may hold for a later write ([`super::When::Held`]).
    pub(crate) awaited: bool,
}

impl SocketOut {
    /// Output to `stream`, which the session's reader reads too.
    pub(crate) fn new(stream: Arc<TcpStream>) -> Self {
        SocketOut {
            stream: RwLock::new(stream),
            state: Mutex::new(Reorder::default()),
            kick: Notify::new(),
        }
    }

    /// The reader has read `seqs` requests, the last of them in one read. Each will be
    /// answered, and the write of the last answer to the read carries whatever else is
    /// pending.
    pub(crate) fn note_read(&self, seqs: u64) {
        self.state.lock().note_read(seqs);
    }

    /// Files `msg` ([`Reorder::file`]) and says whether its bytes need a write of their own
    /// (`Progress::due`); with `write`, does that write unless the writer task owns the flush.
    pub(crate) fn put(&self, msg: Outgoing, write: bool) -> Progress {
        let mut st = self.state.lock();
        let filed = st.file(msg);
        self.settle(st, filed, write)
    }

    /// Files the reply to request `seq` ([`Reorder::file_reply`]), then as [`SocketOut::put`];
    /// `None` when `admit` refused it.
    pub(crate) fn put_reply(
        &self,
        seq: u64,
        read_at: Instant,
        encode: impl FnOnce(&mut Vec<u8>),
        admit: impl FnOnce(usize) -> bool,
        write: bool,
    ) -> Option<Progress> {
        let mut st = self.state.lock();
        let filed = st.file_reply(seq, read_at, encode, admit)?;
        Some(self.settle(st, filed, write))
    }

    /// Files a run of replies under one lock ([`Reorder::file_replies`]), then as
    /// [`SocketOut::put`]; returns how many were filed.
    pub(crate) fn put_replies<R>(
        &self,
        run: &[R],
        reply: impl Fn(&R) -> (u64, Instant),
        encode: impl Fn(&R, &mut Vec<u8>),
        admit: impl Fn(usize) -> bool,
        write: bool,
    ) -> (Progress, usize) {
        let mut st = self.state.lock();
        let (filed, n) = st.file_replies(run, reply, encode, admit);
        (self.settle(st, filed, write), n)
    }

    /// Files a report for this client ([`Reorder::file_notice`]), then as [`SocketOut::put`].
    pub(crate) fn put_notice(
        &self,
        encode: impl FnOnce(&mut Vec<u8>),
        admit: impl FnOnce(usize) -> bool,
        write: bool,
    ) -> Option<Progress> {
        let mut st = self.state.lock();
        let filed = st.file_notice(encode, admit)?;
        Some(self.settle(st, filed, write))
    }

    /// After filing: writes what is due (with `write`), and says whether the writer task
    /// must act.
    fn settle<'s>(
        &'s self,
        mut st: MutexGuard<'s, Reorder>,
        filed: Filed,
        write: bool,
    ) -> Progress {
        let mut p = Progress {
            replies: filed.replies,
            due: filed.due,
            awaited: filed.awaited,
            ..Progress::default()
        };
        if p.due && write {
            st = self.write(st, &mut p);
        }
        p.kick = st.needs_writer();
        p
    }

    /// Writes what is in order, unless the writer task owns the flush (output a scope or a
    /// network thread kept for later).
    pub(crate) fn write_pending(&self) -> Progress {
        let mut p = Progress::default();
        let st = self.write(self.state.lock(), &mut p);
        p.kick = st.needs_writer();
        p
    }

    /// Writes what is pending (the writer task, once the full socket is writable).
    pub(crate) fn write_unblocked(&self) -> Progress {
        let mut st = self.state.lock();
        let mut p = Progress::default();
        st.unblock();
        drop(self.write(st, &mut p));
        p
    }

    /// Whether the reader's last request is answered and written.
    pub(crate) fn finished(&self) -> bool {
        self.state.lock().finished()
    }

    pub(crate) fn is_blocked(&self) -> bool {
        self.state.lock().is_blocked()
    }

    /// Waits until the socket takes writes again.
    pub(crate) async fn writable(&self) -> io::Result<()> {
        let stream = self.stream.read().clone();
        stream.writable().await
    }

    /// Sends FIN: the client reads EOF after the last reply.
    pub(crate) fn shutdown(&self) {
        let stream = self.stream.read();
        let _ = socket2::SockRef::from(&**stream).shutdown(std::net::Shutdown::Write);
    }

    /// Registers the socket with `target`'s reactor (the loop it moves to) and
    /// writes through that registration from now on; returns it for the reader. The old one
    /// ends when its last holder drops it; the connection stays open (the new registration
    /// is a duplicate descriptor of the same socket).
    pub(crate) fn rehome(&self, target: &tokio::runtime::Handle) -> io::Result<Arc<TcpStream>> {
        let mut slot = self.stream.write();
        let dup = socket2::SockRef::from(&**slot).try_clone()?;
        let fresh = {
            let _in_target = target.enter();
            Arc::new(TcpStream::from_std(dup.into())?)
        };
        *slot = fresh.clone();
        Ok(fresh)
    }

    /// Writes what is in order, outside the lock: one thread writes at a time, and others
    /// only append; the writer loops until nothing is left (or the socket is full), so what
    /// they appended goes out with its next `send`.
    fn write<'s>(
        &'s self,
        mut st: MutexGuard<'s, Reorder>,
        p: &mut Progress,
    ) -> MutexGuard<'s, Reorder> {
        if !st.start_writing() {
            return st;
        }
        while let Some((buf, oldest)) = st.take_chunk() {
            if let Some(t) = oldest {
                p.written_oldest = Some(p.written_oldest.map_or(t, |o| o.min(t)));
            }
            drop(st);
            let mut sent = 0;
            let mut full = false;
            let stream = self.stream.read();
            while sent < buf.len() {
                match stream.try_write(&buf[sent..]) {
                    Ok(n) => sent += n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        full = true;
                        break;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => {
                        p.failed = true;
                        break;
                    }
                }
            }
            drop(stream);
            p.bytes += sent;
            st = self.state.lock();
            if !st.chunk_written(buf, sent, full) {
                break;
            }
        }
        st.stop_writing();
        st
    }
}

#[cfg(test)]
pub(super) mod tests {
    use tokio::io::AsyncReadExt;
    use tokio::net::{TcpListener, TcpStream};

    use super::*;

    fn reply(seq: u64, text: &str) -> Outgoing {
        Outgoing::Reply {
            seq,
            lines: text.as_bytes().to_vec(),
            read_at: Instant::now(),
        }
    }

    /// A client socket, and the server side's output (the socket also kept for reads).
    pub(in crate::net::output) async fn connected() -> (TcpStream, Arc<TcpStream>, SocketOut) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (client, accepted) = tokio::join!(TcpStream::connect(addr), listener.accept());
        let server = Arc::new(accepted.unwrap().0);
        server.writable().await.unwrap();
        (client.unwrap(), server.clone(), SocketOut::new(server))
    }

    #[tokio::test]
    async fn output_waits_for_the_last_awaited_answer_then_goes_in_one_write() {
        let (mut client, _rd, out) = connected().await;

        out.note_read(3);
        // Out of turn, then a report for this client: both wait.
        let p = out.put(reply(1, "r1\n"), true);
        assert!(!p.due && p.replies == 0 && p.bytes == 0);
        let p = out.put(
            Outgoing::Notify {
                lines: b"n\n".to_vec(),
            },
            true,
        );
        assert!(!p.due && p.bytes == 0);
        // In turn: 0 and 1 are answered, but 2 is still awaited.
        let p = out.put(reply(0, "r0\n"), true);
        assert_eq!((p.due, p.replies, p.bytes), (false, 2, 0));
        // The last awaited answer writes everything, in order.
        let p = out.put(reply(2, "r2\n"), true);
        assert_eq!((p.due, p.replies, p.bytes), (true, 1, 11));
        assert!(!p.kick);
        let p = out.put(Outgoing::End { seqs: 3 }, true);
        assert!(p.kick && out.finished());

        let mut got = vec![0u8; 11];
        client.read_exact(&mut got).await.unwrap();
        assert_eq!(got, b"n\nr0\nr1\nr2\n");
    }

    #[tokio::test]
    async fn a_read_answered_in_full_goes_out_while_a_later_read_is_pending() {
        let (mut client, _rd, out) = connected().await;

        // Two reads: requests 0..2, then 2..3. The first read's answers do not wait for the
        // second's, however long a client keeps sending.
        out.note_read(2);
        out.note_read(3);
        assert!(!out.put(reply(0, "r0\n"), true).due);
        let p = out.put(reply(1, "r1\n"), true);
        assert_eq!((p.due, p.bytes), (true, 6));
        assert!(
            !out.put(
                Outgoing::Notify {
                    lines: b"n\n".to_vec()
                },
                true
            )
            .due
        );
        let p = out.put(reply(2, "r2\n"), true);
        assert_eq!((p.due, p.bytes), (true, 5));
        let mut got = vec![0u8; 11];
        client.read_exact(&mut got).await.unwrap();
        assert_eq!(got, b"r0\nr1\nn\nr2\n");
    }

    #[tokio::test]
    async fn a_put_without_write_leaves_the_bytes_for_write_pending() {
        let (mut client, _rd, out) = connected().await;

        out.note_read(1);
        let p = out.put(reply(0, "r0\n"), false);
        assert!(p.due && p.bytes == 0);
        assert_eq!(out.write_pending().bytes, 3);
        let mut got = vec![0u8; 3];
        client.read_exact(&mut got).await.unwrap();
        assert_eq!(got, b"r0\n");
    }
}
