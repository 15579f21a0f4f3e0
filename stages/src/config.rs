//! The server's configuration: a TOML file, overridden by flags, parsed once into types.

use std::net::SocketAddr;
use std::num::{NonZeroU64, NonZeroUsize};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sedaflow::StageConfig;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use thiserror::Error;

use crate::accounts::AuthConfig;
use crate::admission::AdmissionConfig;
use crate::cluster::ClusterConfig;

/// Why a configuration was refused.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is not valid TOML for this schema.
    #[error("invalid config: {0}")]
    Parse(#[from] toml::de::Error),
    /// A value is out of bounds; the message names it.
    #[error("invalid config: {0}")]
    Invalid(String),
}

/// Everything `sedaflow serve` can be told.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Order stream (JSON lines over TCP).
    pub tcp: SocketAddr,
    /// HTTP order entry.
    pub http: SocketAddr,
    /// Prometheus `/metrics`.
    pub metrics: SocketAddr,
    /// Tokio worker threads for accepting, WebSocket sessions and timers: one per core. TCP
    /// sessions and HTTP connections run on the event loops (`[network]`).
    pub network_threads: NonZeroUsize,
    /// The event loops TCP sessions run on (`[network]`).
    pub network: NetworkConfig,
    /// Per-connection limits.
    pub limits: Limits,
    /// Socket options of the TCP listener and its connections.
    pub socket: SocketOptions,
    /// Queue, pool and batch settings of each stage.
    pub stages: Stages,
    /// Which stages share a domain.
    pub placement: Placement,
    /// Admission control at ingress.
    pub admission: AdmissionConfig,
    /// Artificial work, for load experiments.
    pub synthetic: Synthetic,
    /// The journal directory: when set, matching is durable and a restart recovers the
    /// books from it (README, "Journal and recovery").
    pub journal: Option<PathBuf>,
    /// A journal segment is closed and folded into a snapshot once it passes this size.
    pub journal_segment_bytes: u64,
    /// Scale-out on NATS: the role and how to reach the log (`[cluster]`).
    pub cluster: ClusterConfig,
    /// Public market data over WebSocket (`[market]`).
    pub market: MarketConfig,
    /// Who may log in (`[auth]`).
    pub auth: AuthConfig,
    /// When an account's last session closes, cancel its resting orders.
    pub cancel_on_disconnect: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            tcp: SocketAddr::from(([127, 0, 0, 1], 7878)),
            http: SocketAddr::from(([127, 0, 0, 1], 8080)),
            metrics: SocketAddr::from(([127, 0, 0, 1], 9000)),
            network_threads: default_network_threads(),
            network: NetworkConfig::default(),
            limits: Limits::default(),
            socket: SocketOptions::default(),
            stages: Stages::default(),
            placement: Placement::default(),
            admission: AdmissionConfig::default(),
            synthetic: Synthetic::default(),
            journal: None,
            journal_segment_bytes: 64 * 1024 * 1024,
            cluster: ClusterConfig::default(),
            auth: AuthConfig::default(),
            cancel_on_disconnect: false,
            market: MarketConfig::default(),
        }
    }
}

/// The network's event loops (`[network]`): each a thread running TCP sessions, which carry
/// their reads through the stages on it (`caller_runs` and hand-off). Their number moves
/// between `min_loops` and `max_loops` by the engine's pool rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkConfig {
    /// Loops kept however idle the server is.
    pub min_loops: NonZeroUsize,
    /// Loops at most; the controller never runs more than the cores while they are busy on
    /// CPU. Default: the cores.
    pub max_loops: NonZeroUsize,
    /// How long loops above the minimum may be idle before one is retired.
    #[serde(with = "humantime_serde")]
    pub idle_timeout: Duration,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            min_loops: NonZeroUsize::MIN,
            max_loops: default_network_threads(),
            idle_timeout: Duration::from_secs(2),
        }
    }
}

/// Public market data (`[market]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MarketConfig {
    /// Bytes a WebSocket subscriber may have queued and unwritten; past it the subscriber
    /// gets `slow consumer` and is closed (PROTOCOL.md, "Market data").
    pub unsent_cap: NonZeroUsize,
}

impl Default for MarketConfig {
    fn default() -> Self {
        MarketConfig {
            unsent_cap: NonZeroUsize::new(crate::market::DEFAULT_UNSENT_CAP).expect("non-zero"),
        }
    }
}

