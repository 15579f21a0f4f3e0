//! The baseline's HTTP order entry: what a competent engineer adds to the plain tokio server
//! ([`run_inline`](crate::inline::run_inline)) without an engine. A hyper HTTP/1.1 server
//! (keep-alive, a task per connection) whose `POST /orders` handler decodes the body with
//! the codec's decoder, matches it on its symbol's book under that book's lock
//! (the same [`Markets`] as the TCP half) and answers with the encoded responses, all inline
//! in the request's task.
//!
//! It answers as PROTOCOL.md's HTTP section says: `200` with a JSON array of the responses
//! addressed to the requester, `400` with one `error` object for a body that is not a
//! request, `GET /healthz` `200`; `tests/protocol_inline_http.rs` holds it to the staged
//! server's answers. Like the TCP half it has no accounts: every request is an anonymous
//! account of its own (`Authorization` is not read), so its id floor is 0 and the later
//! reports of an order it leaves resting are discarded. Requests that name no order (the v2
//! `login`, or `orders` and `cancel_all` without a symbol) answer an empty array.
//!
//! # Shutdown
//!
//! When `shutdown` completes the listener closes and each connection finishes the request
//! it is answering, then closes (hyper's graceful shutdown), within
//! [`SHUTDOWN_GRACE`](crate::inline::accept::SHUTDOWN_GRACE).

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::sync::Arc;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Method, Request as HttpRequest, Response as HttpResponse, StatusCode};
use hyper_util::rt::TokioIo;
use sedaflow_stages::codec::{
    decode_request, encode_array, encode_response, ErrorReason, Response, DEFAULT_MAX_FRAME_LEN,
};
use sedaflow_stages::matching::{RejectReason, ReportKind, Request};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::inline::accept::accept_until;
use crate::inline::market::{Market, Markets};

/// An answer's status and body; the body's first byte tells its content type.
type Answer = (StatusCode, Vec<u8>);

/// Serves HTTP order entry on `listener` until `shutdown` completes, on the books of
/// `markets`.
///
/// # Errors
///
/// An accept error other than a transient one (see [`accept_until`]).
pub async fn run_inline_http(
    listener: TcpListener,
    markets: Arc<Markets>,
    shutdown: impl Future,
) -> io::Result<()> {
    accept_until(listener, shutdown, |stream, stopped| {
        serve(stream, Arc::clone(&markets), stopped)
    })
    .await
}

/// Serves one keep-alive connection's requests, one after the other.
async fn serve(stream: TcpStream, markets: Arc<Markets>, mut stopped: watch::Receiver<bool>) {
    // Small answers go out at once, as the staged server's do.
    let _ = stream.set_nodelay(true);
    let service = hyper::service::service_fn(move |request| {
        let markets = Arc::clone(&markets);
        async move { Ok::<_, Infallible>(route(request, &markets).await) }
    });
    let connection =
        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    let mut connection = std::pin::pin!(connection);
    let ended = tokio::select! {
        ended = connection.as_mut() => ended,
        _ = stopped.changed() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = ended {
        tracing::debug!(%error, "inline http connection ended with an error");
    }
}

async fn route(request: HttpRequest<Incoming>, markets: &Markets) -> HttpResponse<Full<Bytes>> {
    let (status, body) = match (request.method(), request.uri().path()) {
        (&Method::POST, "/orders") => match read_body(request).await {
            Ok(body) => answer(&body, markets),
            Err(too_long) => too_long,
        },
        (&Method::GET, "/healthz") => (StatusCode::OK, b"ok\n".to_vec()),
        _ => (StatusCode::NOT_FOUND, b"not found\n".to_vec()),
    };
    reply(status, body)
}

/// The whole body, up to the longest frame the TCP protocol takes.
async fn read_body(request: HttpRequest<Incoming>) -> Result<Bytes, Answer> {
    match Limited::new(request.into_body(), DEFAULT_MAX_FRAME_LEN.get())
        .collect()
        .await
    {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(_) => Err(error(ErrorReason::FrameTooLong)),
    }
}

/// Decodes, matches and encodes one request body, as an anonymous account of its own.
fn answer(body: &[u8], markets: &Markets) -> Answer {
    let request = match decode_request(body).map_err(Response::from) {
        Ok(Request::Ping) => return array(&[Response::Pong]),
        Ok(request) => request,
        Err(Response::Error(reason)) => return error(reason),
        Err(reject) => return array(&[reject]),
    };
    let (Some(symbol), Some(id)) = (request.symbol(), request.id()) else {
        return array(&[]);
    };
    let is_order = !matches!(request, Request::Cancel { .. });
    let Some(market) = markets.get(symbol, is_order) else {
        // A cancel on a symbol that never had an order.
        let reason = RejectReason::UnknownOrder;
        return array(&[Response::Report(ReportKind::Reject { id, reason })]);
    };
    let mut body = Vec::with_capacity(256);
    body.push(b'[');
    // A new account has had no order accepted: its id floor is 0, and it is not seen again,
    // so whether this order was accepted does not matter.
    let _ = Market::lock(&market).submit(markets.owner(), &request, 0, &mut body);
    close_array(&mut body);
    (StatusCode::OK, body)
}

/// Turns `[` followed by JSON lines into one JSON array: each line's newline becomes the
/// separator, the last one the closing bracket (encoded responses hold no raw newline).
fn close_array(body: &mut Vec<u8>) {
    for byte in body.iter_mut().filter(|byte| **byte == b'\n') {
        *byte = b',';
    }
    match body.last_mut() {
        Some(last @ b',') => *last = b']',
        _ => body.push(b']'),
    }
}

fn array(responses: &[Response]) -> Answer {
    let mut body = Vec::new();
    encode_array(responses, &mut body);
    (StatusCode::OK, body)
}

/// A body that is not a request: `400` with the one `error` object.
fn error(reason: ErrorReason) -> Answer {
    let mut body = Vec::new();
    encode_response(&Response::Error(reason), &mut body);
    (StatusCode::BAD_REQUEST, body)
}

/// JSON bodies (an object or an array) as `application/json`, the others as plain text.
fn reply(status: StatusCode, body: Vec<u8>) -> HttpResponse<Full<Bytes>> {
    let json = matches!(body.first(), Some(b'{' | b'['));
    let mut response = HttpResponse::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    let content_type = if json {
        "application/json"
    } else {
        "text/plain"
    };
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}
