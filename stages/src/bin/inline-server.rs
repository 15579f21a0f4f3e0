//! `inline-server`: the baseline order server for benchmarks, decoding, matching and
//! encoding inline per connection on plain tokio (see `sedaflow_stages::inline_server`).
//!
//! Prints `listening tcp <ip:port>` on standard output once bound; stops on SIGINT or
//! SIGTERM.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;
use sedaflow_stages::inline_server::run_inline;
use tokio::net::TcpListener;

/// The baseline order server: same protocol as `sedaflow serve`, no stages.
#[derive(Parser)]
#[command(name = "inline-server", version)]
struct Args {
    /// Address of the order stream (JSON lines over TCP); port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    tcp: SocketAddr,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let listener = match TcpListener::bind(args.tcp).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("inline-server: cannot bind {}: {error}", args.tcp);
            return ExitCode::FAILURE;
        }
    };
    let announced = listener.local_addr().and_then(|addr| {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "listening tcp {addr}")?;
        stdout.flush()
    });
    if let Err(error) = announced {
        eprintln!("inline-server: cannot announce the address: {error}");
        return ExitCode::FAILURE;
    }
    match run_inline(listener, shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("inline-server: {error}");
            ExitCode::FAILURE
        }
    }
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