/// Per-connection limits (Netty-style framing, watermarks and idle handling).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Longest frame in bytes; longer ones are discarded to their newline and answered `error`.
    pub max_frame: NonZeroUsize,
    /// Open connections; one more gets an `error` line and is closed.
    pub max_connections: usize,
    /// A connection that sends nothing (not even `ping`) this long is closed.
    #[serde(with = "humantime_serde")]
    pub idle_timeout: Duration,
    /// A frame that has started must end within this (slowloris).
    #[serde(with = "humantime_serde")]
    pub frame_timeout: Duration,
    /// Unsent output (bytes) above which the server stops reading the connection.
    pub write_high_watermark: usize,
    /// Unsent output (bytes) below which it reads again.
    pub write_low_watermark: usize,
    /// Unsent output (bytes) above which the connection is closed and its output discarded.
    pub write_hard_cap: usize,
    /// Requests read but not yet answered, above which the server stops reading.
    pub max_in_flight: usize,
    /// Bytes a second the server reads from all TCP connections together (traffic shaping:
    /// over it, readers pause). Unset: no limit. A SIGHUP applies a changed value.
    pub read_bytes_per_sec: Option<NonZeroU64>,
    /// Requests (frames) a second the server reads from all TCP connections together.
    pub read_requests_per_sec: Option<NonZeroU64>,
    /// Bytes a second the server reads from each TCP connection.
    pub conn_read_bytes_per_sec: Option<NonZeroU64>,
    /// Requests (frames) a second the server reads from each TCP connection.
    pub conn_read_requests_per_sec: Option<NonZeroU64>,
}

/// Whose reads a read limit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReadScope {
    /// Each connection's own (`conn_read_*`).
    Conn,
    /// All connections' together (`read_*`).
    Global,
}

/// One scope's read limits, per second (`None`: no limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct ReadRates {
    pub(crate) bytes: Option<NonZeroU64>,
    pub(crate) requests: Option<NonZeroU64>,
}

impl ReadRates {
    pub(crate) fn any(&self) -> bool {
        self.bytes.is_some() || self.requests.is_some()
    }
}

/// The `[limits]` keys a running server applies on SIGHUP (the traffic shaping rates), as
/// [`Limits::reload_from`] copies them.
pub(crate) const RELOADABLE_LIMITS: [&str; 4] = [
    "read_bytes_per_sec",
    "read_requests_per_sec",
    "conn_read_bytes_per_sec",
    "conn_read_requests_per_sec",
];

impl Limits {
    /// The read limits of `scope`.
    pub(crate) fn read_rates(&self, scope: ReadScope) -> ReadRates {
        match scope {
            ReadScope::Conn => ReadRates {
                bytes: self.conn_read_bytes_per_sec,
                requests: self.conn_read_requests_per_sec,
            },
            ReadScope::Global => ReadRates {
                bytes: self.read_bytes_per_sec,
                requests: self.read_requests_per_sec,
            },
        }
    }

    /// Takes the [`RELOADABLE_LIMITS`] of `wanted`.
    pub(crate) fn reload_from(&mut self, wanted: &Limits) {
        self.read_bytes_per_sec = wanted.read_bytes_per_sec;
        self.read_requests_per_sec = wanted.read_requests_per_sec;
        self.conn_read_bytes_per_sec = wanted.conn_read_bytes_per_sec;
        self.conn_read_requests_per_sec = wanted.conn_read_requests_per_sec;
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frame: crate::codec::DEFAULT_MAX_FRAME_LEN,
            max_connections: 1024,
            idle_timeout: Duration::from_secs(300),
            frame_timeout: Duration::from_secs(30),
            write_high_watermark: 256 * 1024,
            write_low_watermark: 64 * 1024,
            write_hard_cap: 16 * 1024 * 1024,
            max_in_flight: 4096,
            read_bytes_per_sec: None,
            read_requests_per_sec: None,
            conn_read_bytes_per_sec: None,
            conn_read_requests_per_sec: None,
        }
    }
}

/// Socket options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SocketOptions {
    /// `TCP_NODELAY` on accepted connections.
    pub nodelay: bool,
    /// `SO_REUSEADDR` on the listener.
    pub reuseaddr: bool,
    /// Listen backlog.
    pub backlog: u32,
    /// `SO_RCVBUF` of accepted connections (system default when unset).
    pub recv_buffer: Option<usize>,
    /// `SO_SNDBUF` of accepted connections (system default when unset).
    pub send_buffer: Option<usize>,
}

impl Default for SocketOptions {
    fn default() -> Self {
        SocketOptions {
            nodelay: true,
            reuseaddr: true,
            backlog: 1024,
            recv_buffer: None,
            send_buffer: None,
        }
    }
}

