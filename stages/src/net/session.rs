//! One TCP connection: a reader task (framing, backpressure, timeouts) and a writer task
//! (reply reordering, watermarks).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use bytes::BytesMut;
use sedaflow::{OfferError, Publisher};
use tokio::io::AsyncReadExt;
use tokio::net::tcp::OwnedReadHalf;
use tokio::sync::watch;

use super::conn::Conn;
use super::output::{self, Outgoing};
use crate::admission::Admission;
use crate::codec::{encode_line, ErrorReason, FrameError, LineFramer, Response};
use crate::config::Limits;
use crate::internal_events::ServerMetrics;
use crate::pipeline::{self, DecodeIn};

/// What a session needs from the server.
#[derive(Clone)]
pub(crate) struct SessionEnv {
    pub(crate) input: Publisher<DecodeIn>,
    pub(crate) admission: Arc<Admission>,
    pub(crate) limits: Limits,
    pub(crate) metrics: ServerMetrics,
    pub(crate) stop: watch::Receiver<bool>,
}

/// Why the reader stopped.
enum Stop {
    Eof,
    Server,
    Cut,
    Timeout(ErrorReason),
}

/// Reads frames until EOF, error, timeout or server stop; returns how many requests it read.
pub(crate) async fn read_loop(conn: Arc<Conn>, mut rd: OwnedReadHalf, mut env: SessionEnv) -> u64 {
    let limits = env.limits.clone();
    let mut framer = LineFramer::with_max_len(limits.max_frame);
    let mut buf = vec![0u8; 16 * 1024];
    let mut seq = 0u64;
    let mut batch = Vec::new();
    let mut frames = BytesMut::new();
    let mut spans = Vec::new();
    let mut last_activity = Instant::now();
    let mut partial_since: Option<Instant> = None;
    let stop = loop {
        // Registered before the checks below, so a cut after them still wakes the read.
        let cut = conn.cut.notified();
        tokio::pin!(cut);
        cut.as_mut().enable();
        if !wait_for_room(&conn, seq, &limits).await {
            break Stop::Cut;
        }
        let (deadline, timeout) = match partial_since {
            Some(t) => (t + limits.frame_timeout, ErrorReason::FrameTimeout),
            None => (
                last_activity + limits.idle_timeout,
                ErrorReason::IdleTimeout,
            ),
        };
        let read = tokio::select! {
            _ = env.stop.changed() => break Stop::Server,
            _ = &mut cut => break Stop::Cut,
            r = tokio::time::timeout_at(deadline.into(), rd.read(&mut buf)) => r,
        };
        let n = match read {
            Err(_) => break Stop::Timeout(timeout),
            Ok(Ok(0)) | Ok(Err(_)) => break Stop::Eof,
            Ok(Ok(n)) => n,
        };
        let now = Instant::now();
        let before = seq;
        framer.push(&buf[..n]);
        // The read's frames share one buffer: one allocation per read, not per frame.
        while let Some(frame) = framer.next_frame() {
            let this = seq;
            seq += 1;
            match frame {
                Ok(f) => {
                    let at = frames.len();
                    frames.extend_from_slice(f);
                    spans.push((this, at..frames.len()));
                }
                Err(FrameError::TooLong) => {
                    env.metrics.frame_too_long();
                    answer(&conn, this, now, FrameError::TooLong.into());
                }
            }
        }
        let shared = frames.split().freeze();
        batch.extend(spans.drain(..).map(|(seq, span)| DecodeIn::Frame {
            conn: conn.clone(),
            seq,
            frame: shared.slice(span),
            read_at: now,
        }));
        if seq > before {
            last_activity = now;
            conn.note_read(seq);
        }
        // The frame timeout runs from the start of the frame now pending: once a frame
        // ended in this read, what is pending started here.
        partial_since = match (framer.has_partial(), partial_since) {
            (true, Some(t)) if seq == before => Some(t),
            (true, _) => Some(now),
            (false, _) => None,
        };
        if !batch.is_empty() {
            pipeline::admit(&env.admission, &mut batch);
            // The stages run on this thread (`caller_runs`) and their answers go out in one
            // write per connection when they are done; only what does not fit waits.
            let tried = output::deferring(|| env.input.try_publish_batch(&mut batch));
            let published = match tried {
                Err(OfferError::Full(mut left)) => env.input.publish_batch(&mut left).await,
                done => done,
            };
            if let Err(refused) = published {
                pipeline::refuse(refused.into_inner(), &env.metrics);
            }
        }
    };
    if let Stop::Timeout(reason) = stop {
        match reason {
            ErrorReason::FrameTimeout => env.metrics.frame_timed_out(),
            _ => env.metrics.idle_closed(),
        }
        let mut lines = Vec::new();
        encode_line(&Response::Error(reason), &mut lines);
        conn.send(Outgoing::Notify { lines });
    }
    seq
}

/// Waits while the client is not reading its output (high/low watermarks) or has too many
/// requests unanswered. Returns false when the connection was cut meanwhile.
async fn wait_for_room(conn: &Conn, seq: u64, limits: &Limits) -> bool {
    let over = |low: bool| {
        let bytes = if low {
            limits.write_low_watermark
        } else {
            limits.write_high_watermark
        };
        conn.pending() > bytes
            || seq - conn.answered.load(Ordering::Acquire) >= limits.max_in_flight as u64
    };
    if !over(false) {
        return !conn.is_closed();
    }
    // Above the high watermark: stop reading (TCP backpressure) until below the low one.
    loop {
        let drained = conn.drained.notified();
        tokio::pin!(drained);
        drained.as_mut().enable();
        if conn.is_closed() {
            return false;
        }
        if !over(true) {
            return true;
        }
        drained.await;
    }
}

fn answer(conn: &Arc<Conn>, seq: u64, read_at: Instant, response: Response) {
    conn.reply(seq, read_at, std::slice::from_ref(&response));
}

/// Waits for the socket whenever it was full and flushes; ends after the reader's last request
/// is answered and written, or when the connection is cut. The stages write everything else
/// themselves (see `net::output`).
pub(crate) async fn write_loop(conn: Arc<Conn>, env: SessionEnv) {
    let Some(out) = conn.socket() else {
        return;
    };
    loop {
        // A cut while waiting must end the writer too: output for a closed connection is
        // discarded, so no kick may ever come.
        let cut = conn.cut.notified();
        tokio::pin!(cut);
        cut.as_mut().enable();
        if conn.is_closed() || out.finished() {
            break;
        }
        if out.is_blocked() {
            let writable = tokio::select! {
                r = out.writable() => r.is_ok(),
                _ = &mut cut => break,
            };
            if !writable {
                conn.close();
                break;
            }
            conn.progress(out.write_unblocked());
            continue;
        }
        tokio::select! {
            _ = out.kick.notified() => {}
            _ = &mut cut => break,
            _ = conn.orders.settled() => {
                let input = env.input.clone();
                let c = conn.clone();
                // Off this task: waiting for room in decode must not stop the writes.
                tokio::spawn(async move {
                    let _ = input.publish(DecodeIn::Resume(c)).await;
                });
            }
        }
    }
    out.shutdown();
}
