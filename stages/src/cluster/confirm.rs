//! Publishing until JetStream confirms. What an ingress appends and what a matcher answers
//! must reach their streams, and a confirmation may time out (a busy NATS server) although
//! the message was stored. Every message therefore carries an id, and one left unconfirmed is
//! published again under it: JetStream's duplicate window drops the second copy of a message
//! that got through.

use std::time::Duration;

use async_nats::jetstream::message::PublishMessage;
use bytes::Bytes;

use super::Log;

/// The pause before asking JetStream again (a publication it did not confirm, a consumer it
/// did not make).
pub(crate) const RETRY: Duration = Duration::from_millis(100);

/// A message for a log subject, under its id.
pub(crate) struct Publication {
    pub(crate) subject: String,
    pub(crate) payload: Bytes,
    pub(crate) id: String,
}

/// Messages JetStream did not confirm, and the first error, to be published again after
/// [`RETRY`].
pub(crate) type Unconfirmed<T> = (Vec<(T, Publication)>, String);

impl Log {
    /// Publishes every message at once, then awaits every confirmation, calling
    /// `confirmed(tag)` for each message confirmed.
    ///
    /// # Errors
    ///
    /// The messages not confirmed, which may or may not be stored: publishing them again is
    /// safe.
    pub(crate) async fn publish_confirmed<T>(
        &self,
        todo: Vec<(T, Publication)>,
        mut confirmed: impl FnMut(T),
    ) -> Result<(), Unconfirmed<T>> {
        let mut acks = Vec::with_capacity(todo.len());
        for (tag, message) in todo {
            let publish = PublishMessage::build()
                .payload(message.payload.clone())
                .message_id(message.id.as_str());
            let ack = self.js.send_publish(message.subject.clone(), publish).await;
            acks.push((tag, message, ack));
        }
        // Awaited together: each confirmation's timeout starts when it is awaited, so one after
        // another, a lost connection would cost every message of the round a timeout.
        let confirmations = acks.into_iter().map(|(tag, message, ack)| async move {
            let outcome = match ack {
                Ok(ack) => ack.await.map(drop).map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            (tag, message, outcome)
        });
        let (mut failed, mut error) = (Vec::new(), None);
        for (tag, message, outcome) in futures_util::future::join_all(confirmations).await {
            match outcome {
                Ok(()) => confirmed(tag),
                Err(e) => {
                    error.get_or_insert(e);
                    failed.push((tag, message));
                }
            }
        }
        match error {
            None => Ok(()),
            Some(e) => Err((failed, e)),
        }
    }
}
