//! `sedaflow graph`: the order pipeline's topology (stages, domains, bus routes, queue bounds
//! and policies) drawn from the same [`ServerConfig`] `serve` uses, as Mermaid or Graphviz
//! dot. Pure: a config in, text out.
//!
//! The network is two stages, each in a domain of its own: `net_read` first (requests framed
//! off client sockets) and `net_write` last (replies and reports written to them), both run by
//! the same event loops. Their queue bounds are the limits that really apply: `net_read`
//! holds at most `max_in_flight` requests per connection, `net_write` at most
//! `write_hard_cap` bytes per connection.
//!
//! # Examples
//! ```
//! use sedaflow_stages::graph::{render, Format};
//! use sedaflow_stages::ServerConfig;
//! let text = render(&ServerConfig::default(), Format::Mermaid);
//! assert!(text.starts_with("flowchart LR"));
//! assert!(text.contains("s_net_read -->|\"DecodeIn reads\"| s_decode"));
//! assert!(text.contains("s_decode -->|\"Order\"| s_match"));
//! assert!(text.contains("s_encode -->|\"JSON lines\"| s_net_write"));
//! ```

use std::fmt::Write;

use sedaflow::StageConfig;

use crate::config::ServerConfig;
use crate::net;
use crate::pipeline::{market_config, JournalStage};

/// Output language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Mermaid `flowchart LR` (renders on GitHub).
    Mermaid,
    /// Graphviz `digraph`.
    Dot,
}

/// What a domain's entry stage shows of its queue and pool.
struct Bounds {
    capacity: usize,
    /// Why the capacity is what it is, when it is not a configured number.
    capacity_is: Option<&'static str>,
    when_full: &'static str,
    lanes: Option<usize>,
    /// `threads` for an engine pool, `event loops` for the network's.
    pool: &'static str,
    min: usize,
    max: usize,
}

impl Bounds {
    fn of(c: &StageConfig) -> Self {
        Bounds {
            capacity: c.capacity.get(),
            capacity_is: None,
            when_full: c.when_full.as_str(),
            lanes: c.lanes.map(|l| l.get()),
            pool: "threads",
            min: c.pool.min,
            max: c.pool.max.get(),
        }
    }
}

/// One stage of the order pipeline as configured.
struct Node {
    name: &'static str,
    key: &'static str,
    bounds: Bounds,
    /// First stage of its domain (owns queue and pool).
    entry: bool,
}

