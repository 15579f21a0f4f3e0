//! HTTP/1.1 order entry: `POST /orders` (one request per body) and `GET /healthz`, fed into
//! the same stages as the TCP stream. Each request is a connection of its own, never a
//! session: with `Authorization: Basic` it acts for that account (whose TCP sessions get the
//! later reports of its orders); without, in `open` mode, for an anonymous account of its own
//! (its later reports have nowhere to go and are counted as discarded).
//! Public market data is served here too: the snapshots (`market`), WebSocket `GET /ws`
//! (`ws`) and the market page `GET /` (`page`).
//!
//! Connections are accepted on the control runtime and served on the event loops, pinned to
//! the least busy one (see [`loops`](super::loops)): its single thread runs hyper and the
//! stages inline, with none of the thread hand-offs of a work-stealing runtime. The order
//! requests of one loop turn enter the stages as one batch ([`turn`]). Each `POST /orders`
//! body counts as a request read by that loop (the `net_read` stage), handed on or refused. A
//! WebSocket session, once upgraded, runs on the control runtime (see `ws`).

use std::convert::Infallible;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Instant;

use bytes::BytesMut;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use tokio::net::TcpListener;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use hyper::HeaderMap;
use parking_lot::Mutex;

use super::account::Account;
use super::conn::{Conn, Sink};
use super::loops::{EventLoop, Pinned};
use super::market::Market;
use super::output::{self, Answer};
use super::page;
use super::registry::Registry;
use super::session::SessionEnv;
use super::shaping::ConnShaper;
use super::turn;
use super::ws;
use crate::accounts::{Auth, LoginFailed};
use crate::codec::{ErrorReason, Response as Wire};
use crate::config::ReadScope;
use crate::internal_events::PauseReason;
use crate::pipeline::{DecodeIn, Frames};

/// Accepts until the stop signal; each connection is served on an event loop.
pub(crate) async fn serve(listener: TcpListener, mut env: SessionEnv, market: Arc<Market>) {
    loop {
        let accepted = tokio::select! {
            _ = env.stop.changed() => break,
            a = listener.accept() => a,
        };
        let Ok((stream, _)) = accepted else { continue };
        let Some(pinned) = env.loops.pin() else { break };
        // Registered again with the loop's reactor, on the loop.
        let Ok(stream) = stream.into_std() else {
            continue;
        };
        let (env, market) = (env.clone(), market.clone());
        let home = pinned.home().clone();
        home.spawn(connection(stream, pinned, env, market));
    }
}

/// Serves one connection on the loop it is pinned to, until it closes.
async fn connection(
    stream: std::net::TcpStream,
    pinned: Pinned,
    env: SessionEnv,
    market: Arc<Market>,
) {
    let Ok(stream) = tokio::net::TcpStream::from_std(stream) else {
        return;
    };
    let home = pinned.home().clone();
    // Shared by the connection's requests: one reference count each, not a copy of every
    // handle inside.
    let env = Arc::new(env);
    let shared = Arc::new(Shared::default());
    let service = hyper::service::service_fn(move |req| {
        let (env, market, home) = (env.clone(), market.clone(), home.clone());
        let shared = shared.clone();
        async move { Ok::<_, Infallible>(route(req, &env, &market, (&home, &shared)).await) }
    });
    let io = hyper_util::rt::TokioIo::new(stream);
    if let Err(e) = hyper::server::conn::http1::Builder::new()
        .serve_connection(io, service)
        .with_upgrades()
        .await
    {
        tracing::debug!(error = %e, "http connection ended with an error");
    }
    drop(pinned);
}

/// What one connection's requests share.
#[derive(Default)]
struct Shared {
    shaper: Mutex<ConnShaper>,
    /// The `Conn` the last order request was answered through: the next one renews it when
    /// nothing else holds it any more, instead of allocating its own.
    spare: Mutex<Option<Arc<Conn>>>,
}

