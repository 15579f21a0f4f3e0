//! A call's future, guarded: a panic in any poll ends the call with the panic's message
//! instead of unwinding into the runtime, and work the handler left for after its lane's
//! release runs when the poll that left it returns (an async lane holds no thread to release).

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::domain::after;
use crate::stage::panic_message;

/// Wraps a call's future; yields `Err(message)` if a poll panicked.
pub(crate) struct Guarded<F> {
    inner: Pin<Box<F>>,
}

impl<F: Future<Output = ()>> Guarded<F> {
    pub(crate) fn new(inner: F) -> Self {
        Guarded {
            inner: Box::pin(inner),
        }
    }
}

impl<F: Future<Output = ()>> Future for Guarded<F> {
    type Output = Result<(), String>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = &mut self.inner;
        let polled = catch_unwind(AssertUnwindSafe(|| inner.as_mut().poll(cx)));
        for work in after::take() {
            if catch_unwind(AssertUnwindSafe(work)).is_err() {
                tracing::warn!("work left for after release panicked");
            }
        }
        match polled {
            Ok(Poll::Ready(())) => Poll::Ready(Ok(())),
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => Poll::Ready(Err(panic_message(payload.as_ref()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
    use std::sync::Arc;
    use std::task::Waker;

    use super::*;

    fn poll_once<F: Future>(f: &mut Pin<Box<F>>) -> Poll<F::Output> {
        f.as_mut().poll(&mut Context::from_waker(Waker::noop()))
    }

    #[test]
    fn a_panicking_poll_ends_the_call_with_its_message() {
        let mut g = Box::pin(Guarded::new(async { panic!("service said no") }));
        assert_eq!(
            poll_once(&mut g),
            Poll::Ready(Err("service said no".into()))
        );
        let mut ok = Box::pin(Guarded::new(async {}));
        assert_eq!(poll_once(&mut ok), Poll::Ready(Ok(())));
    }

    #[test]
    fn after_release_work_runs_when_its_poll_returns() {
        let ran = Arc::new(AtomicBool::new(false));
        let flag = ran.clone();
        let mut g = Box::pin(Guarded::new(async move {
            after::push(Box::new(move || flag.store(true, Relaxed)));
            std::future::pending::<()>().await;
        }));
        assert_eq!(poll_once(&mut g), Poll::Pending);
        assert!(ran.load(Relaxed));
    }
}
