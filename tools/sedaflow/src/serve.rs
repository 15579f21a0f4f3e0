//! `sedaflow serve`.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use sedaflow_stages::cluster::{Matcher, Role};
use sedaflow_stages::{ConfigError, Server, ServerConfig};

/// How long shutdown may take to answer and drain everything.
const DRAIN: Duration = Duration::from_secs(30);

#[derive(Args)]
pub(crate) struct ServeArgs {
    /// TOML configuration file (flags win over it).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Order stream address (JSON lines over TCP).
    #[arg(long)]
    tcp: Option<SocketAddr>,
    /// HTTP order entry address.
    #[arg(long)]
    http: Option<SocketAddr>,
    /// Prometheus metrics address.
    #[arg(long)]
    metrics: Option<SocketAddr>,
    /// Maximum open connections.
    #[arg(long)]
    max_connections: Option<usize>,
    /// Journal directory: matching becomes durable, and a restart recovers from it.
    #[arg(long)]
    journal: Option<PathBuf>,
    /// Process role: all, ingress or matcher (default: `all`, or `[cluster] role` of the
    /// config file).
    #[arg(long)]
    role: Option<Role>,
    /// NATS server URL (ingress and matcher roles).
    #[arg(long)]
    nats: Option<String>,
    /// Order-log partitions (ingress and matcher roles).
    #[arg(long)]
    partitions: Option<u32>,
}

impl ServeArgs {
    pub(crate) fn config(&self) -> Result<ServerConfig, String> {
        let mut config = match &self.config {
            Some(path) => ServerConfig::from_file(path).map_err(|e| e.to_string())?,
            None => ServerConfig::default(),
        };
        if let Some(a) = self.tcp {
            config.tcp = a;
        }
        if let Some(a) = self.http {
            config.http = a;
        }
        if let Some(a) = self.metrics {
            config.metrics = a;
        }
        if let Some(dir) = &self.journal {
            config.journal = Some(dir.clone());
        }
        if let Some(n) = self.max_connections {
            config.limits.max_connections = n;
        }
        if let Some(role) = self.role {
            config.cluster.role = role;
        }
        if let Some(url) = &self.nats {
            config.cluster.nats = Some(url.clone());
        }
        if let Some(n) = self.partitions {
            config.cluster.partitions = n;
        }
        config.validate().map_err(|e| e.to_string())?;
        Ok(config)
    }
}

pub(crate) fn run(args: ServeArgs) -> Result<(), String> {
    let config = args.config()?;
    if config.cluster.role == Role::Matcher {
        return run_matcher(&config);
    }
    let server = Server::start(config).map_err(|e| e.to_string())?;
    if let Err(e) = announce(&server) {
        // Nobody reads our stdout (`serve | head -1`): serving goes on regardless.
        tracing::warn!(error = %e, "could not print the listening lines");
    }
    if args.config.is_some() {
        // SIGHUP re-reads the file (flags still win over it) and applies the shaping limits.
        server.wait_for_signal_reloading(|| args.config().map_err(ConfigError::Invalid));
    } else {
        server.wait_for_signal();
    }
    tracing::info!("signal received: draining");
    let report = server.shutdown(DRAIN);
    eprint!("{report}");
    if !report.drained {
        return Err("shutdown deadline passed before every queue drained".into());
    }
    Ok(())
}

/// A matcher binds only its metrics endpoint and prints only that line.
fn run_matcher(config: &ServerConfig) -> Result<(), String> {
    let matcher = Matcher::start(config).map_err(|e| e.to_string())?;
    let line = format!("listening metrics {}", matcher.metrics_addr());
    if let Err(e) = writeln!(std::io::stdout().lock(), "{line}") {
        tracing::warn!(error = %e, "could not print the listening line");
    }
    matcher.wait_for_signal();
    tracing::info!("signal received: releasing partitions");
    matcher.shutdown();
    Ok(())
}

/// The contract's start-up lines, once every address is bound.
fn announce(server: &Server) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening tcp {}", server.tcp_addr())?;
    writeln!(out, "listening http {}", server.http_addr())?;
    writeln!(out, "listening metrics {}", server.metrics_addr())?;
    out.flush()
}
