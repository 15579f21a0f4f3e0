//! Following a stream's subject in order, as JetStream's ordered consumer does, but quick to
//! notice a lost consumer. async-nats's ordered consumer has the server send an idle heartbeat
//! every 15 s and recreates its consumer at the second one missed: a consumer lost with a
//! restarted NATS server (ordered consumers live in the server's memory) left an ingress
//! without responses for most of a minute. Here the heartbeat comes every [`HEARTBEAT`], and
//! two missed, a gap in the consumer's sequence or any other error recreate the consumer
//! after the last message read.

use std::pin::Pin;
use std::time::Duration;

use async_nats::jetstream::consumer::{pull, AckPolicy, DeliverPolicy};
use async_nats::jetstream::Message;
use futures_util::{Stream, StreamExt};

use super::confirm::RETRY;
use super::{ClusterError, Log};

/// How often the server shows an idle consumer is alive: two missed, it is made again.
const HEARTBEAT: Duration = Duration::from_secs(1);

/// How long one pull request waits for messages (several heartbeats).
const EXPIRES: Duration = Duration::from_secs(10);

/// How long the server keeps a consumer nobody pulls from (one left behind by a recreation).
const INACTIVE: Duration = Duration::from_secs(30);

/// The messages followed, in stream order, each once; the stream never ends.
pub(crate) type Messages = Pin<Box<dyn Stream<Item = Message> + Send>>;

/// Where following starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Since {
    /// The stream's first message.
    Beginning,
    /// The first message published after the call.
    Now,
}

/// Follows `filter` in stream `stream` since `since`, for `what` (named in logs). The first
/// consumer is made before this returns: nothing published after the call is missed, even
/// when that consumer is lost before its first message.
///
/// # Errors
///
/// The stream or the first consumer could not be had.
pub(crate) async fn follow(
    log: &Log,
    (stream, filter): (String, String),
    since: Since,
    what: &'static str,
) -> Result<Messages, ClusterError> {
    let last = match since {
        Since::Beginning => 0,
        Since::Now => {
            let mut stream = log
                .js
                .get_stream(&stream)
                .await
                .map_err(ClusterError::js(what))?;
            let info = stream.info().await.map_err(ClusterError::js(what))?;
            info.state.last_sequence
        }
    };
    let mut follower = Follower {
        log: log.clone(),
        stream,
        filter,
        last,
        consumed: 0,
        messages: None,
        what,
    };
    follower.messages = Some(follower.open().await?);
    Ok(Box::pin(futures_util::stream::unfold(
        follower,
        |mut f| async move {
            let message = f.next().await;
            Some((message, f))
        },
    )))
}

struct Follower {
    log: Log,
    stream: String,
    filter: String,
    /// The stream sequence of the last message read (or of the one before the first to
    /// read): a new consumer starts after it.
    last: u64,
    /// The current consumer's sequence of that message: the next must follow it.
    consumed: u64,
    messages: Option<pull::Stream>,
    what: &'static str,
}

impl Follower {
    /// The next message; anything that goes wrong makes the consumer again, a pause later so a
    /// server that keeps failing is not flooded with requests.
    async fn next(&mut self) -> Message {
        loop {
            let why = match self.messages.as_mut() {
                None => match self.open().await {
                    Ok(messages) => {
                        self.messages = Some(messages);
                        continue;
                    }
                    Err(e) => e.to_string(),
                },
                Some(messages) => match messages.next().await {
                    Some(Ok(message)) => match message.info() {
                        Ok(info) if info.consumer_sequence == self.consumed + 1 => {
                            self.consumed = info.consumer_sequence;
                            self.last = info.stream_sequence;
                            return message;
                        }
                        Ok(_) => "a gap in the consumer's sequence".to_owned(),
                        Err(e) => e.to_string(),
                    },
                    Some(Err(e)) => e.to_string(),
                    None => "the consumer's messages ended".to_owned(),
                },
            };
            tracing::warn!(
                what = self.what,
                error = why,
                "following again from the last message read"
            );
            self.messages = None;
            tokio::time::sleep(RETRY).await;
        }
    }

    /// A consumer from after the last message read, and its messages.
    async fn open(&mut self) -> Result<pull::Stream, ClusterError> {
        let deliver_policy = DeliverPolicy::ByStartSequence {
            start_sequence: self.last + 1,
        };
        let config = pull::Config {
            filter_subject: self.filter.clone(),
            deliver_policy,
            ack_policy: AckPolicy::None,
            max_deliver: 1,
            inactive_threshold: INACTIVE,
            num_replicas: 1,
            memory_storage: true,
            ..Default::default()
        };
        let consumer = self
            .log
            .pull_consumer(&self.stream, config, self.what)
            .await?;
        self.consumed = 0;
        consumer
            .stream()
            .heartbeat(HEARTBEAT)
            .expires(EXPIRES)
            .messages()
            .await
            .map_err(ClusterError::js(self.what))
    }
}
