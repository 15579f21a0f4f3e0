//! `sedaflow demo`: the server in-process on free ports, driven by the load generator, then
//! the load summary and a per-stage table. What a newcomer runs first.

use std::time::Duration;

use clap::Args;
use sedaflow_loadgen::LoadgenConfig;
use sedaflow_stages::{Server, ServerConfig};

#[derive(Args)]
pub(crate) struct DemoArgs {
    /// How long to drive the server.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Client connections.
    #[arg(long, default_value = "8")]
    connections: std::num::NonZeroUsize,
}

pub(crate) fn run(args: DemoArgs) -> Result<(), String> {
    let mut config = ServerConfig::default();
    for addr in [&mut config.tcp, &mut config.http, &mut config.metrics] {
        *addr = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    }
    let server = Server::start(config).map_err(|e| e.to_string())?;
    println!(
        "sedaflow demo: order server on tcp {} (http {}, metrics http://{}/metrics)",
        server.tcp_addr(),
        server.http_addr(),
        server.metrics_addr()
    );
    println!(
        "driving it for {:?} with {} connections, closed loop, 16 requests in flight each...\n",
        args.duration, args.connections
    );
    let summary = super::loadgen::run_to_summary(LoadgenConfig {
        addr: server.tcp_addr(),
        connections: args.connections,
        duration: args.duration,
        progress: true,
        ..LoadgenConfig::default()
    });
    let report = server.shutdown(Duration::from_secs(30));
    let summary = summary?;
    println!("{summary}\n");
    println!(
        "per stage (events, refusals, peak queue depth, threads, p99 service time per event):"
    );
    print!("{report}");
    if summary.lost > 0 || !report.drained {
        return Err(format!(
            "lost {} requests; drained: {}",
            summary.lost, report.drained
        ));
    }
    Ok(())
}
