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
    AFTER.with(|a| std::mem::take(&mut *a.borrow_mut()))
}
