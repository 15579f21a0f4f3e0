//! The order requests of one event-loop turn, handed to the pipeline together.
//!
//! Every stage pays per batch: queue hand-offs, clock readings, counters, and its code
//! brought back into the instruction cache. A TCP read that empties the socket carries only
//! what one client sent since its last read, an HTTP request one order, so a batch per read
//! or per request pays those costs for few orders. Instead, such a read joins its loop's
//! current turn: the first join of a turn spawns a task on the loop, which runs after the
//! tasks woken before it (the other connections whose input arrived with it) and publishes
//! everything gathered as one batch, admission first. Answers go back to each request's own
//! connection as before, each connection's in one write at the end of the turn.
//!
//! A TCP reader waits until its turn is [`Published`] before it reads again, as it waited
//! for its own publish before: a full pipeline still stops the reads (backpressure), and a
//! connection has at most one read in a turn. An HTTP request waits for its answer instead.
//! A read that filled the buffer does not join: it is a large batch already, with more
//! input behind it, and goes on at once, shed at the read if its connection is behind
//! (`admission::shed`, whose measure of waiting is the yield after such a read).
//!
//! The turn is the loop thread's own: sessions move between loops only between reads, HTTP
//! connections never, and the publishing task is spawned on that loop.

use std::cell::RefCell;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::LocalKey;

use sedaflow::Publisher;
use tokio::sync::Notify;

use super::loops::EventLoop;
use super::session::{self, SessionEnv};
use crate::admission::Admission;
use crate::internal_events::ServerMetrics;
use crate::pipeline::DecodeIn;

/// Set once a turn's requests are handed on (or refused).
#[derive(Debug, Default)]
pub(crate) struct Published {
    done: AtomicBool,
    notify: Notify,
}

impl Published {
    /// Waits until the turn is published.
    pub(crate) async fn wait(&self) {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            // Registered before the check: a publish between the two still wakes us.
            notified.as_mut().enable();
            if self.done.load(Ordering::Acquire) {
                return;
            }
            notified.await;
        }
    }

    fn set(&self) {
        self.done.store(true, Ordering::Release);
        self.notify.notify_waiters();
    }
}

/// What a thread gathered since its last publish.
struct Turn<T> {
    items: Vec<T>,
    /// Set while a publish is spawned that will take `items`.
    published: Option<Arc<Published>>,
}

impl<T> Turn<T> {
    const fn new() -> Self {
        Turn {
            items: Vec::new(),
            published: None,
        }
    }

    /// Everything gathered, and the signal to set once it is published; the next item starts
    /// a new turn.
    fn take(&mut self) -> (Vec<T>, Option<Arc<Published>>) {
        (std::mem::take(&mut self.items), self.published.take())
    }

    /// Gives a published turn's vector back (the publish emptied it), so the next turns
    /// gather without growing one anew.
    fn give_back(&mut self, items: Vec<T>) {
        if items.is_empty() && self.items.is_empty() && items.capacity() > self.items.capacity() {
            self.items = items;
        }
    }
}

thread_local! {
    static TURN: RefCell<Turn<DecodeIn>> = const { RefCell::new(Turn::new()) };
}

/// Adds `items` to this thread's `turn` and returns the turn's signal; the turn's first items
/// spawn `publish()` on the current runtime, which is to [`take`](Turn::take) the turn.
fn gather<T, F>(
    turn: &'static LocalKey<RefCell<Turn<T>>>,
    items: impl IntoIterator<Item = T>,
    publish: impl FnOnce() -> F,
) -> Arc<Published>
where
    F: Future<Output = ()> + Send + 'static,
{
    let (published, first) = turn.with_borrow_mut(|turn| {
        turn.items.extend(items);
        match &turn.published {
            Some(published) => (published.clone(), false),
            None => {
                let published = Arc::new(Published::default());
                turn.published = Some(published.clone());
                (published, true)
            }
        }
    });
    if first {
        tokio::spawn(publish());
    }
    published
}

/// Adds `frames` to this loop's turn, whose publish admits them. Must run on `home`'s
/// thread, which counts the turn's requests as handed on or refused.
pub(super) fn join(
    frames: impl IntoIterator<Item = DecodeIn>,
    env: &SessionEnv,
    home: &Arc<EventLoop>,
) -> Arc<Published> {
    gather(&TURN, frames, || {
        publish(Hand {
            input: env.input.clone(),
            admission: env.admission.clone(),
            metrics: env.metrics.clone(),
            home: home.clone(),
        })
    })
}

/// What publishing a turn needs.
struct Hand {
    input: Publisher<DecodeIn>,
    admission: Arc<Admission>,
    metrics: ServerMetrics,
    home: Arc<EventLoop>,
}

/// Publishes what the turn gathered (a turn that starts meanwhile spawns its own).
async fn publish(hand: Hand) {
    let (mut frames, published) = TURN.with_borrow_mut(Turn::take);
    let offered = session::requests(&frames);
    let (input, admission) = (&hand.input, &hand.admission);
    let refused = session::publish(&mut frames, |_| 0, input, admission, &hand.metrics).await;
    let counts = &hand.home.reads;
    counts
        .handed
        .fetch_add(offered as u64 - refused, Ordering::Relaxed);
    counts.refused.fetch_add(refused, Ordering::Relaxed);
    TURN.with_borrow_mut(|turn| turn.give_back(frames));
    if let Some(published) = published {
        published.set();
    }
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
        let (mut batch, published) = NUMBERS.with_borrow_mut(Turn::take);
        // Published after a wait, as a full pipeline would make it.
        tokio::task::yield_now().await;
        PUBLISHED.lock().unwrap().push(batch.clone());
        batch.clear();
        NUMBERS.with_borrow_mut(|turn| turn.give_back(batch));
        published.unwrap().set();
    }

    fn join_numbers(n: &[u32]) -> Arc<Published> {
        gather(&NUMBERS, n.iter().copied(), publish_numbers)
    }

    #[test]
    fn what_joins_in_one_turn_is_published_as_one_batch_and_awaited_together() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(async {
            // Three reads woken together: their tasks run before the publish, and each waits
            // for it.
            let woken: Vec<_> = [&[1, 2][..], &[3], &[4, 5, 6]]
                .into_iter()
                .map(|read| {
                    let read = read.to_vec();
                    tokio::spawn(async move {
                        let published = join_numbers(&read);
                        assert!(PUBLISHED.lock().unwrap().is_empty());
                        published.wait().await;
                        PUBLISHED.lock().unwrap().len()
                    })
                })
                .collect();
            for task in woken {
                assert_eq!(task.await.unwrap(), 1, "each read saw its turn published");
            }
            assert_eq!(*PUBLISHED.lock().unwrap(), [vec![1, 2, 3, 4, 5, 6]]);
            // The next ones start a turn of their own, in the room the first one left.
            let room = NUMBERS.with_borrow(|turn| turn.items.capacity());
            assert!(room >= 6, "the published turn's vector came back");
            let a = join_numbers(&[7]);
            let b = join_numbers(&[8]);
            assert!(Arc::ptr_eq(&a, &b));
            b.wait().await;
            assert_eq!(
                *PUBLISHED.lock().unwrap(),
                [vec![1, 2, 3, 4, 5, 6], vec![7, 8]]
            );
            let c = join_numbers(&[9]);
            assert!(!Arc::ptr_eq(&a, &c), "a new turn, a new signal");
            c.wait().await;
        });
    }
}