/// Stage settings by stage. A `[stages.X]` table sets the fields it names on top of the
/// server's settings for that stage, not the engine's defaults: `lanes = 1` alone keeps
/// hand-off and the pool bounds below.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stages {
    /// Frames → requests (keyed by connection).
    pub decode: StageConfig,
    /// The matching engine (keyed by symbol).
    #[serde(rename = "match")]
    pub matching: StageConfig,
    /// Reports → JSON lines → connections.
    pub encode: StageConfig,
}

impl<'de> Deserialize<'de> for Stages {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        /// The tables as written, each laid over the server's settings for its stage.
        #[derive(Deserialize, Default)]
        #[serde(deny_unknown_fields, default)]
        struct Given {
            decode: toml::Table,
            #[serde(rename = "match")]
            matching: toml::Table,
            encode: toml::Table,
        }
        let given = Given::deserialize(d)?;
        let base = Stages::default();
        let over = |base: StageConfig, table| overlay(base, table).map_err(D::Error::custom);
        Ok(Stages {
            decode: over(base.decode, given.decode)?,
            matching: over(base.matching, given.matching)?,
            encode: over(base.encode, given.encode)?,
        })
    }
}

/// `base` with the fields `given` names set over it (nested tables field by field).
fn overlay(base: StageConfig, given: toml::Table) -> Result<StageConfig, String> {
    fn merge(into: &mut toml::Table, from: toml::Table) {
        for (key, value) in from {
            match (into.get_mut(&key), value) {
                (Some(toml::Value::Table(inner)), toml::Value::Table(given)) => {
                    merge(inner, given);
                }
                (_, value) => {
                    into.insert(key, value);
                }
            }
        }
    }
    let mut merged = toml::Table::try_from(&base).map_err(|e| e.to_string())?;
    merge(&mut merged, given);
    merged
        .try_into()
        .map_err(|e: toml::de::Error| e.to_string())
}

impl Default for Stages {
    fn default() -> Self {
        // Every stage here is CPU-bound and never blocks: more threads than cores only add
        // switches, and a worker may carry its batch on downstream (hand-off) instead of
        // waking the next pool.
        let stage = StageConfig {
            handoff: true,
            pool: sedaflow::PoolConfig {
                max: NonZeroUsize::new(2).expect("non-zero"),
                ..sedaflow::PoolConfig::default()
            },
            ..StageConfig::default()
        };
        Stages {
            decode: StageConfig {
                lanes: Some(default_decode_lanes()),
                ..stage.clone()
            },
            // A network thread carries its read through decode, matching and encode (hand-off):
            // no queue hop wakes another thread. A matching lane busy on the other thread takes
            // the batch along when it finishes its own (flat combining), so the book stays
            // single-threaded without anyone waiting for it.
            matching: StageConfig {
                lanes: Some(half_the_cores()),
                ..stage.clone()
            },
            // Encode takes matching's batches as they come: as many lanes as matching has.
            encode: StageConfig {
                lanes: Some(half_the_cores()),
                ..stage
            },
        }
    }
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, NonZeroUsize::get)
}

/// One network thread per core: they run the stages too.
fn default_network_threads() -> NonZeroUsize {
    NonZeroUsize::new(cores()).unwrap_or(NonZeroUsize::MIN)
}

/// One matching (and encode) lane per two cores, at least one. Lanes split a batch by key, and
/// every lane batch pays its own run through the stage, so they pay only when the stage is
/// what the cores wait for: on this project's 2-core machine one shared matching lane served
/// 1.05-1.15x the orders of two, and one encode lane instead of eight cut the instructions per
/// order by 9% (BENCHMARKS.md, "Order server").
fn half_the_cores() -> NonZeroUsize {
    NonZeroUsize::new(cores() / 2).unwrap_or(NonZeroUsize::MIN)
}

/// One decode lane per core: each network thread (one per core at most) decodes its own reads
/// in parallel with the others, and a loop turn's HTTP requests of many accounts meet in a few
/// batches instead of eight.
fn default_decode_lanes() -> NonZeroUsize {
    NonZeroUsize::new(cores()).unwrap_or(NonZeroUsize::MIN)
}

/// Stage placement: groups of consecutive stages fused into one domain.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Placement {
    /// For example `[["decode", "match", "encode"]]`.
    pub fuse: Vec<Vec<String>>,
}

/// Artificial work, so a load generator on the same small machine can offer several times
/// what the server can do (`sedaflow sweep`). Off by default.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Synthetic {
    /// Each matching lane waits this long per order (sleeping, so it costs no CPU): with
    /// `n` lanes and a fixed pool of `n` threads, capacity is `n / match_delay`.
    #[serde(with = "humantime_serde")]
    pub match_delay: Duration,
}

