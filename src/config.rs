//! Typed stage configuration, parsed once (TOML or code) and never as strings afterwards.

use std::num::NonZeroUsize;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What a stage's queue does with events that arrive while it is full.
///
/// `Block` is the default: backpressure reaches the publisher, nothing is lost.
///
/// # Examples
/// ```
/// use sedaflow::{StageConfig, WhenFull};
///
/// assert_eq!(WhenFull::default(), WhenFull::Block);
/// assert_eq!(WhenFull::DropOldest.as_str(), "drop_oldest");
/// assert!(WhenFull::DropNewest.drops() && !WhenFull::Reject.drops());
/// let config: StageConfig = toml::from_str(r#"when_full = "reject""#)?;
/// assert_eq!(config.when_full, WhenFull::Reject);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WhenFull {
    /// The producer waits for room (optionally until a deadline).
    #[default]
    Block,
    /// The producer gets its events back with an error, so it can answer its client.
    Reject,
    /// The arriving events are dropped and counted.
    DropNewest,
    /// The oldest queued events make room and are dropped and counted.
    DropOldest,
}

impl WhenFull {
    /// The name used in metrics labels and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            WhenFull::Block => "block",
            WhenFull::Reject => "reject",
            WhenFull::DropNewest => "drop_newest",
            WhenFull::DropOldest => "drop_oldest",
        }
    }

    /// Whether this policy may lose events (the order pipeline refuses these).
    pub fn drops(self) -> bool {
        matches!(self, WhenFull::DropNewest | WhenFull::DropOldest)
    }
}

/// Bounds of a stage's adaptive thread pool.
///
/// # Examples
/// ```
/// use std::num::NonZeroUsize;
/// use std::time::Duration;
/// use sedaflow::{PoolConfig, StageConfig};
///
/// let four = PoolConfig::fixed(NonZeroUsize::new(4).unwrap());
/// assert_eq!((four.min, four.max.get(), four.adaptive), (4, 4, false));
/// let config: StageConfig = toml::from_str("[pool]\nmin = 2\nmax = 8\nidle_timeout = \"500ms\"")?;
/// assert_eq!(config.pool.min, 2);
/// assert_eq!(config.pool.idle_timeout, Duration::from_millis(500));
/// assert!(config.pool.adaptive);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PoolConfig {
    /// Threads kept even when idle.
    pub min: usize,
    /// Threads the controller may grow to.
    pub max: NonZeroUsize,
    /// How long the pool must be idle before it shrinks.
    #[serde(with = "humantime_serde")]
    pub idle_timeout: Duration,
    /// Whether the controller adapts the pool; `false` pins it at `max`.
    pub adaptive: bool,
    /// How long a worker that ran out of work sleeps before it looks again and, still
    /// finding none, parks. Producers wake only parked workers, so under a steady trickle a
    /// stage that tolerates this much delay pays one timer wake-up per `linger` instead of a
    /// wake-up (and a thread switch) per batch, and takes bigger batches. Zero (the default):
    /// park at once, woken by the next event.
    #[serde(with = "humantime_serde")]
    pub linger: Duration,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            min: 1,
            max: NonZeroUsize::new(4).expect("4 is non-zero"),
            idle_timeout: Duration::from_secs(2),
            adaptive: true,
            linger: Duration::ZERO,
        }
    }
}

impl PoolConfig {
    /// A pool pinned at `n` threads (no adaptation).
    pub fn fixed(n: NonZeroUsize) -> Self {
        PoolConfig {
            min: n.get(),
            max: n,
            adaptive: false,
            ..PoolConfig::default()
        }
    }
}

/// Bounds of a stage's batching controller.
///
/// # Examples
/// ```
/// use sedaflow::{BatchConfig, StageConfig};
///
/// let default = BatchConfig::default();
/// assert!(default.min <= default.initial && default.initial <= default.max);
/// let config: StageConfig = toml::from_str("[batch]\nmin = 8\nmax = 256\ninitial = 64")?;
/// assert_eq!(config.batch.initial.get(), 64);
/// assert!(toml::from_str::<StageConfig>("[batch]\nmin = 0").is_err(), "non-zero by type");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BatchConfig {
    /// Smallest batch limit the controller may choose.
    pub min: NonZeroUsize,
    /// Largest batch limit the controller may choose.
    pub max: NonZeroUsize,
    /// The limit a stage starts with.
    pub initial: NonZeroUsize,
    /// Whether the controller adapts the limit; `false` pins it at `initial`.
    pub adaptive: bool,
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig {
            min: NonZeroUsize::MIN,
            // A worker takes only what is queued, so a high limit costs latency only when the
            // queue is deep, which is when batching pays most.
            max: NonZeroUsize::new(8192).expect("non-zero"),
            initial: NonZeroUsize::new(1024).expect("non-zero"),
            adaptive: true,
        }
    }
}

