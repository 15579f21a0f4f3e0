//! The `sedaflow` binary: `serve` runs the order server, `loadgen` drives one, `demo` does both
//! in one process; `top` watches a running server, `graph` prints the pipeline's topology.

mod demo;
mod graph;
mod loadgen;
mod serve;
mod sweep;
mod top;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "sedaflow",
    version,
    about = "A staged event-driven order server"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the order server (TCP JSON lines, HTTP, Prometheus metrics).
    Serve(serve::ServeArgs),
    /// Drive a running server: open loop (--rate) or closed loop, with a latency summary;
    /// or, with --sweep, sweep offered load over fresh servers and plot the curve.
    Loadgen(loadgen::LoadgenArgs),
    /// Start the server in-process and drive it for a while: the first thing to run.
    Demo(demo::DemoArgs),
    /// Live terminal view of a running server, read from its /metrics.
    Top(top::TopArgs),
    /// Print the pipeline's topology (Mermaid or Graphviz dot) from the serve configuration.
    Graph(graph::GraphArgs),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let result = match Cli::parse().command {
        Command::Serve(args) => serve::run(args),
        Command::Loadgen(args) => loadgen::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Top(args) => top::run(args),
        Command::Graph(args) => graph::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sedaflow: {e}");
            ExitCode::FAILURE
        }
    }
}
