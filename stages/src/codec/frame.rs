use std::num::NonZeroUsize;

use super::FrameError;

/// The default frame limit, in bytes, not counting the line ending.
pub const DEFAULT_MAX_FRAME_LEN: NonZeroUsize = match NonZeroUsize::new(4096) {
    Some(len) => len,
    None => unreachable!(),
};

/// Splits a byte stream into `\n`-terminated lines, incrementally, like Netty's
/// `LineBasedFrameDecoder`.
///
/// Feed it what the socket gave with [`push`](LineFramer::push), then take frames with
/// [`next_frame`](LineFramer::next_frame) until it returns `None`. A `\r` before the `\n`
/// is stripped; blank lines (only spaces, tabs or `\r`) yield nothing. A line longer than
/// the limit yields exactly one [`FrameError::TooLong`] as soon as it is known to be too
/// long, and its bytes are dropped up to and including its newline however many chunks it
/// spans, so the framer holds at most the limit plus one chunk.
///
/// # Examples
///
/// ```
/// use sedaflow_stages::codec::LineFramer;
///
/// let mut framer = LineFramer::new();
/// framer.push(b"{\"op\":\"ping\"}\r\n\n{\"op\":");
/// assert_eq!(framer.next_frame(), Some(Ok(&b"{\"op\":\"ping\"}"[..])));
/// assert_eq!(framer.next_frame(), None);
/// assert!(framer.has_partial());
/// framer.push(b"\"ping\"}\n");
/// assert_eq!(framer.next_frame(), Some(Ok(&b"{\"op\":\"ping\"}"[..])));
/// assert!(!framer.has_partial());
/// ```
#[derive(Debug)]
pub struct LineFramer {
    buf: Vec<u8>,
    /// Where the next frame starts in `buf`; bytes before it were handed out.
    start: usize,
    /// `buf[start..scanned]` holds no newline.
    scanned: usize,
    max_len: usize,
    /// Inside a line already reported too long: drop input up to its newline.
    discarding: bool,
}

impl Default for LineFramer {
    fn default() -> LineFramer {
        LineFramer::new()
    }
}

impl LineFramer {
    /// A framer with the [default limit](DEFAULT_MAX_FRAME_LEN).
    pub fn new() -> LineFramer {
        LineFramer::with_max_len(DEFAULT_MAX_FRAME_LEN)
    }

    /// A framer refusing lines longer than `max_len` bytes (not counting the line ending).
    pub fn with_max_len(max_len: NonZeroUsize) -> LineFramer {
        LineFramer {
            buf: Vec::new(),
            start: 0,
            scanned: 0,
            max_len: max_len.get(),
            discarding: false,
        }
    }