async fn route(
    req: Request<Incoming>,
    env: &Arc<SessionEnv>,
    market: &Arc<Market>,
    (home, shared): (&Arc<EventLoop>, &Shared),
) -> Response<Full<Bytes>> {
    match (req.method(), req.uri().path()) {
        (&Method::GET, "/healthz") => reply(StatusCode::OK, "ok\n".into()),
        (&Method::GET, "/") => page::serve(market).await,
        (&Method::POST, "/orders") => {
            home.reads.read.fetch_add(1, Relaxed);
            order(req, env, home, shared).await
        }
        (&Method::GET, "/ws") => {
            let pinned = (home.pin(), &env.control);
            ws::upgrade(req, market, &env.limits, env.stop.clone(), pinned)
        }
        (&Method::GET, path) => match market.snapshot(path, req.uri().query()).await {
            Some(snapshot) => snapshot,
            None => reply(StatusCode::NOT_FOUND, "not found\n".into()),
        },
        _ => reply(StatusCode::NOT_FOUND, "not found\n".into()),
    }
}

/// Answers one order request. It is counted as refused at the read here (a failed login, a
/// body too long) or handed on or refused with its turn ([`turn`]); with traffic shaping on,
/// it waits out what its body owes first ([`shape`]).
async fn order(
    req: Request<Incoming>,
    env: &Arc<SessionEnv>,
    home: &Arc<EventLoop>,
    shared: &Shared,
) -> Response<Full<Bytes>> {
    let registry = &env.registry;
    let refused = || home.reads.refused.fetch_add(1, Relaxed);
    let account = match authorize(req.headers(), &env.auth, registry) {
        Ok(account) => account,
        Err(LoginFailed) => {
            registry.metrics().login(false);
            refused();
            return error(StatusCode::UNAUTHORIZED, ErrorReason::LoginFailed);
        }
    };
    let Some(body) = read_body(req.into_body(), env.limits.max_frame.get()).await else {
        refused();
        return error(StatusCode::BAD_REQUEST, ErrorReason::FrameTooLong);
    };
    if env.shaping.is_on() {
        shape(env, &shared.shaper, body.len()).await;
    }
    let id = registry.next_id();
    let spare = shared.spare.lock().take();
    let conn = spare.and_then(|c| Conn::renew(c, id)).unwrap_or_else(|| {
        Arc::new(Conn::new(
            id,
            Sink::Answer(Answer::default()),
            env.limits.write_hard_cap,
            env.metrics.clone(),
        ))
    });
    // An anonymous request is an account of its own, with no other orders to stall behind.
    let may_stall = account.is_some();
    if let Some(account) = account {
        conn.bind(account);
    }
    let frame = DecodeIn::Read(Frames::one(conn.clone(), 0, body, Instant::now()));
    // Admitted, refused, or not taken by a closing pipeline: the reply is filed for us.
    turn::join([frame], env, home);
    let answer = conn.answer().expect("made with an answer sink above");
    let (body, read_at) = match may_stall {
        false => answer.reply().await,
        true => loop {
            tokio::select! {
                reply = answer.reply() => break reply,
                // The account stalled behind its other sessions' orders: this request's task
                // may be the one to resume it.
                () = conn.settled() => {
                    let _ = env.input.publish(DecodeIn::Resume(conn.clone())).await;
                }
            }
        },
    };
    env.metrics.answered(1);
    env.metrics.written(read_at.elapsed());
    *shared.spare.lock() = Some(conn);
    answered(body)
}

/// A request's body; `None` past `max` bytes (or when it cannot be read whole). A body that
/// came in one piece (an order, nearly always) is that piece as hyper read it: no list of
/// pieces, no copy.
async fn read_body<B>(body: B, max: usize) -> Option<Bytes>
where
    B: hyper::body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut body = std::pin::pin!(Limited::new(body, max));
    let mut whole = Bytes::new();
    let mut joined = BytesMut::new();
    while let Some(frame) = body.frame().await {
        // Trailers carry no order.
        let Ok(piece) = frame.ok()?.into_data() else {
            continue;
        };
        if whole.is_empty() && joined.is_empty() {
            whole = piece;
        } else {
            if joined.is_empty() {
                joined.extend_from_slice(&whole);
            }
            joined.extend_from_slice(&piece);
        }
    }
    Some(match joined.is_empty() {
        true => whole,
        false => joined.freeze(),
    })
}

