//! The reorder buffer: a connection's replies, filed in any order by any thread, leave in
//! request order. Pure: no sockets, locks or clocks; read times come in with the replies, and
//! the caller does the writes ([`Reorder::take_chunk`], [`Reorder::chunk_written`]).
//!
//! # Ordering
//! Reply `seq` waits until replies `0..seq` are in; reports for this client
//! ([`Outgoing::Notify`]) join the in-order output at once.
//!
//! # When bytes are due
//! Output waits while answers to the oldest unanswered read are still to come: the last of
//! them carries it all (every request is answered, so that write comes). A read's answers then
//! leave in one `send`, however many threads and batches produced them, as an inline server's
//! do. Bytes no pending read will carry, a full buffer ([`COALESCE_LIMIT`]) and the answers
//! before the end of the stream are due. Due bytes that answer a read, end the stream or fill
//! the buffer are *awaited*; the rest are reports nobody asked for just now.

use std::collections::VecDeque;
use std::time::Instant;

use super::waiting::Waiting;

/// Output held back for a coalesced write goes out anyway past this many bytes.
const COALESCE_LIMIT: usize = 64 * 1024;

/// Output for a connection.
#[derive(Debug)]
pub(crate) enum Outgoing {
    /// Every line caused by request `seq` (written in `seq` order).
    Reply {
        seq: u64,
        lines: Vec<u8>,
        read_at: Instant,
    },
    /// Lines caused by other clients (fills of resting orders): written at once.
    Notify { lines: Vec<u8> },
    /// The reader stopped after `seqs` requests: close once they are all answered.
    End { seqs: u64 },
}

impl Outgoing {
    /// Bytes inside.
    pub(crate) fn bytes(&self) -> usize {
        match self {
            Outgoing::Reply { lines, .. } | Outgoing::Notify { lines } => lines.len(),
            Outgoing::End { .. } => 0,
        }
    }

    /// Response lines inside: a scan of every byte, so only for output being discarded.
    pub(crate) fn responses(&self) -> u64 {
        match self {
            Outgoing::Reply { lines, .. } | Outgoing::Notify { lines } => {
                lines.iter().filter(|&&b| b == b'\n').count() as u64
            }
            Outgoing::End { .. } => 0,
        }
    }
}

/// One connection's output between filing and the socket.
#[derive(Default)]
pub(crate) struct Reorder {
    /// Sequence number of the next reply to write.
    next: u64,
    /// Replies that arrived before their turn (refused at the read, or other symbols'
    /// threads were faster).
    waiting: Waiting,
    /// In order, not yet written.
    out: Vec<u8>,
    /// `out`'s previous buffer, reused while a thread writes the current one.
    spare: Vec<u8>,
    /// A thread is writing (outside the lock); others only append.
    writing: bool,
    /// The reader stopped after this many requests.
    end: Option<u64>,
    /// Where each read not yet fully answered ended (request counts, oldest first).
    reads: VecDeque<u64>,
    /// The socket was full: the writer task flushes once it is writable.
    blocked: bool,
    /// The oldest read time among the replies in `out`, for the latency of the next write.
    out_oldest: Option<Instant>,
}

/// What one filing did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Filed {
    /// Replies that came into turn.
    pub(crate) replies: u64,
    /// Filed bytes that no later answer is certain to carry: they need a write.
    pub(crate) due: bool,
    /// Of those, some answer a read (or end the connection): the client is waiting for them.
    pub(crate) awaited: bool,
}

impl Reorder {
    /// The reader has read `seqs` requests, the last of them in one read.
    pub(crate) fn note_read(&mut self, seqs: u64) {
        self.reads.push_back(seqs);
    }

    /// Files `m`: a reply waits for its turn (one in turn joins the output), a report for
    /// this client joins it at once.
    pub(crate) fn file(&mut self, m: Outgoing) -> Filed {
        let mut replies = 0;
        match m {
            Outgoing::Reply {
                seq,
                lines,
                read_at,
            } if seq == self.next => {
                self.out.extend_from_slice(&lines);
                self.in_turn(read_at, &mut replies);
            }
            Outgoing::Reply {
                seq,
                lines,
                read_at,
            } => {
                let copy = |out: &mut Vec<u8>| out.extend_from_slice(&lines);
                self.waiting.hold(self.next, seq, read_at, copy, |_| true);
            }
            Outgoing::Notify { lines } => self.out.extend_from_slice(&lines),
            Outgoing::End { seqs } => self.end = Some(seqs),
        }
        self.settle(replies)
    }