impl ServerConfig {
    /// Reads a TOML file.
    ///
    /// # Errors
    /// When the file cannot be read or parsed, or a value is out of bounds.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let config: ServerConfig = toml::from_str(&text)?;
        config.validate()?;
        Ok(config)
    }

    /// Checks what types alone cannot.
    ///
    /// # Errors
    /// Names the first value out of bounds.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let l = &self.limits;
        if l.write_low_watermark > l.write_high_watermark
            || l.write_high_watermark > l.write_hard_cap
        {
            return Err(ConfigError::Invalid(
                "limits: need write_low_watermark <= write_high_watermark <= write_hard_cap".into(),
            ));
        }
        let fuses = |a: &str, b: &str| {
            let has = |g: &Vec<String>, n: &str| g.iter().any(|x| x == n);
            self.placement.fuse.iter().any(|g| has(g, a) && has(g, b))
        };
        if self.journal.is_some() && fuses("match", "encode") {
            // The journal stage sits between them and waits for the disk on its own thread.
            return Err(ConfigError::Invalid(
                "placement.fuse: with a journal, `match` and `encode` cannot share a domain (the journal stage runs between them)".into(),
            ));
        }
        if self.journal_segment_bytes == 0 {
            return Err(ConfigError::Invalid(
                "journal_segment_bytes must be at least 1".into(),
            ));
        }
        if self.network.min_loops > self.network.max_loops {
            return Err(ConfigError::Invalid(
                "network: need min_loops <= max_loops".into(),
            ));
        }
        if l.max_in_flight == 0 {
            return Err(ConfigError::Invalid(
                "limits.max_in_flight must be at least 1".into(),
            ));
        }
        self.admission.validate().map_err(ConfigError::Invalid)?;
        crate::accounts::Auth::new(&self.auth).map_err(ConfigError::Invalid)?;
        if !self.synthetic.match_delay.is_zero() && self.stages.matching.handoff {
            // Hand-off would run the sleeping lanes on decode's threads, or a network thread.
            return Err(ConfigError::Invalid(
                "synthetic.match_delay needs stages.match.handoff = false".into(),
            ));
        }
        for (name, stage) in [
            ("decode", &self.stages.decode),
            ("match", &self.stages.matching),
            ("encode", &self.stages.encode),
        ] {
            // Dropping would break "exactly one answer per request".
            if stage.when_full.drops() {
                return Err(ConfigError::Invalid(format!(
                    "stages.{name}.when_full = {}: the order pipeline answers every request, use block or reject",
                    stage.when_full.as_str()
                )));
            }
            stage
                .validate()
                .map_err(|m| ConfigError::Invalid(format!("stages.{name}: {m}")))?;
        }
        self.cluster.validate().map_err(ConfigError::Invalid)?;
        if self.journal.is_some() && self.cluster.role != crate::cluster::Role::All {
            // Scaled out, the NATS order log is what a restart recovers from.
            return Err(ConfigError::Invalid(
                "journal: only --role all matches locally; scaled out, the NATS log is the journal"
                    .into(),
            ));
        }
        Ok(())
    }

    /// The settings of `wanted` that differ from these and take a restart to apply: every
    /// one but the [`RELOADABLE_LIMITS`], named `section` or `section.key`.
    pub(crate) fn needs_restart(&self, wanted: &ServerConfig) -> Vec<String> {
        let table = |c: &ServerConfig| {
            // Cannot fail: every field serializes (the stage overlay relies on it too).
            let mut t = toml::Table::try_from(c).unwrap_or_default();
            if let Some(toml::Value::Table(limits)) = t.get_mut("limits") {
                limits.retain(|k, _| !RELOADABLE_LIMITS.contains(&k));
            }
            t
        };
        let (now, then) = (table(self), table(wanted));
        differing(&now, &then)
            .into_iter()
            .flat_map(|key| match (now.get(key), then.get(key)) {
                (Some(toml::Value::Table(a)), Some(toml::Value::Table(b))) if key == "limits" => {
                    differing(a, b)
                        .into_iter()
                        .map(|k| format!("limits.{k}"))
                        .collect()
                }
                _ => vec![key.clone()],
            })
            .collect()
    }
}

/// The keys whose values differ between `a` and `b` (absent counts as a value), sorted.
fn differing<'a>(a: &'a toml::Table, b: &'a toml::Table) -> Vec<&'a String> {
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.retain(|k| a.get(*k) != b.get(*k));
    keys
}

#[cfg(test)]
mod tests;
