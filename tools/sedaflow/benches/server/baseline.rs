//! The inline baseline as a process of its own, as the staged server runs: this benchmark's
//! executable re-run as `<bench> --inline-baseline <ip:port> [<ip:port>]` (port 0 picks a
//! free port) serves the order protocol with [`run_inline`] on the first address and, given
//! a second, HTTP order entry with [`run_inline_http`] there, both on the same books; it
//! prints `listening tcp <ip:port>` (then `listening http <ip:port>`) on standard output
//! once bound and stops on SIGINT or SIGTERM.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::inline::market::Markets;
use crate::inline::run_inline;
use crate::inline_http::run_inline_http;

/// The argument that makes the benchmark's executable the baseline server.
pub const FLAG: &str = "--inline-baseline";

/// The addresses to serve on (TCP, and HTTP if given) when this process was started as
/// the baseline.
pub fn requested() -> Option<(String, Option<String>)> {
    let mut args = std::env::args().skip(1);
    if args.next()? != FLAG {
        return None;
    }
    Some((args.next()?, args.next()))
}

/// Serves until SIGINT or SIGTERM.
pub fn serve(tcp: &str, http: Option<&str>) -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("inline baseline: no runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let tcp = match bind("tcp", tcp).await {
            Ok(listener) => listener,
            Err(message) => return fail(&message),
        };
        let http = match http {
            Some(addr) => match bind("http", addr).await {
                Ok(listener) => Some(listener),
                Err(message) => return fail(&message),
            },
            None => None,
        };
        let markets = Arc::new(Markets::default());
        let http = async {
            match http {
                Some(listener) => {
                    run_inline_http(listener, Arc::clone(&markets), shutdown_signal()).await
                }
                None => Ok(()),
            }
        };
        let tcp = run_inline(tcp, Arc::clone(&markets), shutdown_signal());
        match tokio::try_join!(tcp, http) {
            Ok(_) => ExitCode::SUCCESS,
            Err(error) => fail(&error.to_string()),
        }
    })
}

/// Binds `addr` and announces it as `listening <name> <ip:port>`.
async fn bind(name: &str, addr: &str) -> Result<TcpListener, String> {
    let addr: SocketAddr = addr
        .parse()
        .map_err(|error| format!("bad address {addr}: {error}"))?;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|error| format!("cannot bind {addr}: {error}"))?;
    listener
        .local_addr()
        .and_then(|addr| {
            let mut stdout = std::io::stdout().lock();
            writeln!(stdout, "listening {name} {addr}")?;
            stdout.flush()
        })
        .map_err(|error| format!("cannot announce the address: {error}"))?;
    Ok(listener)
}

fn fail(message: &str) -> ExitCode {
    eprintln!("inline baseline: {message}");
    ExitCode::FAILURE
}

/// Completes on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            // Without a SIGTERM handler, SIGINT still stops the server.
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}
