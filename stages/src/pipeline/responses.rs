//! The vectors that carry a request's responses from matching to encode, reused per thread.
//!
//! Every matched request's answer is a `Vec<Response>` made by matching and dropped by encode
//! once written. A batch's sixteen or so are all made before the first is dropped, which is
//! more than glibc's per-thread cache of freed blocks holds (seven per size), so most went
//! through the allocator's locked slow path both ways. A thread keeps the vectors its encode
//! batches emptied instead, for its next matching batch; encode usually runs on the thread that
//! matched (hand-off), and a thread that only encodes keeps at most [`KEPT`].

use std::cell::RefCell;

use crate::codec::Response;

/// Emptied vectors a thread keeps: a few batches' worth.
const KEPT: usize = 256;

/// The largest vector kept, in responses: an ordinary answer's room. A big answer's (an
/// `orders` listing hundreds of orders) is freed, so the spares stay a few hundred KiB.
const KEPT_ROOM: usize = 16;

thread_local! {
    static SPARE: RefCell<Vec<Vec<Response>>> = const { RefCell::new(Vec::new()) };
}

/// A fresh vector's room, in responses: an answer with a few fills, as `Vec`'s first growth
/// would give it.
const ROOM: usize = 4;

/// An empty vector with room for `n` responses, one this thread emptied if it has one.
/// Inlined into matching's per-order loop: as a call it took 3% of the server's samples at 8 × 64.
#[inline]
pub(crate) fn take(n: usize) -> Vec<Response> {
    match SPARE.with_borrow_mut(Vec::pop) {
        Some(mut v) => {
            v.reserve(n);
            v
        }
        None => Vec::with_capacity(n.max(ROOM)),
    }
}

/// Empties `v` and keeps it for this thread's next [`take`] (unless it is big).
pub(crate) fn give(mut v: Vec<Response>) {
    if v.capacity() == 0 || v.capacity() > KEPT_ROOM {
        return;
    }
    v.clear();
    SPARE.with(|s| {
        let mut spare = s.borrow_mut();
        if spare.len() < KEPT {
            spare.push(v);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_given_vector_comes_back_empty_to_the_same_thread_and_the_spares_are_bounded() {
        let mut v = take(4);
        v.push(Response::Pong);
        let buffer = v.as_ptr();
        give(v);
        let again = take(2);
        assert!(again.is_empty());
        assert_eq!(again.as_ptr(), buffer);
        give(Vec::with_capacity(KEPT_ROOM + 1));
        assert_eq!(
            SPARE.with(|s| s.borrow().len()),
            0,
            "a big vector is not kept"
        );
        for _ in 0..KEPT + 10 {
            give(Vec::with_capacity(1));
        }
        assert_eq!(SPARE.with(|s| s.borrow().len()), KEPT);
        // Another thread has spares of its own.
        std::thread::spawn(|| assert_eq!(SPARE.with(|s| s.borrow().len()), 0))
            .join()
            .unwrap();
    }
}
