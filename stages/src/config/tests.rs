//! The configuration's parsing, validation and reload rules.

use super::*;

#[test]
fn a_stage_table_sets_its_fields_over_the_servers_settings() {
    let defaults = Stages::default();
    let cfg: ServerConfig = toml::from_str(
        "[stages.decode]\nlanes = 1\n[stages.match]\npool = { max = 4 }\nwhen_full = \"reject\"\n",
    )
    .unwrap();
    let decode = &cfg.stages.decode;
    assert_eq!(decode.lanes, NonZeroUsize::new(1));
    assert!(decode.handoff, "hand-off is the server's setting, kept");
    assert_eq!(decode.pool, defaults.decode.pool);
    let matching = &cfg.stages.matching;
    assert_eq!(matching.pool.max.get(), 4);
    assert_eq!(matching.pool.min, defaults.matching.pool.min);
    assert_eq!(matching.lanes, defaults.matching.lanes);
    assert_eq!(matching.when_full, sedaflow::WhenFull::Reject);
    assert_eq!(cfg.stages.encode, defaults.encode);

    let err = toml::from_str::<ServerConfig>("[stages.encode]\nbogus = 1\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("bogus"), "{err}");
}

#[test]
fn parses_a_file_and_refuses_dropping_policies() {
    let cfg: ServerConfig = toml::from_str(
        "tcp = \"127.0.0.1:0\"\n[limits]\nmax_connections = 4\nidle_timeout = \"2s\"\n[stages.match]\ncapacity = 10\n[placement]\nfuse = [[\"decode\", \"match\", \"encode\"]]\n",
    )
    .unwrap();
    assert_eq!(cfg.limits.max_connections, 4);
    assert_eq!(cfg.stages.matching.capacity.get(), 10);
    assert_eq!(cfg.placement.fuse.len(), 1);
    assert!(cfg.validate().is_ok());
    let dropping: ServerConfig =
        toml::from_str("[stages.encode]\nwhen_full = \"drop_oldest\"\n").unwrap();
    let err = dropping.validate().unwrap_err().to_string();
    assert!(err.contains("stages.encode"), "{err}");
    let sleeping_handoff: ServerConfig =
        toml::from_str("[synthetic]\nmatch_delay = \"1ms\"\n[stages.match]\nhandoff = true\n")
            .unwrap();
    let err = sleeping_handoff.validate().unwrap_err().to_string();
    assert!(err.contains("handoff"), "{err}");
    assert!(toml::from_str::<ServerConfig>("bogus = 1\n").is_err());
    let journaled: ServerConfig =
        toml::from_str("journal = \"/var/lib/sedaflow\"\njournal_segment_bytes = 4096\n").unwrap();
    assert_eq!(journaled.journal, Some(PathBuf::from("/var/lib/sedaflow")));
    assert_eq!(journaled.journal_segment_bytes, 4096);
    let fused_journal: ServerConfig =
        toml::from_str("journal = \"j\"\n[placement]\nfuse = [[\"match\", \"encode\"]]\n").unwrap();
    let err = fused_journal.validate().unwrap_err().to_string();
    assert!(err.contains("journal"), "{err}");
}

#[test]
fn the_market_section_sets_the_unsent_cap_and_refuses_zero() {
    assert_eq!(
        ServerConfig::default().market.unsent_cap.get(),
        crate::market::DEFAULT_UNSENT_CAP
    );
    let cfg: ServerConfig = toml::from_str("[market]\nunsent_cap = 65536\n").unwrap();
    assert_eq!(cfg.market.unsent_cap.get(), 65_536);
    for bad in ["[market]\nunsent_cap = 0\n", "[market]\ncap = 1\n"] {
        assert!(toml::from_str::<ServerConfig>(bad).is_err(), "{bad}");
    }
}

#[test]
fn shaping_limits_are_off_by_default_and_refuse_zero() {
    assert_eq!(Limits::default().read_requests_per_sec, None);
    let cfg: ServerConfig =
        toml::from_str("[limits]\nread_requests_per_sec = 500\nconn_read_bytes_per_sec = 4096\n")
            .unwrap();
    assert_eq!(cfg.limits.read_requests_per_sec, NonZeroU64::new(500));
    assert_eq!(cfg.limits.conn_read_bytes_per_sec, NonZeroU64::new(4096));
    let err = toml::from_str::<ServerConfig>("[limits]\nread_bytes_per_sec = 0\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("read_bytes_per_sec"), "{err}");
}

#[test]
fn a_reload_names_what_needs_a_restart_but_not_the_shaping_rates() {
    let running = ServerConfig::default();
    let wanted: ServerConfig = toml::from_str(
        "network_threads = 7\n[limits]\nread_requests_per_sec = 10\nidle_timeout = \"1s\"\n[stages.match]\ncapacity = 3\n",
    )
    .unwrap();
    assert_eq!(
        running.needs_restart(&wanted),
        ["limits.idle_timeout", "network_threads", "stages"]
    );
    let mut shaped = running.clone();
    shaped.limits.conn_read_bytes_per_sec = NonZeroU64::new(1);
    assert!(running.needs_restart(&shaped).is_empty());
}
