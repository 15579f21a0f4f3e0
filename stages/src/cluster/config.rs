//! The scale-out settings: the process's role and how it reaches NATS.

use std::num::NonZeroUsize;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::UnknownRole;

/// What a `sedaflow serve` process does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything in one process, no NATS.
    #[default]
    All,
    /// The client-facing side: network IO, decode, encode; orders go to the NATS log.
    Ingress,
    /// Matching only: owns partitions of the NATS log.
    Matcher,
}

impl std::str::FromStr for Role {
    type Err = UnknownRole;

    /// `all`, `ingress` or `matcher`, as in the config file.
    fn from_str(s: &str) -> Result<Role, UnknownRole> {
        match s {
            "all" => Ok(Role::All),
            "ingress" => Ok(Role::Ingress),
            "matcher" => Ok(Role::Matcher),
            _ => Err(UnknownRole(s.to_owned())),
        }
    }
}

/// The `[cluster]` table (flags `--role`, `--nats`, `--partitions` win).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterConfig {
    /// The process's role.
    pub role: Role,
    /// NATS server URL (`nats://127.0.0.1:4222`); needed by `ingress` and `matcher`.
    pub nats: Option<String>,
    /// Partitions of the order log; every process of a deployment must agree.
    pub partitions: u32,
    /// Prefix of the deployment's subjects, stream and bucket names.
    pub prefix: String,
    /// A lease (or member entry) unchanged this long is taken over.
    #[serde(with = "humantime_serde")]
    pub lease_timeout: Duration,
    /// How often owners renew leases and matchers rebalance; well below `lease_timeout`.
    #[serde(with = "humantime_serde")]
    pub heartbeat: Duration,
    /// Most log messages (each up to 1024 orders) a matcher pulls per partition at once.
    pub max_batch: NonZeroUsize,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            role: Role::All,
            nats: None,
            partitions: 16,
            prefix: "sedaflow".to_owned(),
            lease_timeout: Duration::from_secs(5),
            heartbeat: Duration::from_secs(1),
            max_batch: NonZeroUsize::new(64).unwrap_or(NonZeroUsize::MIN),
        }
    }
}

impl ClusterConfig {
    /// Checks the bounds; the message names the field.
    ///
    /// # Errors
    /// A text naming the offending setting.
    pub fn validate(&self) -> Result<(), String> {
        if self.role != Role::All && self.nats.is_none() {
            return Err("cluster: --role ingress|matcher needs --nats URL".into());
        }
        if !(1..=4096).contains(&self.partitions) {
            return Err("cluster.partitions must be in 1..=4096".into());
        }
        let name_ok = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
        if self.prefix.is_empty() || !self.prefix.chars().all(name_ok) {
            return Err("cluster.prefix must be letters, digits, '-' or '_'".into());
        }
        if self.heartbeat.is_zero() || self.heartbeat * 2 > self.lease_timeout {
            return Err(
                "cluster.heartbeat must be above zero and at most lease_timeout / 2".into(),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_roles_need_nats() {
        let mut c = ClusterConfig::default();
        assert_eq!(c.validate(), Ok(()));
        c.role = Role::Matcher;
        assert!(c.validate().is_err());
        c.nats = Some("nats://127.0.0.1:4222".into());
        assert_eq!(c.validate(), Ok(()));
        c.heartbeat = c.lease_timeout;
        assert!(c.validate().is_err());
    }

    #[test]
    fn parses_from_toml() {
        let c: ClusterConfig = toml::from_str(
            "role = \"matcher\"\npartitions = 4\nlease_timeout = \"2s\"\nheartbeat = \"250ms\"",
        )
        .unwrap();
        assert_eq!(c.role, Role::Matcher);
        assert_eq!(c.partitions, 4);
        assert_eq!(c.heartbeat, Duration::from_millis(250));
        assert!(toml::from_str::<ClusterConfig>("bogus = 1").is_err());
    }
}
