//! `LineFramer` over arbitrary bytes cut into arbitrary chunks.
//!
//! Input layout: byte 0 picks the frame limit (1..=64, small so over-long lines are common),
//! byte 1 seeds the chunk sizes, the rest is the stream. Checked: no panic; every frame is
//! within the limit, holds no newline and is not blank; and the frames do not depend on how
//! the stream was cut (the same stream pushed whole gives the same items).

#![no_main]

use std::num::NonZeroUsize;

use libfuzzer_sys::fuzz_target;
use sedaflow_stages::codec::{FrameError, LineFramer};

type Item = Result<Vec<u8>, FrameError>;

fn drain(framer: &mut LineFramer, max: usize, items: &mut Vec<Item>) {
    while let Some(item) = framer.next_frame() {
        if let Ok(frame) = item {
            assert!(frame.len() <= max, "frame over the limit: {frame:?}");
            assert!(!frame.contains(&b'\n'), "frame holds a newline: {frame:?}");
            assert!(
                !frame.iter().all(|&b| matches!(b, b' ' | b'\t' | b'\r')),
                "blank frame: {frame:?}"
            );
        }
        items.push(item.map(<[u8]>::to_vec));
    }
}

fuzz_target!(|data: &[u8]| {
    let [limit, seed, stream @ ..] = data else {
        return;
    };
    let max = usize::from(limit % 64) + 1;
    let limit = NonZeroUsize::new(max).expect("at least 1");

    let mut chunked = LineFramer::with_max_len(limit);
    let mut got = Vec::new();
    let mut rest = stream;
    let mut state = u32::from(*seed) | 1;
    while !rest.is_empty() {
        // xorshift: chunk sizes 0..=16, empty pushes included.
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let size = (state % 17) as usize;
        let (chunk, tail) = rest.split_at(size.min(rest.len()));
        chunked.push(chunk);
        drain(&mut chunked, max, &mut got);
        rest = tail;
    }

    let mut whole = LineFramer::with_max_len(limit);
    let mut want = Vec::new();
    whole.push(stream);
    drain(&mut whole, max, &mut want);
    assert_eq!(got, want, "frames depend on the chunking");
    assert_eq!(chunked.has_partial(), whole.has_partial());
});
