//! The output of a connection that is a single HTTP request: the one reply its task waits for.

use std::time::Instant;

use parking_lot::Mutex;
use tokio::sync::Notify;

/// Where an HTTP request's reply is filed for the request's task: a slot and its signal, no
/// channel to allocate per request. Anything else addressed to the request's connection (a
/// later fill of an order it left resting) has nowhere to go.
#[derive(Debug, Default)]
pub(crate) struct Answer {
    reply: Mutex<Option<(Vec<u8>, Instant)>>,
    filed: Notify,
}

impl Answer {
    /// Files the reply: its encoded lines, and when its request was read.
    pub(crate) fn put(&self, lines: Vec<u8>, read_at: Instant) {
        *self.reply.lock() = Some((lines, read_at));
        // A permit if the task does not wait yet: it finds the reply or the permit.
        self.filed.notify_one();
    }

    /// Waits until the reply is filed and takes it.
    pub(crate) async fn reply(&self) -> (Vec<u8>, Instant) {
        loop {
            if let Some(reply) = self.reply.lock().take() {
                return reply;
            }
            self.filed.notified().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_task_gets_the_reply_filed_before_or_while_it_waits() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let answer = std::sync::Arc::new(Answer::default());
        let at = Instant::now();
        answer.put(b"before\n".to_vec(), at);
        assert_eq!(runtime.block_on(answer.reply()), (b"before\n".to_vec(), at));
        let filer = answer.clone();
        let waiting = runtime.spawn(async move { answer.reply().await });
        runtime.block_on(async {
            tokio::task::yield_now().await;
            filer.put(b"while\n".to_vec(), at);
            assert_eq!(waiting.await.unwrap(), (b"while\n".to_vec(), at));
        });
    }
}