    /// Files the reply to request `seq`, encoding it with `encode` straight into the output
    /// when it is in turn (no buffer of its own). `admit` is told its size first; when it
    /// refuses (the hard cap), nothing is filed and `None` returned.
    pub(crate) fn file_reply(
        &mut self,
        seq: u64,
        read_at: Instant,
        encode: impl FnOnce(&mut Vec<u8>),
        admit: impl FnOnce(usize) -> bool,
    ) -> Option<Filed> {
        let mut replies = 0;
        self.place_reply(seq, read_at, encode, admit, &mut replies)
            .then(|| self.settle(replies))
    }

    /// Files a run of replies as [`Reorder::file_reply`] each (`reply` gives one's sequence
    /// number and read time, `encode` its lines), deciding what is due once after them all:
    /// the same decision, since a run only adds output. Stops at the first one `admit`
    /// refuses; returns how many were filed.
    pub(crate) fn file_replies<R>(
        &mut self,
        run: &[R],
        reply: impl Fn(&R) -> (u64, Instant),
        encode: impl Fn(&R, &mut Vec<u8>),
        admit: impl Fn(usize) -> bool,
    ) -> (Filed, usize) {
        let mut replies = 0;
        let filed = run
            .iter()
            .take_while(|r| {
                let (seq, read_at) = reply(r);
                self.place_reply(seq, read_at, |buf| encode(r, buf), &admit, &mut replies)
            })
            .count();
        (self.settle(replies), filed)
    }

    /// Puts a reply in the output when in turn, else among the waiting; false when `admit`
    /// refuses it.
    fn place_reply(
        &mut self,
        seq: u64,
        read_at: Instant,
        encode: impl FnOnce(&mut Vec<u8>),
        admit: impl FnOnce(usize) -> bool,
        replies: &mut u64,
    ) -> bool {
        if seq == self.next {
            if !self.append(encode, admit) {
                return false;
            }
            self.in_turn(read_at, replies);
            true
        } else {
            self.waiting.hold(self.next, seq, read_at, encode, admit)
        }
    }

    /// Files a report for this client (unsequenced: it goes out with the next write), encoding
    /// it with `encode` straight into the output; `admit` as in [`Reorder::file_reply`].
    pub(crate) fn file_notice(
        &mut self,
        encode: impl FnOnce(&mut Vec<u8>),
        admit: impl FnOnce(usize) -> bool,
    ) -> Option<Filed> {
        self.append(encode, admit).then(|| self.settle(0))
    }

    /// After filing: takes what came into turn, and decides whether a write is due.
    fn settle(&mut self, mut replies: u64) -> Filed {
        // Replies nearly always come in turn: most filings find nothing waiting.
        while let Some(read_at) = self.waiting.take(self.next, &mut self.out) {
            self.in_turn(read_at, &mut replies);
        }
        let mut read_answered = false;
        while self.reads.front().is_some_and(|&end| end <= self.next) {
            self.reads.pop_front();
            read_answered = true;
        }
        let awaited = !self.out.is_empty()
            && (read_answered || self.end.is_some() || self.out.len() >= COALESCE_LIMIT);
        Filed {
            replies,
            awaited,
            due: awaited || (!self.out.is_empty() && self.reads.is_empty()),
        }
    }

    /// Encodes onto the output unless `admit` refuses the encoded size (then nothing stays).
    fn append(
        &mut self,
        encode: impl FnOnce(&mut Vec<u8>),
        admit: impl FnOnce(usize) -> bool,
    ) -> bool {
        let mark = self.out.len();
        encode(&mut self.out);
        if admit(self.out.len() - mark) {
            return true;
        }
        self.out.truncate(mark);
        false
    }

    /// The reply in turn is in `out`: the next one is due.
    fn in_turn(&mut self, read_at: Instant, replies: &mut u64) {
        self.next += 1;
        *replies += 1;
        self.out_oldest = Some(self.out_oldest.map_or(read_at, |o| o.min(read_at)));
    }

    /// Claims the writes: false while the socket is full or another thread writes.
    pub(crate) fn start_writing(&mut self) -> bool {
        if self.blocked || self.writing {
            return false;
        }
        self.writing = true;
        true
    }

    /// The in-order bytes for the next write, and the oldest read time among their replies;
    /// `None` when nothing is left. Others append to a fresh buffer meanwhile.
    pub(crate) fn take_chunk(&mut self) -> Option<(Vec<u8>, Option<Instant>)> {
        if self.out.is_empty() {
            return None;
        }
        let spare = std::mem::take(&mut self.spare);
        let buf = std::mem::replace(&mut self.out, spare);
        Some((buf, self.out_oldest.take()))
    }

