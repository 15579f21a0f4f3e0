//! The inline baseline as a process of its own, as the staged server runs: this benchmark's
//! executable re-run as `<bench> --inline-baseline <ip:port>` (port 0 picks a free port)
//! serves the order protocol with [`run_inline`], prints `listening tcp <ip:port>` on
//! standard output once bound and stops on SIGINT or SIGTERM.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

use tokio::net::TcpListener;

use crate::inline::run_inline;

/// The argument that makes the benchmark's executable the baseline server.
pub const FLAG: &str = "--inline-baseline";

/// The address to serve on when this process was started as the baseline.
pub fn requested() -> Option<String> {
    let mut args = std::env::args().skip(1);
    (args.next()? == FLAG).then(|| args.next()).flatten()
}

/// Serves until SIGINT or SIGTERM.
pub fn serve(addr: &str) -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let addr: SocketAddr = match addr.parse() {
        Ok(addr) => addr,
        Err(error) => {
            eprintln!("inline baseline: bad address {addr}: {error}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("inline baseline: no runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let listener = match TcpListener::bind(addr).await {
            Ok(listener) => listener,
            Err(error) => {
                eprintln!("inline baseline: cannot bind {addr}: {error}");
                return ExitCode::FAILURE;
            }
        };
        let announced = listener.local_addr().and_then(|addr| {
            let mut stdout = std::io::stdout().lock();
            writeln!(stdout, "listening tcp {addr}")?;
            stdout.flush()
        });
        if let Err(error) = announced {
            eprintln!("inline baseline: cannot announce the address: {error}");
            return ExitCode::FAILURE;
        }
        match run_inline(listener, shutdown_signal()).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("inline baseline: {error}");
                ExitCode::FAILURE
            }
        }
    })
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