/// Everything that can be configured per stage.
///
/// Queue settings (`capacity`, `when_full`, `lanes`) and the pool and batch bounds apply to a
/// stage that leads its domain; a stage fused behind another runs on its domain's queue.
///
/// # Examples
/// ```
/// use sedaflow::{StageConfig, WhenFull};
///
/// let config: StageConfig = toml::from_str("capacity = 1024\nwhen_full = \"drop_oldest\"")?;
/// assert_eq!(config.capacity.get(), 1024);
/// assert_eq!(config.when_full, WhenFull::DropOldest);
/// assert_eq!(config.pool, StageConfig::default().pool);
/// assert!(config.validate().is_ok());
/// assert!(toml::from_str::<StageConfig>("capacty = 1").is_err(), "unknown fields are refused");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StageConfig {
    /// Maximum number of queued events.
    pub capacity: NonZeroUsize,
    /// Admission policy when the queue is full.
    pub when_full: WhenFull,
    /// Mailboxes the queue is split into (default: a few per thread for keyed stages).
    pub lanes: Option<NonZeroUsize>,
    /// Pool bounds.
    pub pool: PoolConfig,
    /// Batch bounds.
    pub batch: BatchConfig,
    /// Lets a worker of an upstream stage run this stage's lanes when its own output makes
    /// them ready, instead of waking this stage's pool (no thread switch per hop). Only for
    /// handlers that never block: a blocking handler would hold the upstream thread.
    pub handoff: bool,
}

impl Default for StageConfig {
    fn default() -> Self {
        StageConfig {
            capacity: NonZeroUsize::new(65_536).expect("non-zero"),
            when_full: WhenFull::Block,
            lanes: None,
            pool: PoolConfig::default(),
            batch: BatchConfig::default(),
            handoff: false,
        }
    }
}

impl StageConfig {
    /// Checks bounds that types alone cannot express.
    ///
    /// # Errors
    /// Returns a message naming the field when `pool.min > pool.max` or the batch bounds are
    /// out of order.
    pub fn validate(&self) -> Result<(), String> {
        if self.pool.min > self.pool.max.get() {
            return Err(format!(
                "pool.min ({}) exceeds pool.max ({})",
                self.pool.min, self.pool.max
            ));
        }
        if self.batch.min > self.batch.max {
            return Err(format!(
                "batch.min ({}) exceeds batch.max ({})",
                self.batch.min, self.batch.max
            ));
        }
        if self.batch.initial < self.batch.min || self.batch.initial > self.batch.max {
            return Err(format!(
                "batch.initial ({}) is outside batch.min..=batch.max",
                self.batch.initial
            ));
        }
        Ok(())
    }

    /// Number of lanes the stage's queue uses.
    pub(crate) fn lane_count(&self, keyed: bool) -> usize {
        match self.lanes {
            Some(n) => n.get(),
            // Keyed: several lanes per thread so one hot key does not pin a whole thread's share.
            None if keyed => self.pool.max.get() * 4,
            None => self.pool.max.get(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_toml_with_defaults_and_refuses_unknown_fields() {
        let cfg: StageConfig = toml::from_str(
            "capacity = 128\nwhen_full = \"drop_oldest\"\n[pool]\nmax = 8\nidle_timeout = \"250ms\"\n",
        )
        .expect("valid config");
        assert_eq!(cfg.capacity.get(), 128);
        assert_eq!(cfg.when_full, WhenFull::DropOldest);
        assert_eq!(cfg.pool.max.get(), 8);
        assert_eq!(cfg.pool.idle_timeout, Duration::from_millis(250));
        assert_eq!(cfg.batch, BatchConfig::default());
        assert!(toml::from_str::<StageConfig>("capacity = 1\nbogus = 2\n").is_err());
        assert!(toml::from_str::<StageConfig>("capacity = 0\n").is_err());
    }

    #[test]
    fn validate_names_the_field() {
        let mut cfg = StageConfig::default();
        cfg.pool.min = 9;
        assert!(cfg.validate().unwrap_err().contains("pool.min"));
    }
}
