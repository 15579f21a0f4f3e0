use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use sedaflow_stages::matching::Symbol;

use super::book::LevelBook;
use super::check::Final;
use super::message::{parse, Frame};
use crate::{LoadgenError, SnapshotFailure};

/// How long one snapshot request may take: the server answers it in turn with the
/// market-data stage's other work, which may lag the order load by seconds.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The feed counts as quiet when every symbol's `seq` and last trade stay the same this long.
const QUIET: Duration = Duration::from_millis(200);
/// How long to wait for a quiet feed before taking the last snapshots anyway.
const QUIET_WAIT: Duration = Duration::from_secs(60);
/// A snapshot answer larger than this is refused (the protocol's books and 1000-trade
/// histories stay far below it).
const MAX_ANSWER: u64 = 16 << 20;

/// The `match` of `symbol`'s last trade (`GET /trades?limit=1`), if it has traded.
pub(crate) async fn last_match(
    http: SocketAddr,
    symbol: Symbol,
) -> Result<Option<u64>, LoadgenError> {
    #[derive(Deserialize)]
    struct Trade {
        #[serde(rename = "match")]
        match_id: u64,
    }
    let path = format!("/trades?symbol={}&limit=1", symbol.as_str());
    let body = get(http, &path).await?;
    let trades: Vec<Trade> = serde_json::from_str(&body).map_err(|_| LoadgenError::Snapshot {
        path,
        reason: SnapshotFailure::Body,
    })?;
    Ok(trades.last().map(|t| t.match_id))
}

/// `symbol`'s book (`GET /depth`) and the `seq` it shows.
async fn depth(http: SocketAddr, symbol: Symbol) -> Result<(u64, LevelBook), LoadgenError> {
    let path = format!("/depth?symbol={}", symbol.as_str());
    let body = get(http, &path).await?;
    match parse(&body) {
        Ok(Frame::Depth { seq, levels, .. }) => Ok((seq, LevelBook::of(&levels))),
        _ => Err(LoadgenError::Snapshot {
            path,
            reason: SnapshotFailure::Body,
        }),
    }
}

/// The final state of every symbol once the feed is quiet: snapshots taken until two in a
/// row, [`QUIET`] apart, agree on every `seq` and last trade (at most for [`QUIET_WAIT`]).
/// `match_at_start` is each symbol's last trade when the subscribers were ready.
pub(crate) async fn finals(
    http: SocketAddr,
    symbols: &[Symbol],
    match_at_start: &[Option<u64>],
) -> Result<Vec<Final>, LoadgenError> {
    let give_up = Instant::now() + QUIET_WAIT;
    let mut previous: Option<Vec<Final>> = None;
    loop {
        let mut now = Vec::with_capacity(symbols.len());
        for (&symbol, &at_start) in symbols.iter().zip(match_at_start) {
            let (seq, book) = depth(http, symbol).await?;
            now.push(Final {
                symbol,
                seq,
                book,
                last_match: last_match(http, symbol).await?,
                match_at_start: at_start,
            });
        }
        let quiet = previous.as_ref().is_some_and(|p| {
            p.iter()
                .zip(&now)
                .all(|(a, b)| (a.seq, a.last_match) == (b.seq, b.last_match))
        });
        if quiet || Instant::now() >= give_up {
            return Ok(now);
        }
        previous = Some(now);
        tokio::time::sleep(QUIET).await;
    }
}

/// `GET path` on its own connection: the body of a `200` answer.
async fn get(http: SocketAddr, path: &str) -> Result<String, LoadgenError> {
    let failed = |reason| LoadgenError::Snapshot {
        path: path.to_owned(),
        reason,
    };
    let answer = tokio::time::timeout(REQUEST_TIMEOUT, request(http, path))
        .await
        .map_err(|_| failed(SnapshotFailure::Io(std::io::ErrorKind::TimedOut.into())))?
        .map_err(|e| failed(SnapshotFailure::Io(e)))?;
    let text = String::from_utf8(answer).map_err(|_| failed(SnapshotFailure::Body))?;
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| failed(SnapshotFailure::Body))?;
    let status = head.lines().next().unwrap_or_default();
    if status.split(' ').nth(1) != Some("200") {
        return Err(failed(SnapshotFailure::Status(status.to_owned())));
    }
    Ok(body.to_owned())
}

/// Sends a `Connection: close` request and reads the answer to its end.
async fn request(http: SocketAddr, path: &str) -> std::io::Result<Vec<u8>> {
    let mut stream = TcpStream::connect(http).await?;
    let head = format!("GET {path} HTTP/1.1\r\nHost: {http}\r\nConnection: close\r\n\r\n");
    stream.write_all(head.as_bytes()).await?;
    let mut answer = Vec::new();
    stream.take(MAX_ANSWER).read_to_end(&mut answer).await?;
    Ok(answer)
}
