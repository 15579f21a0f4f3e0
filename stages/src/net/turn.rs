//! The order requests of one event-loop turn, handed to the pipeline together.
//!
//! An HTTP connection carries one request at a time, so each `POST /orders` alone would be a
//! batch of one, paying every stage's per-batch costs (queue hand-offs, clock readings,
//! counters) for a single order. Instead a request joins its loop's current turn: the first
//! one of a turn spawns a task on the loop, which runs after the tasks woken before it (the
//! other connections whose requests arrived with it) and publishes everything gathered as
//! one batch, admission first, as a TCP read's frames go. Answers come back to each request's
//! own connection as before, so nothing else about a request changes.
//!
//! The turn is the loop thread's own: HTTP connections never leave the loop they are pinned
//! to, and the publishing task is spawned on that loop.

use std::cell::RefCell;
use std::future::Future;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::thread::LocalKey;

use super::super::loops::EventLoop;
use super::super::session::{self, SessionEnv};
use crate::pipeline::DecodeIn;

/// What a thread gathered since its last publish.
struct Turn<T> {
    items: Vec<T>,
    /// A publish is spawned and will take `items`.
    scheduled: bool,
}

impl<T> Turn<T> {
    const fn new() -> Self {
        Turn {
            items: Vec::new(),
            scheduled: false,
        }
    }

    /// Everything gathered; the next item starts a new turn.
    fn take(&mut self) -> Vec<T> {
        self.scheduled = false;
        std::mem::take(&mut self.items)
    }
}

thread_local! {
    static TURN: RefCell<Turn<DecodeIn>> = const { RefCell::new(Turn::new()) };
}

/// Adds `item` to this thread's `turn`; the turn's first item spawns `publish()` on the
/// current runtime, which is to [`take`](Turn::take) the turn.
fn gather<T, F>(turn: &'static LocalKey<RefCell<Turn<T>>>, item: T, publish: impl FnOnce() -> F)
where
    F: Future<Output = ()> + Send + 'static,
{
    let first = turn.with_borrow_mut(|turn| {
        turn.items.push(item);
        !std::mem::replace(&mut turn.scheduled, true)
    });
    if first {
        tokio::spawn(publish());
    }
}

/// Adds `frame` to this loop's turn. Must run on `home`'s thread, which counts the turn's
/// requests as handed on or refused.
pub(super) fn join(frame: DecodeIn, env: &Arc<SessionEnv>, home: &Arc<EventLoop>) {
    gather(&TURN, frame, || publish(env.clone(), home.clone()));
}

/// Publishes what the turn gathered (a turn that starts meanwhile spawns its own).
async fn publish(env: Arc<SessionEnv>, home: Arc<EventLoop>) {
    let mut frames = TURN.with_borrow_mut(Turn::take);
    let offered = frames.len() as u64;
    let refused = session::publish(&mut frames, usize::MAX, &env).await;
    home.reads.handed.fetch_add(offered - refused, Relaxed);
    home.reads.refused.fetch_add(refused, Relaxed);
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    thread_local! {
        static NUMBERS: RefCell<Turn<u32>> = const { RefCell::new(Turn::new()) };
    }

    static PUBLISHED: Mutex<Vec<Vec<u32>>> = Mutex::new(Vec::new());

    async fn publish_numbers() {
        let batch = NUMBERS.with_borrow_mut(Turn::take);
        PUBLISHED.lock().unwrap().push(batch);
    }

    fn join_number(n: u32) {
        gather(&NUMBERS, n, publish_numbers);
    }

    #[test]
    fn what_joins_in_one_turn_is_published_as_one_batch() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(async {
            // Three requests woken together: their tasks run before the publish.
            let woken: Vec<_> = (1..=3)
                .map(|n| tokio::spawn(async move { join_number(n) }))
                .collect();
            for task in woken {
                task.await.unwrap();
            }
            tokio::task::yield_now().await;
            assert_eq!(*PUBLISHED.lock().unwrap(), [vec![1, 2, 3]]);
            // The next ones start a turn of their own.
            join_number(4);
            join_number(5);
            tokio::task::yield_now().await;
            assert_eq!(*PUBLISHED.lock().unwrap(), [vec![1, 2, 3], vec![4, 5]]);
        });
    }
}
