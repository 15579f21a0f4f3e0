//! The output of a connection that is a single HTTP request: the one reply its task waits for.

use std::cell::RefCell;
use std::time::Instant;

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::codec::{encode_array, encode_response, Response};

/// Where an HTTP request's reply is filed for the request's task: a slot and its signal, no
/// channel to allocate per request. Anything else addressed to the request's connection (a
/// later fill of an order it left resting) has nowhere to go.
#[derive(Debug, Default)]
pub(crate) struct Answer {
    reply: Mutex<Option<(Bytes, Instant)>>,
    filed: Notify,
}

thread_local! {
    /// Where a thread encodes answers before copying each out at its exact size: a body is
    /// then one allocation, which `Bytes` takes without a shared header of its own.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// The HTTP body answering `responses`: their JSON array, or a lone `error` object (the body
/// of a `400`).
pub(crate) fn body(responses: &[Response]) -> Bytes {
    SCRATCH.with_borrow_mut(|out| {
        out.clear();
        match responses {
            [error @ Response::Error(_)] => encode_response(error, out),
            _ => encode_array(responses, out),
        }
        Bytes::copy_from_slice(out)
    })
}

impl Answer {
    /// Files the reply: its [`body`], and when its request was read.
    pub(crate) fn put(&self, body: Bytes, read_at: Instant) {
        *self.reply.lock() = Some((body, read_at));
        // A permit if the task does not wait yet: it finds the reply or the permit.
        self.filed.notify_one();
    }

    /// Waits until the reply is filed and takes it.
    pub(crate) async fn reply(&self) -> (Bytes, Instant) {
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
    fn a_body_is_the_array_of_the_responses_or_a_lone_error() {
        use crate::codec::ErrorReason;
        let body = |responses: &[Response]| String::from_utf8(body(responses).to_vec()).unwrap();
        let error = Response::Error(ErrorReason::InvalidJson);
        assert_eq!(body(&[]), "[]");
        assert_eq!(body(&[Response::Pong]), r#"[{"type":"pong"}]"#);
        assert_eq!(
            body(std::slice::from_ref(&error)),
            r#"{"type":"error","reason":"invalid json"}"#
        );
        assert_eq!(
            body(&[Response::Pong, error]),
            r#"[{"type":"pong"},{"type":"error","reason":"invalid json"}]"#
        );
    }

    #[test]
    fn the_task_gets_the_reply_filed_before_or_while_it_waits() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let answer = std::sync::Arc::new(Answer::default());
        let at = Instant::now();
        answer.put(Bytes::from_static(b"before\n"), at);
        assert_eq!(
            runtime.block_on(answer.reply()),
            (Bytes::from_static(b"before\n"), at)
        );
        let filer = answer.clone();
        let waiting = runtime.spawn(async move { answer.reply().await });
        runtime.block_on(async {
            tokio::task::yield_now().await;
            filer.put(Bytes::from_static(b"while\n"), at);
            assert_eq!(waiting.await.unwrap(), (Bytes::from_static(b"while\n"), at));
        });
    }
}
