//! The inline baseline's HTTP order entry answers as the staged server does: the same
//! requests, posted to both after the same TCP order rests, get the same status, content
//! type and body (an IOC that does not cross, one that does, a reject naming a field, a body
//! that is not a request, `ping`, a cancel on an unknown symbol, `GET /healthz`).

// The baseline is a module of the server benchmark, not a library.
#[path = "../benches/server/inline.rs"]
mod inline;
#[path = "../benches/server/inline_http.rs"]
mod inline_http;
mod support;

use std::net::SocketAddr;
use std::sync::Arc;

use inline::market::Markets;
use inline::run_inline;
use inline_http::run_inline_http;
use support::{get, post, Client, HttpResponse, Server};
use tokio::net::TcpListener;
use tokio::runtime::Runtime;

/// The baseline's TCP and HTTP halves on one set of books, on free loopback ports; they
/// stop with the runtime.
struct Baseline {
    tcp: SocketAddr,
    http: SocketAddr,
    _runtime: Runtime,
}

impl Baseline {
    fn start() -> Baseline {
        let runtime = Runtime::new().expect("a runtime");
        let (tcp, http) = runtime.block_on(async {
            let bind = || TcpListener::bind("127.0.0.1:0");
            (bind().await.expect("bind"), bind().await.expect("bind"))
        });
        let addrs = (tcp.local_addr(), http.local_addr());
        let markets = Arc::new(Markets::default());
        let never = std::future::pending::<()>;
        runtime.spawn(run_inline(tcp, Arc::clone(&markets), never()));
        runtime.spawn(run_inline_http(http, markets, never()));
        Baseline {
            tcp: addrs.0.expect("the TCP address"),
            http: addrs.1.expect("the HTTP address"),
            _runtime: runtime,
        }
    }
}

/// What a comparison looks at.
type Seen = (u16, Option<String>, String);

fn seen(response: HttpResponse) -> Seen {
    (response.status, response.content_type, response.body)
}

/// Rests a TCP client's sell, then posts every request of the scenario; the answers, in
/// order. Every server starts with empty books, so match ids agree.
fn scenario(tcp: SocketAddr, http: SocketAddr) -> Vec<Seen> {
    let mut seller = Client::connect(tcp);
    seller.send(r#"{"op":"limit","id":1,"symbol":"HX","side":"sell","price":"12.50","qty":10}"#);
    seller.expect(r#"{"type":"ack","id":1}"#);
    let mut answers = Vec::new();
    for body in [
        // Does not cross: ack, then done/expired.
        r#"{"op":"limit","id":5,"symbol":"HX","side":"buy","price":"12","qty":3,"tif":"ioc"}"#,
        // Crosses the resting sell: ack, fill, done/filled.
        r#"{"op":"limit","id":6,"symbol":"HX","side":"buy","price":"13","qty":4,"tif":"ioc"}"#,
        r#"{"op":"limit","id":7,"symbol":"HX","side":"up","price":"13","qty":4,"tif":"ioc"}"#,
        "not json",
        r#"{"op":"ping"}"#,
        r#"{"op":"cancel","id":8,"symbol":"NONE"}"#,
    ] {
        answers.push(seen(post(http, "/orders", body)));
    }
    answers.push(seen(get(http, "/healthz")));
    // The resting side's fill reaches its TCP connection.
    seller.expect_fill(
        r#"{"type":"fill","id":1,"symbol":"HX","side":"sell","price":"12.5","qty":4,"leaves":6}"#,
    );
    answers
}

#[test]
fn baseline_http_answers_as_the_staged_server() {
    let server = Server::start(&[]);
    let staged = scenario(server.tcp, server.http);
    let baseline = Baseline::start();
    let inline = scenario(baseline.tcp, baseline.http);

    let json = Some("application/json".to_owned());
    assert_eq!(
        staged[0],
        (
            200,
            json.clone(),
            r#"[{"type":"ack","id":5},{"type":"done","id":5,"reason":"expired","leaves":3}]"#
                .to_owned()
        ),
        "the staged server's IOC answer"
    );
    assert_eq!(staged[3].0, 400, "the staged server's answer to junk");
    for (i, (staged, inline)) in staged.iter().zip(&inline).enumerate() {
        assert_eq!(
            inline, staged,
            "answer {i}: baseline (left) vs staged server"
        );
    }
}
