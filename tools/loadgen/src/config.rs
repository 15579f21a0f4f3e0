use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::num::{NonZeroU64, NonZeroUsize};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::LoadgenError;

/// The highest id base: leaves 2^62 ids above it before the protocol's 2^63 - 1.
const MAX_ID_BASE: u64 = 1 << 62;

/// What a load run does: usable as the `sedaflow loadgen` flags (`clap`) and as a config
/// table (`serde`, unknown fields refused). Field defaults are the same either way.
///
/// # Examples
///
/// ```
/// use sedaflow_loadgen::LoadgenConfig;
///
/// let config: LoadgenConfig =
///     serde_json::from_str(r#"{"connections": 2, "duration": "3s"}"#).unwrap();
/// assert_eq!(config.connections.get(), 2);
/// assert_eq!(config.duration, std::time::Duration::from_secs(3));
/// assert_eq!(config.pipeline.get(), 16);
/// assert!(config.rate.is_none());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, clap::Args)]
#[serde(default, deny_unknown_fields)]
pub struct LoadgenConfig {
    /// The order server's TCP address.
    #[arg(long, default_value = "127.0.0.1:7878")]
    pub addr: SocketAddr,
    /// TCP connections to open.
    #[arg(long, default_value = "8")]
    pub connections: NonZeroUsize,
    /// Orders per second over all connections, sent open loop on a fixed schedule;
    /// without it, closed loop (each connection keeps `pipeline` requests outstanding).
    #[arg(long)]
    pub rate: Option<NonZeroU64>,
    /// Outstanding requests per connection in closed loop.
    #[arg(long, default_value = "16")]
    pub pipeline: NonZeroUsize,
    /// How long to send after the warm-up, like `10s` or `1m`.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    #[serde(with = "humantime_serde")]
    pub duration: Duration,
    /// Symbols to trade, `SYM0`, `SYM1`, … (mid prices 100, 101, …).
    #[arg(long, default_value = "8")]
    pub symbols: NonZeroUsize,
    /// Share of requests that cancel one of the connection's resting orders, in percent.
    #[arg(long, default_value = "10", value_parser = clap::value_parser!(u8).range(0..=100))]
    pub cancel_pct: u8,
    /// Share of requests that amend one of the connection's resting orders (a new price on
    /// the mix's ladder, which may cross and trade, or a new quantity), in percent.
    #[arg(long, default_value = "0", value_parser = clap::value_parser!(u8).range(0..=100))]
    pub amend_pct: u8,
    /// Share of requests that are market orders, in percent.
    #[arg(long, default_value = "5", value_parser = clap::value_parser!(u8).range(0..=100))]
    pub market_pct: u8,
    /// Seed of the order mix: the same seed sends the same orders.
    #[arg(long, default_value = "1")]
    pub seed: u64,
    /// Print a progress line to standard error every second.
    #[arg(long)]
    pub progress: bool,
    /// Send for this long before measuring; its requests count nowhere.
    #[arg(long, default_value = "0s", value_parser = humantime::parse_duration)]
    #[serde(with = "humantime_serde")]
    pub warmup: Duration,
    /// The first order id (connection `c` starts at base + c). Defaults to one derived
    /// from the wall clock, so a new run's ids never meet orders an earlier run left
    /// resting (`duplicate id`).
    #[arg(long)]
    pub id_base: Option<NonZeroU64>,
    /// Log each connection in to one of this many accounts, `lg0`, `lg1`, … (connection `c`
    /// as `lg{c % accounts}`, with its name as its key: configure those in `keys` mode).
    /// 0: no login, each connection its own anonymous account. Connections that share an
    /// account share its increasing-id rule, so with fewer accounts than connections some
    /// orders are refused `id not increasing`.
    #[arg(long, default_value = "0")]
    pub accounts: usize,
    /// The order server's HTTP address, for the market-data subscribers.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub http: SocketAddr,
    /// WebSocket market-data subscribers to run beside the order load, each subscribed to
    /// `depth` and `trades` of `md_symbols` symbols; 0: none.
    #[arg(long, default_value = "0")]
    pub md_subscribers: usize,
    /// How many of the order mix's busiest symbols each market-data subscriber follows.
    #[arg(long, default_value = "8")]
    pub md_symbols: NonZeroUsize,
    /// The OS priority (nice value, 0–19) of the subscribers' threads, which run apart from
    /// the order load's. On one machine with the server, a high value lets them take only
    /// the CPU the server and the order load leave, as subscribers on other machines would.
    #[arg(long, default_value = "0", value_parser = clap::value_parser!(i32).range(0..=19))]
    pub md_nice: i32,
}