/// A bus route: from, to, what travels.
type Route = (&'static str, &'static str, &'static str);

const ROUTES: [Route; 10] = [
    ("clients", "net_read", "socket reads"),
    ("net_read", "decode", "DecodeIn reads"),
    ("decode", "match", "Order"),
    ("decode", "encode", "Reply: errors, pongs"),
    ("match", "encode", "Reply, Notify"),
    ("encode", "net_write", "JSON lines"),
    ("net_write", "clients", "socket writes"),
    ("net_read", "market", "subscribe, snapshot requests"),
    ("match", "market", "watched books' changes, per batch"),
    ("market", "subscribers", "WebSocket updates"),
];

/// With a journal, matching's output takes this way to encode and market data instead.
const JOURNAL_ROUTES: [Route; 3] = [
    ("match", "journal", "records, Reply, Notify, book changes"),
    ("journal", "encode", "Reply, Notify (durable)"),
    ("journal", "market", "book changes (durable)"),
];

fn routes(config: &ServerConfig) -> Vec<Route> {
    let mut routes = ROUTES.to_vec();
    if config.journal.is_some() {
        routes.retain(|&(from, to, _)| from != "match" || !matches!(to, "encode" | "market"));
        routes.extend(JOURNAL_ROUTES);
    }
    routes
}

/// The shapes outside every domain: id, label.
const EDGE_NODES: [(&str, &str); 2] = [
    ("clients", "clients: TCP sockets"),
    ("subscribers", "WebSocket subscribers: tokio"),
];

/// The pipeline's topology under `config`.
pub fn render(config: &ServerConfig, format: Format) -> String {
    let journal = JournalStage::config();
    let journal = config.journal.is_some().then_some(&journal);
    let market = market_config();
    let domains = domains(config, journal, &market);
    let routes = routes(config);
    match format {
        Format::Mermaid => mermaid(&domains, &routes),
        Format::Dot => dot(&domains, &routes),
    }
}

/// The network stages, read then write, as `config` bounds them.
fn net_stages(config: &ServerConfig) -> [Node; 2] {
    let limits = &config.limits;
    let (min, max) = (
        config.network.min_loops.get(),
        config.network.max_loops.get(),
    );
    let read = Bounds {
        capacity: net::read_capacity(limits),
        capacity_is: Some("connections × in flight"),
        when_full: "pause reads",
        lanes: None,
        pool: "event loops",
        min,
        max,
    };
    let write = Bounds {
        capacity: net::write_capacity(limits),
        capacity_is: Some("bytes: connections × hard cap"),
        when_full: "cut connection",
        ..read
    };
    let node = |name, key, bounds| Node {
        name,
        key,
        bounds,
        entry: true,
    };
    [
        node("net_read", "per connection: framing, admission", read),
        node("net_write", "per connection: output in order", write),
    ]
}

/// Stages grouped into domains, in pipeline order: `net_read`, the engine's stages as
/// `placement.fuse` places them (the journal stage, with its `journal` config, after matching
/// when there is one), `net_write`.
fn domains(
    config: &ServerConfig,
    journal: Option<&StageConfig>,
    market: &StageConfig,
) -> Vec<Vec<Node>> {
    let s = &config.stages;
    let mut stages = vec![
        ("decode", "keyed by account", &s.decode),
        ("match", "keyed by symbol", &s.matching),
    ];
    stages.extend(journal.map(|j| ("journal", "one lane: write + fdatasync per batch", j)));
    stages.push(("encode", "keyed by account", &s.encode));
    stages.push(("market", "keyed by symbol", market));
    let group = |name: &str| {
        config
            .placement
            .fuse
            .iter()
            .position(|g| g.iter().any(|n| n == name))
    };
    let [net_read, net_write] = net_stages(config);
    let mut out: Vec<Vec<Node>> = vec![vec![net_read]];
    let mut previous_group = None;
    for (name, key, stage_config) in stages {
        let g = group(name);
        let fused = g.is_some() && g == previous_group;
        previous_group = g;
        let node = Node {
            name,
            key,
            bounds: Bounds::of(stage_config),
            entry: !fused,
        };
        match out.last_mut() {
            Some(domain) if fused => domain.push(node),
            _ => out.push(vec![node]),
        }
    }
    out.push(vec![net_write]);
    out
}

fn label(n: &Node, newline: &str) -> String {
    let b = &n.bounds;
    let mut l = format!("{}{newline}{}", n.name, n.key);
    if n.entry {
        let _ = write!(l, "{newline}queue {}", b.capacity);
        if let Some(is) = b.capacity_is {
            let _ = write!(l, " ({is})");
        }
        let _ = write!(l, ", when_full {}", b.when_full);
        if let Some(lanes) = b.lanes {
            let _ = write!(l, ", lanes {lanes}");
        }
        let _ = write!(l, "{newline}{} {}..{}", b.pool, b.min, b.max);
    } else {
        let _ = write!(l, "{newline}fused: direct call, no queue");
    }
    l
}

fn route_label(domains: &[Vec<Node>], from: &str, to: &str, what: &str) -> String {
    let same = domains
        .iter()
        .any(|d| d.iter().any(|n| n.name == from) && d.iter().any(|n| n.name == to && !n.entry));
    if same {
        format!("{what} (direct call)")
    } else {
        what.to_owned()
    }
}

fn id(name: &str) -> String {
    if EDGE_NODES.iter().any(|&(edge, _)| edge == name) {
        name.to_owned()
    } else {
        format!("s_{name}")
    }
}

fn mermaid(domains: &[Vec<Node>], routes: &[Route]) -> String {
    let mut out = String::from("flowchart LR\n");
    for d in domains {
        let _ = writeln!(out, "    subgraph d_{0}[\"domain {0}\"]", d[0].name);
        for n in d {
            let _ = writeln!(out, "        {}[\"{}\"]", id(n.name), label(n, "<br/>"));
        }
        out.push_str("    end\n");
    }
    for (name, what) in EDGE_NODES {
        let _ = writeln!(out, "    {name}([\"{what}\"])");
    }
    for &(from, to, what) in routes {
        let _ = writeln!(
            out,
            "    {} -->|\"{}\"| {}",
            id(from),
            route_label(domains, from, to, what),
            id(to)
        );
    }
    out
}

fn dot(domains: &[Vec<Node>], routes: &[Route]) -> String {
    let mut out = String::from(
        "digraph sedaflow {\n    rankdir=LR;\n    node [shape=box, fontname=\"monospace\"];\n",
    );
    for d in domains {
        let _ = writeln!(
            out,
            "    subgraph cluster_{0} {{\n        label=\"domain {0}\";",
            d[0].name
        );
        for n in d {
            let _ = writeln!(
                out,
                "        {} [label=\"{}\"];",
                id(n.name),
                label(n, "\\n")
            );
        }
        out.push_str("    }\n");
    }
    for (name, what) in EDGE_NODES {
        let _ = writeln!(out, "    {name} [shape=ellipse, label=\"{what}\"];");
    }
    for &(from, to, what) in routes {
        let _ = writeln!(
            out,
            "    {} -> {} [label=\"{}\"];",
            id(from),
            id(to),
            route_label(domains, from, to, what)
        );
    }
    out.push_str("}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use sedaflow::WhenFull;
    use std::num::NonZeroUsize;

    #[test]
    fn default_config_has_a_domain_per_stage_and_every_route() {
        let text = render(&ServerConfig::default(), Format::Mermaid);
        for d in [
            "net_read",
            "decode",
            "match",
            "encode",
            "market",
            "net_write",
        ] {
            assert!(
                text.contains(&format!("subgraph d_{d}[\"domain {d}\"]")),
                "{text}"
            );
        }
        let lanes = ServerConfig::default()
            .stages
            .matching
            .lanes
            .expect("matching's lanes follow the machine");
        assert!(
            text.contains(&format!(
                "s_match[\"match<br/>keyed by symbol<br/>queue 65536, when_full block, lanes \
                 {lanes}<br/>threads 1..2\"]"
            )),
            "{text}"
        );
        assert!(text.contains("clients -->|\"socket reads\"| s_net_read"));
        assert!(text.contains("s_net_read -->|\"DecodeIn reads\"| s_decode"));
        assert!(text.contains("s_decode -->|\"Reply: errors, pongs\"| s_encode"));
        assert!(text.contains("s_match -->|\"Reply, Notify\"| s_encode"));
        assert!(text.contains("s_encode -->|\"JSON lines\"| s_net_write"));
        assert!(text.contains("s_net_write -->|\"socket writes\"| clients"));
        assert!(text.contains("s_net_read -->|\"subscribe, snapshot requests\"| s_market"));
        assert!(text.contains("s_match -->|\"watched books' changes, per batch\"| s_market"));
        assert!(text.contains("s_market -->|\"WebSocket updates\"| subscribers"));
        assert!(text.contains("clients([\"clients: TCP sockets\"])"));
        assert!(text.contains("subscribers([\"WebSocket subscribers: tokio\"])"));
        assert!(!text.contains("network"), "{text}");
        assert!(
            text.contains("s_decode[\"decode<br/>keyed by account<br/>"),
            "{text}"
        );
    }

    #[test]
    fn the_network_stages_come_first_and_last_with_their_real_bounds() {
        let config = ServerConfig::default();
        let text = render(&config, Format::Mermaid);
        let loops = config.network.max_loops;
        // 1024 connections × 4096 in flight; 1024 × 16 MiB of output.
        let read = format!(
            "s_net_read[\"net_read<br/>per connection: framing, admission<br/>queue 4194304 \
             (connections × in flight), when_full pause reads<br/>event loops 1..{loops}\"]"
        );
        let write = format!(
            "s_net_write[\"net_write<br/>per connection: output in order<br/>queue 17179869184 \
             (bytes: connections × hard cap), when_full cut connection<br/>event loops \
             1..{loops}\"]"
        );
        assert!(text.contains(&read), "{text}");
        assert!(text.contains(&write), "{text}");
        let subgraphs: Vec<&str> = text
            .lines()
            .filter_map(|l| l.trim().strip_prefix("subgraph d_"))
            .filter_map(|l| l.split('[').next())
            .collect();
        assert_eq!(
            subgraphs,
            [
                "net_read",
                "decode",
                "match",
                "encode",
                "market",
                "net_write"
            ]
        );
    }

    #[test]
    fn the_network_bounds_follow_the_limits_and_the_loops() {
        let mut c = ServerConfig::default();
        c.limits.max_connections = 10;
        c.limits.max_in_flight = 3;
        c.limits.write_hard_cap = 1_600;
        c.network.min_loops = NonZeroUsize::new(2).unwrap();
        c.network.max_loops = NonZeroUsize::new(3).unwrap();
        let text = render(&c, Format::Dot);
        assert!(text.contains("subgraph cluster_net_read {"), "{text}");
        assert!(text.contains("subgraph cluster_net_write {"), "{text}");
        assert!(
            text.contains(
                "s_net_read [label=\"net_read\\nper connection: framing, admission\\nqueue 30 \
             (connections × in flight), when_full pause reads\\nevent loops 2..3\"]"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "s_net_write [label=\"net_write\\nper connection: output in order\\nqueue 16000 \
             (bytes: connections × hard cap), when_full cut connection\\nevent loops 2..3\"]"
            ),
            "{text}"
        );
        assert!(text.contains("s_encode -> s_net_write [label=\"JSON lines\"]"));
        assert!(text.contains("clients [shape=ellipse, label=\"clients: TCP sockets\"]"));
    }

    #[test]
    fn a_journal_stage_sits_between_match_and_encode() {
        let c = ServerConfig {
            journal: Some("j".into()),
            ..ServerConfig::default()
        };
        let text = render(&c, Format::Mermaid);
        assert!(
            text.contains("subgraph d_journal[\"domain journal\"]"),
            "{text}"
        );
        assert!(text.contains("lanes 1<br/>threads 1..1"), "{text}");
        assert!(text.contains("s_match -->|\"records, Reply, Notify, book changes\"| s_journal"));
        assert!(text.contains("s_journal -->|\"Reply, Notify (durable)\"| s_encode"));
        assert!(text.contains("s_journal -->|\"book changes (durable)\"| s_market"));
        assert!(!text.contains("s_match -->|\"Reply, Notify\"| s_encode"));
        assert!(
            !text
                .lines()
                .any(|l| l.contains("s_match -->") && l.ends_with("s_market")),
            "{text}"
        );
    }

    #[test]
    fn fused_stages_share_a_subgraph_and_config_values_show() {
        let mut c = ServerConfig::default();
        c.placement.fuse = vec![vec!["match".into(), "encode".into()]];
        c.stages.matching.capacity = NonZeroUsize::new(1024).unwrap();
        c.stages.matching.when_full = WhenFull::Reject;
        let text = render(&c, Format::Dot);
        assert!(text.starts_with("digraph sedaflow {"));
        assert!(text.contains("subgraph cluster_match {"));
        assert!(!text.contains("cluster_encode"));
        assert!(text.contains("queue 1024, when_full reject"));
        assert!(text.contains(
            "s_encode [label=\"encode\\nkeyed by account\\nfused: direct call, no queue\"]"
        ));
        assert!(text.contains("s_match -> s_encode [label=\"Reply, Notify (direct call)\"]"));
        // decode is in another domain: a queue hop
        assert!(text.contains("s_decode -> s_encode [label=\"Reply: errors, pongs\"]"));
    }
}
