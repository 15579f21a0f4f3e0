//! Public market data on the HTTP port: the handle the routes share with the market-data
//! stage, the HTTP snapshots (`GET /depth`, `/trades`, `/klines`), the last traded symbol (for
//! the page) and the ticker that closes candles. The WebSocket itself is `ws`, the page `page`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::StatusCode;
use sedaflow::{Pipeline, Publisher, PublisherError};
use thiserror::Error;
use tokio::sync::{oneshot, watch};

use super::http::reply;
use crate::config::MarketConfig;
use crate::internal_events::MarketMetrics;
use crate::market::{encode_message, Message, Snapshot};
use crate::matching::Symbol;
use crate::pipeline::{MarketIn, Subscriber};

/// How often each lane of the stage is ticked: a candle closes within this (plus the queue)
/// after its interval ends, well inside the contract's second.
const TICK: Duration = Duration::from_millis(250);

/// What the HTTP routes and the WebSocket sockets share: the way into the market-data stage.
pub(crate) struct Market {
    input: Publisher<MarketIn>,
    lanes: u64,
    cap: usize,
    next_id: AtomicU64,
    metrics: MarketMetrics,
}

impl Market {
    /// The handle of `pipeline`'s market-data stage.
    ///
    /// # Errors
    /// When the pipeline has no market-data stage to publish to.
    pub(crate) fn new(
        pipeline: &Pipeline,
        config: &MarketConfig,
        metrics: MarketMetrics,
    ) -> Result<Arc<Market>, PublisherError> {
        let input = pipeline.publisher::<MarketIn>()?;
        let lanes = pipeline.lanes(crate::pipeline::MARKET_STAGE).unwrap_or(1);
        Ok(Arc::new(Market {
            input,
            lanes: lanes as u64,
            cap: config.unsent_cap.get(),
            next_id: AtomicU64::new(1),
            metrics,
        }))
    }

    /// A new subscriber, with the configured cap.
    pub(crate) fn subscriber(&self) -> Arc<Subscriber> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        Arc::new(Subscriber::new(id, self.cap))
    }

    pub(crate) fn metrics(&self) -> &MarketMetrics {
        &self.metrics
    }

    /// Hands `event` to the stage, waiting while its queue is full.
    ///
    /// # Errors
    /// When the pipeline is shutting down; the event is dropped.
    pub(crate) async fn send(&self, event: MarketIn) -> Result<(), Closed> {
        self.input
            .publish(event)
            .await
            .map(drop)
            .map_err(|_| Closed)
    }

    /// Answers `GET path?query` if it is a snapshot request: `200` with the snapshot, `400`
    /// with an `error` for a bad query, `503` while shutting down. `None` for other paths.
    pub(crate) async fn snapshot(
        &self,
        path: &str,
        query: Option<&str>,
    ) -> Option<hyper::Response<Full<Bytes>>> {
        let snapshot = match Snapshot::parse(path, query)? {
            Ok(snapshot) => snapshot,
            Err(reason) => {
                let mut body = Vec::new();
                encode_message(&Message::Error(reason), &mut body);
                return Some(reply(StatusCode::BAD_REQUEST, body.into()));
            }
        };
        let (tx, rx) = oneshot::channel();
        let answered = match self.send(MarketIn::Snapshot(snapshot, tx)).await {
            Ok(()) => rx.await.ok(),
            Err(Closed) => None,
        };
        Some(match answered {
            Some(body) => reply(StatusCode::OK, body.into()),
            None => reply(StatusCode::SERVICE_UNAVAILABLE, "shutting down\n".into()),
        })
    }

    /// The most recently traded symbol (the market page's default): the newest of the lanes'
    /// latest trades. `None` while nothing has traded, or while shutting down.
    pub(crate) async fn last_traded(&self) -> Option<Symbol> {
        let mut answers = Vec::with_capacity(self.lanes as usize);
        for lane in 0..self.lanes {
            let (reply, answer) = oneshot::channel();
            self.send(MarketIn::Latest { lane, reply }).await.ok()?;
            answers.push(answer);
        }
        let mut latest = None;
        for answer in answers {
            latest = latest.max(answer.await.ok().flatten());
        }
        latest.map(|trade| trade.symbol)
    }

    /// Ticks every lane of the stage until the server stops.
    pub(crate) async fn tick(self: Arc<Market>, mut stop: watch::Receiver<bool>) {
        let mut every = tokio::time::interval(TICK);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.changed() => return,
                _ = every.tick() => {}
            }
            let now_ms = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
            for lane in 0..self.lanes {
                if self.send(MarketIn::Tick { lane, now_ms }).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// The pipeline no longer takes events: the server is stopping.
#[derive(Debug, Error)]
#[error("market data: the server is shutting down")]
pub(crate) struct Closed;
