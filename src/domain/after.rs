//! Work a batch leaves for after its lane is released.
//!
//! A lane is held while its stages compute. IO the batch caused (socket writes, say) needs
//! none of the lane's state, so a handler can leave it for after the release
//! ([`Context::after_release`](crate::Context::after_release)): another thread can then run
//! the lane's next batch while this one writes, instead of waiting behind a `send`.

use std::cell::RefCell;

type Work = Box<dyn FnOnce()>;

thread_local! {
    static AFTER: RefCell<Vec<Work>> = const { RefCell::new(Vec::new()) };
}

/// Leaves `work` for this thread to run once the running lane is released.
pub(crate) fn push(work: Work) {
    AFTER.with(|a| a.borrow_mut().push(work));
}

/// What the batches run on this thread left behind, oldest first.
pub(crate) fn take() -> Vec<Work> {
    AFTER.with(|a| {
        let mut a = a.borrow_mut();
        match a.is_empty() {
            // Nothing left: the room stays for the next batch.
            true => Vec::new(),
            false => std::mem::take(&mut *a),
        }
    })
}

/// Runs `work` (from [`take`]) in order, then keeps its vector's room for the next batch's.
pub(crate) fn run(mut work: Vec<Work>) {
    for w in work.drain(..) {
        w();
    }
    AFTER.with(|a| {
        let mut a = a.borrow_mut();
        if a.is_empty() {
            *a = work;
        }
    });
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;

    use super::*;

    #[test]
    fn work_runs_in_order_and_its_room_stays_for_the_next_batch() {
        let ran = Rc::new(RefCell::new(Vec::new()));
        for i in 0..3 {
            let ran = ran.clone();
            push(Box::new(move || ran.borrow_mut().push(i)));
        }
        let work = take();
        let room = work.capacity();
        run(work);
        assert_eq!(*ran.borrow(), [0, 1, 2]);
        // Nothing left: the next take costs nothing, and the room is still there.
        assert_eq!(take().capacity(), 0);
        assert_eq!(AFTER.with(|a| a.borrow().capacity()), room);
    }
}