    /// The frame limit in bytes.
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// Appends bytes read from the stream. Take the frames already available with
    /// [`next_frame`](LineFramer::next_frame) first, or they stay buffered.
    pub fn push(&mut self, chunk: &[u8]) {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.scanned -= self.start;
            self.start = 0;
        }
        let mut chunk = chunk;
        if self.discarding {
            match memchr::memchr(b'\n', chunk) {
                Some(newline) => {
                    self.discarding = false;
                    chunk = &chunk[newline + 1..];
                }
                None => return,
            }
        }
        self.buf.extend_from_slice(chunk);
    }

    /// The next complete frame, without its line ending; `Some(Err(TooLong))` once per
    /// over-long line; `None` when more input is needed.
    pub fn next_frame(&mut self) -> Option<Result<&[u8], FrameError>> {
        loop {
            let Some(newline) = memchr::memchr(b'\n', &self.buf[self.scanned..]) else {
                self.scanned = self.buf.len();
                let pending = &self.buf[self.start..];
                // A trailing '\r' may be the start of "\r\n", so it does not count yet.
                let len = pending.len() - usize::from(pending.last() == Some(&b'\r'));
                if len > self.max_len {
                    self.buf.clear();
                    self.start = 0;
                    self.scanned = 0;
                    self.discarding = true;
                    return Some(Err(FrameError::TooLong));
                }
                return None;
            };
            let newline = self.scanned + newline;
            let begin = self.start;
            self.start = newline + 1;
            self.scanned = self.start;
            let mut end = newline;
            if end > begin && self.buf[end - 1] == b'\r' {
                end -= 1;
            }
            if end - begin > self.max_len {
                return Some(Err(FrameError::TooLong));
            }
            let line = &self.buf[begin..end];
            if !line.iter().all(|&b| matches!(b, b' ' | b'\t' | b'\r')) {
                return Some(Ok(&self.buf[begin..end]));
            }
        }
    }

    /// Whether part of a frame has arrived without its newline (including the rest of an
    /// over-long line still being discarded). Meaningful once
    /// [`next_frame`](LineFramer::next_frame) returned `None`; a server times such a frame
    /// out against clients that send slowly.
    pub fn has_partial(&self) -> bool {
        self.discarding || self.start < self.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    type Item = Result<Vec<u8>, FrameError>;

    fn framer(max: usize) -> LineFramer {
        LineFramer::with_max_len(NonZeroUsize::new(max).unwrap())
    }

    fn drain(framer: &mut LineFramer) -> Vec<Item> {
        let mut items = Vec::new();
        while let Some(item) = framer.next_frame() {
            items.push(item.map(<[u8]>::to_vec));
        }
        items
    }

    fn feed(framer: &mut LineFramer, chunks: &[&[u8]]) -> Vec<Item> {
        let mut items = Vec::new();
        for chunk in chunks {
            framer.push(chunk);
            items.extend(drain(framer));
        }
        items
    }

    fn ok(frame: &str) -> Item {
        Ok(frame.as_bytes().to_vec())
    }

    #[test]
    fn splits_lines_and_strips_cr() {
        let mut f = LineFramer::new();
        let items = feed(&mut f, &[b"a\nbb\r\nc\rc\n"]);
        assert_eq!(items, [ok("a"), ok("bb"), ok("c\rc")]);
        assert!(!f.has_partial());
    }

    #[test]
    fn joins_frames_across_chunks() {
        let mut f = LineFramer::new();
        let items = feed(&mut f, &[b"{\"op\"", b":\"ping", b"\"}\r", b"\nx", b"y\n"]);
        assert_eq!(items, [ok("{\"op\":\"ping\"}"), ok("xy")]);
    }

    #[test]
    fn blank_lines_yield_nothing() {
        let mut f = LineFramer::new();
        let items = feed(&mut f, &[b"\n\r\n  \n\t\r\n", b"\n", b"a\n\n"]);
        assert_eq!(items, [ok("a")]);
    }

    #[test]
    fn limit_counts_the_line_without_its_ending() {
        let mut f = framer(4);
        let items = feed(&mut f, &[b"1234\n12345\n1234\r\nabcd"]);
        assert_eq!(items, [ok("1234"), Err(FrameError::TooLong), ok("1234")]);
        // Four pending bytes are still within the limit, and so is a trailing '\r'.
        assert!(f.has_partial());
        assert_eq!(feed(&mut f, &[b"\r"]), []);
        assert_eq!(feed(&mut f, &[b"\n"]), [ok("abcd")]);
    }

    #[test]
    fn over_long_line_in_one_chunk_is_skipped() {
        let mut f = framer(8);
        let items = feed(&mut f, &[b"ok\n0123456789abcdef\nnext\n"]);
        assert_eq!(items, [ok("ok"), Err(FrameError::TooLong), ok("next")]);
    }

    #[test]
    fn over_long_line_over_many_chunks_is_one_error_and_not_buffered() {
        let mut f = framer(8);
        let mut items = feed(&mut f, &[b"ok\n0123"]);
        for _ in 0..1000 {
            items.extend(feed(&mut f, &[b"0123456789"]));
            assert!(f.buf.len() <= 8 + 10, "discarded bytes were buffered");
            assert!(f.has_partial());
        }
        items.extend(feed(&mut f, &[b"tail\nnext\n"]));
        assert_eq!(items, [ok("ok"), Err(FrameError::TooLong), ok("next")]);
        assert!(!f.has_partial());
    }

    #[test]
    fn reports_too_long_as_soon_as_it_is_known() {
        let mut f = framer(4);
        assert_eq!(feed(&mut f, &[b"12345"]), [Err(FrameError::TooLong)]);
        assert_eq!(feed(&mut f, &[b"678\nab\n"]), [ok("ab")]);
    }

    #[test]
    fn framer_can_move_to_another_thread() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<LineFramer>();
    }

    #[test]
    fn partial_state() {
        let mut f = LineFramer::default();
        assert_eq!(f.max_len(), 4096);
        assert!(!f.has_partial());
        f.push(b"{");
        assert_eq!(f.next_frame(), None);
        assert!(f.has_partial());
        f.push(b"}\n");
        assert_eq!(f.next_frame(), Some(Ok(&b"{}"[..])));
        assert!(!f.has_partial());
    }

    /// The frames of a whole input, the obvious way.
    fn reference(input: &[u8], max: usize) -> Vec<Item> {
        let mut items = Vec::new();
        let mut lines: Vec<&[u8]> = input.split(|&b| b == b'\n').collect();
        let unterminated = lines.pop().unwrap_or_default();
        for line in lines {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.len() > max {
                items.push(Err(FrameError::TooLong));
            } else if !line.iter().all(|&b| matches!(b, b' ' | b'\t' | b'\r')) {
                items.push(Ok(line.to_vec()));
            }
        }
        let pending = unterminated.strip_suffix(b"\r").unwrap_or(unterminated);
        if pending.len() > max {
            items.push(Err(FrameError::TooLong));
        }
        items
    }

    proptest! {
        #[test]
        fn any_chunking_gives_the_same_frames(
            input in proptest::collection::vec(
                prop_oneof![Just(b'\n'), Just(b'\r'), Just(b' '), Just(b'a'), Just(b'b')],
                0..200,
            ),
            cuts in proptest::collection::vec(0usize..200, 0..20),
            max in 1usize..12,
        ) {
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(input.len())).collect();
            cuts.push(0);
            cuts.push(input.len());
            cuts.sort_unstable();
            let chunks: Vec<&[u8]> = cuts.windows(2).map(|w| &input[w[0]..w[1]]).collect();
            let mut f = framer(max);
            prop_assert_eq!(feed(&mut f, &chunks), reference(&input, max));
        }
    }
}