/// Traffic shaping for one order request: its body's bytes and one request are charged to
/// the server's limits and to its connection's, and the request waits out what it owes
/// before it is handed on. Waiting before rather than after (as a TCP reader does, before its
/// next read) keeps the server's limit on clients that open a connection per request.
async fn shape(env: &SessionEnv, shaper: &Mutex<ConnShaper>, bytes: usize) {
    let owed = env
        .shaping
        .charge(&mut shaper.lock(), bytes as u64, 1, Instant::now());
    if owed.delay.is_zero() {
        return;
    }
    let global = owed.scope == ReadScope::Global;
    let _pause = env
        .metrics
        .read_pauses()
        .pause(PauseReason::Shaping { global });
    tokio::time::sleep(owed.delay).await;
}

/// The account a request acts for: `Authorization: Basic` names one (checked in `keys`
/// mode); without it, `open` mode gives the request an anonymous account of its own (`None`).
fn authorize(
    headers: &HeaderMap,
    auth: &Auth,
    registry: &Registry,
) -> Result<Option<Arc<Account>>, LoginFailed> {
    let Some(value) = headers.get(hyper::header::AUTHORIZATION) else {
        return match auth.requires_login() {
            true => Err(LoginFailed),
            false => Ok(None),
        };
    };
    let encoded = value
        .as_bytes()
        .strip_prefix(b"Basic ")
        .ok_or(LoginFailed)?;
    let decoded = BASE64
        .decode(encoded.trim_ascii())
        .map_err(|_| LoginFailed)?;
    let colon = decoded.iter().position(|&b| b == b':').ok_or(LoginFailed)?;
    let name = auth.login(&decoded[..colon], &decoded[colon + 1..])?;
    registry.metrics().login(true);
    Ok(Some(registry.account(name)))
}

/// The reply's body (see [`output::body`]): an array answers `200`, a
/// lone `error` object `400`.
fn answered(body: Bytes) -> Response<Full<Bytes>> {
    let status = match body.first() {
        Some(b'[') => StatusCode::OK,
        _ => StatusCode::BAD_REQUEST,
    };
    reply(status, body)
}

/// `status` with one `error` object, the body an answer of that one response has.
fn error(status: StatusCode, reason: ErrorReason) -> Response<Full<Bytes>> {
    reply(status, output::body(&[Wire::Error(reason)]))
}

pub(super) fn reply(status: StatusCode, body: Bytes) -> Response<Full<Bytes>> {
    let json = body.first() == Some(&b'{') || body.first() == Some(&b'[');
    let mut r = Response::new(Full::new(body));
    *r.status_mut() = status;
    let ct = if json {
        "application/json"
    } else {
        "text/plain"
    };
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(ct),
    );
    r
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use futures_util::stream;
    use http_body_util::StreamBody;
    use hyper::body::Frame;

    use super::*;

    fn pieces(
        pieces: &[&'static str],
    ) -> StreamBody<impl futures_util::Stream<Item = Result<Frame<Bytes>, Infallible>>> {
        let frames: Vec<_> = pieces
            .iter()
            .map(|p| Ok(Frame::data(Bytes::from_static(p.as_bytes()))))
            .collect();
        StreamBody::new(stream::iter(frames))
    }

    #[tokio::test]
    async fn a_body_is_read_whole_and_refused_past_its_limit() {
        let one = Bytes::from_static(b"{\"op\":\"ping\"}");
        let whole = read_body(Full::new(one.clone()), 64).await.unwrap();
        assert_eq!(whole, one);
        // The piece hyper read, not a copy.
        assert_eq!(whole.as_ptr(), one.as_ptr());
        let joined = read_body(pieces(&["{\"op\"", ":", "\"ping\"}"]), 64).await;
        assert_eq!(joined.as_deref(), Some(&b"{\"op\":\"ping\"}"[..]));
        assert_eq!(read_body(pieces(&[]), 64).await.as_deref(), Some(&b""[..]));
        assert_eq!(read_body(pieces(&["12345", "6789"]), 8).await, None);
    }
}