impl Default for LoadgenConfig {
    fn default() -> LoadgenConfig {
        let nonzero = |n: usize| NonZeroUsize::new(n).unwrap_or(NonZeroUsize::MIN);
        LoadgenConfig {
            addr: SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 7878)),
            connections: nonzero(8),
            rate: None,
            pipeline: nonzero(16),
            duration: Duration::from_secs(10),
            symbols: nonzero(8),
            cancel_pct: 10,
            amend_pct: 0,
            market_pct: 5,
            seed: 1,
            progress: false,
            warmup: Duration::ZERO,
            id_base: None,
            accounts: 0,
            http: SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 8080)),
            md_subscribers: 0,
            md_symbols: nonzero(8),
            md_nice: 0,
        }
    }
}

impl LoadgenConfig {
    /// Checks what the field types cannot.
    ///
    /// # Errors
    ///
    /// [`LoadgenError::Config`] when `cancel_pct + amend_pct + market_pct` exceeds 100, `duration` is
    /// zero, or `id_base` is above 2^62.
    pub fn validate(&self) -> Result<(), LoadgenError> {
        if u16::from(self.cancel_pct) + u16::from(self.amend_pct) + u16::from(self.market_pct) > 100
        {
            return Err(LoadgenError::Config(
                "cancel_pct + amend_pct + market_pct must be at most 100",
            ));
        }
        if self.duration.is_zero() {
            return Err(LoadgenError::Config("duration must be above zero"));
        }
        if self.id_base.is_some_and(|base| base.get() > MAX_ID_BASE) {
            return Err(LoadgenError::Config("id_base must be at most 2^62"));
        }
        Ok(())
    }

    /// The id base to use: the configured one, or the wall clock in milliseconds times a
    /// million. Successive runs then start a million ids apart per millisecond, more than
    /// any run sends per millisecond, and the base stays below 2^62 until the 2140s.
    pub(crate) fn effective_id_base(&self) -> u64 {
        match self.id_base {
            Some(base) => base.get(),
            None => {
                let millis = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |since| since.as_millis() as u64);
                millis.saturating_mul(1_000_000).clamp(1, MAX_ID_BASE)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        config: LoadgenConfig,
    }

    #[test]
    fn flag_defaults_equal_the_default() {
        let cli = Cli::try_parse_from(["loadgen"]).unwrap();
        assert_eq!(cli.config, LoadgenConfig::default());
    }

    #[test]
    fn flags_parse() {
        let cli = Cli::try_parse_from([
            "loadgen",
            "--addr",
            "127.0.0.1:9",
            "--connections",
            "2",
            "--rate",
            "5000",
            "--duration",
            "1500ms",
            "--cancel-pct",
            "20",
            "--progress",
            "--warmup",
            "1s",
            "--id-base",
            "100",
            "--http",
            "127.0.0.1:10",
            "--md-subscribers",
            "4",
            "--md-symbols",
            "2",
        ])
        .unwrap();
        let config = cli.config;
        assert_eq!(config.addr, "127.0.0.1:9".parse().unwrap());
        assert_eq!(config.rate.map(NonZeroU64::get), Some(5000));
        assert_eq!(config.duration, Duration::from_millis(1500));
        assert_eq!(config.cancel_pct, 20);
        assert!(config.progress);
        assert_eq!(config.effective_id_base(), 100);
        assert_eq!(config.http, "127.0.0.1:10".parse().unwrap());
        assert_eq!((config.md_subscribers, config.md_symbols.get()), (4, 2));
        assert!(Cli::try_parse_from(["loadgen", "--md-symbols", "0"]).is_err());
        assert!(Cli::try_parse_from(["loadgen", "--cancel-pct", "101"]).is_err());
        assert!(Cli::try_parse_from(["loadgen", "--connections", "0"]).is_err());
        assert!(Cli::try_parse_from(["loadgen", "--rate", "0"]).is_err());
    }

    #[test]
    fn serde_refuses_unknown_fields_and_round_trips() {
        assert!(serde_json::from_str::<LoadgenConfig>(r#"{"conections": 2}"#).is_err());
        let config = LoadgenConfig {
            rate: NonZeroU64::new(1000),
            warmup: Duration::from_millis(250),
            ..LoadgenConfig::default()
        };
        let text = serde_json::to_string(&config).unwrap();
        assert_eq!(
            serde_json::from_str::<LoadgenConfig>(&text).unwrap(),
            config
        );
    }

    #[test]
    fn validation() {
        assert!(LoadgenConfig::default().validate().is_ok());
        let too_many = LoadgenConfig {
            cancel_pct: 60,
            market_pct: 41,
            ..LoadgenConfig::default()
        };
        assert!(too_many.validate().is_err());
        let zero = LoadgenConfig {
            duration: Duration::ZERO,
            ..LoadgenConfig::default()
        };
        assert!(zero.validate().is_err());
        let base = LoadgenConfig::default().effective_id_base();
        assert!(base > 1_000_000 && base <= MAX_ID_BASE);
    }
}