    /// `sent` bytes of `buf` (from [`Reorder::take_chunk`]) went out; `full`: the socket took
    /// no more. Returns whether to write on: unsent bytes go back in front of what others
    /// appended meanwhile, and the writes stop.
    pub(crate) fn chunk_written(&mut self, mut buf: Vec<u8>, sent: usize, full: bool) -> bool {
        if sent < buf.len() {
            buf.drain(..sent);
            buf.extend_from_slice(&self.out);
            self.out.clear();
            self.spare = std::mem::replace(&mut self.out, buf);
            self.blocked = full;
            return false;
        }
        buf.clear();
        self.spare = buf;
        true
    }

    /// Releases the writes claimed by [`Reorder::start_writing`].
    pub(crate) fn stop_writing(&mut self) {
        self.writing = false;
    }

    /// The socket takes writes again.
    pub(crate) fn unblock(&mut self) {
        self.blocked = false;
    }

    pub(crate) fn is_blocked(&self) -> bool {
        self.blocked
    }

    /// The writer task must act: wait for room, or finish.
    pub(crate) fn needs_writer(&self) -> bool {
        self.blocked || self.finished()
    }

    /// Whether the reader's last request is answered and written.
    pub(crate) fn finished(&self) -> bool {
        self.end.is_some_and(|e| self.next >= e) && self.out.is_empty() && !self.writing
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn reply(seq: u64, text: &str, read_at: Instant) -> Outgoing {
        Outgoing::Reply {
            seq,
            lines: text.as_bytes().to_vec(),
            read_at,
        }
    }

    fn notice(text: &str) -> Outgoing {
        Outgoing::Notify {
            lines: text.as_bytes().to_vec(),
        }
    }

    fn filed(replies: u64, due: bool, awaited: bool) -> Filed {
        Filed {
            replies,
            due,
            awaited,
        }
    }

    /// Writes everything in order as a socket taking it all would, returning the bytes and
    /// the oldest read time among their replies.
    fn write_all(r: &mut Reorder) -> (Vec<u8>, Option<Instant>) {
        let mut written = Vec::new();
        let mut oldest = None;
        assert!(r.start_writing());
        while let Some((buf, t)) = r.take_chunk() {
            written.extend_from_slice(&buf);
            oldest = oldest.or(t);
            let sent = buf.len();
            assert!(r.chunk_written(buf, sent, false));
        }
        r.stop_writing();
        (written, oldest)
    }

    #[test]
    fn a_reply_in_turn_is_due_once_its_read_is_answered() {
        let t = Instant::now();
        let mut r = Reorder::default();
        r.note_read(1);
        assert_eq!(r.file(reply(0, "r0\n", t)), filed(1, true, true));
        assert_eq!(write_all(&mut r), (b"r0\n".to_vec(), Some(t)));
        assert!(!r.needs_writer());
    }

    #[test]
    fn replies_filed_out_of_order_leave_in_request_order() {
        let t = Instant::now();
        let mut r = Reorder::default();
        r.note_read(3);
        assert_eq!(r.file(reply(2, "r2\n", t)), filed(0, false, false));
        assert_eq!(r.file(reply(1, "r1\n", t)), filed(0, false, false));
        // Out of turn, the bytes wait outside the output: nothing to write yet.
        assert!(r.start_writing());
        assert!(r.take_chunk().is_none());
        r.stop_writing();
        assert_eq!(r.file(reply(0, "r0\n", t)), filed(3, true, true));
        assert_eq!(write_all(&mut r).0, b"r0\nr1\nr2\n");
    }

    #[test]
    fn a_read_answered_in_full_leaves_while_a_later_read_is_pending() {
        let t = Instant::now();
        let mut r = Reorder::default();
        r.note_read(2);
        r.note_read(3);
        assert_eq!(r.file(reply(0, "r0\n", t)), filed(1, false, false));
        assert_eq!(r.file(reply(1, "r1\n", t)), filed(1, true, true));
        assert_eq!(write_all(&mut r).0, b"r0\nr1\n");
        // The second read is pending: its answer will carry the report.
        assert_eq!(r.file(notice("n\n")), filed(0, false, false));
        assert_eq!(r.file(reply(2, "r2\n", t)), filed(1, true, true));
        assert_eq!(write_all(&mut r).0, b"n\nr2\n");
    }

    #[test]
    fn the_end_of_the_stream_makes_filed_bytes_awaited_and_finishes_once_written() {
        let t = Instant::now();
        let mut r = Reorder::default();
        r.note_read(1);
        assert_eq!(r.file(notice("n\n")), filed(0, false, false));
        assert_eq!(r.file(Outgoing::End { seqs: 1 }), filed(0, true, true));
        assert!(!r.finished());
        assert_eq!(r.file(reply(0, "r0\n", t)), filed(1, true, true));
        assert!(!r.finished(), "answered but not written");
        assert_eq!(write_all(&mut r).0, b"n\nr0\n");
        assert!(r.finished() && r.needs_writer());
    }

    #[test]
    fn the_end_of_a_stream_with_nothing_pending_finishes_at_once() {
        let mut r = Reorder::default();
        assert_eq!(r.file(Outgoing::End { seqs: 0 }), filed(0, false, false));
        assert!(r.finished());
    }

    #[test]
    fn reports_with_no_read_pending_are_due_but_unsolicited() {
        let mut r = Reorder::default();
        assert_eq!(r.file(notice("fill\n")), filed(0, true, false));
        assert_eq!(
            r.file_notice(|b| b.extend_from_slice(b"fill\n"), |_| true),
            Some(filed(0, true, false))
        );
        assert_eq!(write_all(&mut r), (b"fill\nfill\n".to_vec(), None));
    }

    #[test]
    fn output_past_the_coalesce_limit_is_awaited_while_a_read_is_pending() {
        let mut r = Reorder::default();
        r.note_read(1);
        let big = "x".repeat(COALESCE_LIMIT - 1) + "\n";
        assert_eq!(r.file(notice(&big)), filed(0, true, true));
    }

    #[test]
    fn unsent_bytes_go_back_in_front_of_later_ones_and_block_the_writes() {
        let t = Instant::now();
        let mut r = Reorder::default();
        r.file(reply(0, "r0\n", t));
        assert!(r.start_writing());
        let (buf, _) = r.take_chunk().expect("bytes in order");
        // Another thread appends while this one writes.
        r.file(reply(1, "r1\n", t));
        assert!(!r.chunk_written(buf, 1, true));
        r.stop_writing();
        assert!(r.is_blocked() && r.needs_writer());
        assert!(
            !r.start_writing(),
            "a full socket waits for the writer task"
        );
        r.unblock();
        assert_eq!(write_all(&mut r).0, b"0\nr1\n");
    }

    #[test]
    fn a_write_reports_the_oldest_read_time_among_its_replies() {
        let t = Instant::now();
        let mut r = Reorder::default();
        r.note_read(2);
        r.file(reply(1, "r1\n", t));
        r.file(reply(0, "r0\n", t + Duration::from_millis(1)));
        assert_eq!(write_all(&mut r).1, Some(t));
    }

    #[test]
    fn a_run_of_replies_settles_once_as_its_replies_one_by_one_would() {
        let t = Instant::now();
        let encode =
            |seq: &u64, b: &mut Vec<u8>| b.extend_from_slice(format!("r{seq}\n").as_bytes());
        let (mut one_by_one, mut run) = (Reorder::default(), Reorder::default());
        for r in [&mut one_by_one, &mut run] {
            r.note_read(2);
            r.note_read(4);
        }
        let seqs = [1, 0, 2, 3];
        let mut each = Filed::default();
        for seq in &seqs[..3] {
            let f = one_by_one
                .file_reply(*seq, t, |b| encode(seq, b), |_| true)
                .expect("admitted");
            each = filed(
                each.replies + f.replies,
                each.due || f.due,
                each.awaited || f.awaited,
            );
        }
        // The fourth is refused: the run stops there.
        let admitted = std::cell::Cell::new(0);
        let admit = |_| {
            admitted.set(admitted.get() + 1);
            admitted.get() <= 3
        };
        let (f, n) = run.file_replies(&seqs, |&s| (s, t), encode, admit);
        assert_eq!((f, n), (each, 3));
        assert_eq!(f, filed(3, true, true));
        assert_eq!(write_all(&mut run).0, b"r0\nr1\nr2\n");
        assert_eq!(write_all(&mut one_by_one).0, b"r0\nr1\nr2\n");
    }

    #[test]
    fn refused_bytes_are_not_filed() {
        let t = Instant::now();
        let mut r = Reorder::default();
        let encode = |b: &mut Vec<u8>| b.extend_from_slice(b"r\n");
        assert_eq!(r.file_reply(0, t, encode, |_| false), None);
        assert_eq!(r.file_reply(1, t, encode, |_| false), None);
        assert_eq!(r.file_notice(encode, |n| n != 2), None);
        assert!(r.start_writing());
        assert!(r.take_chunk().is_none());
        r.stop_writing();
        assert_eq!(
            r.file_reply(0, t, encode, |n| n == 2),
            Some(filed(1, true, false))
        );
    }
}
