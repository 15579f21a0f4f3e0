//! `sedaflow graph`: the order pipeline's topology (stages, domains, bus routes, queue bounds
//! and policies) drawn from the same [`ServerConfig`] `serve` uses, as Mermaid or Graphviz
//! dot. Pure: a config in, text out.
//!
//! # Examples
//! ```
//! use sedaflow_stages::graph::{render, Format};
//! use sedaflow_stages::ServerConfig;
//! let text = render(&ServerConfig::default(), Format::Mermaid);
//! assert!(text.starts_with("flowchart LR"));
//! assert!(text.contains("s_decode -->|\"Order\"| s_match"));
//! ```

use std::fmt::Write;

use sedaflow::StageConfig;

use crate::config::ServerConfig;
use crate::pipeline::{market_config, JournalStage};

/// Output language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Mermaid `flowchart LR` (renders on GitHub).
    Mermaid,
    /// Graphviz `digraph`.
    Dot,
}

/// One stage of the order pipeline as configured.
struct Node<'a> {
    name: &'static str,
    key: &'static str,
    config: &'a StageConfig,
    /// First stage of its domain (owns queue and pool).
    entry: bool,
}

/// A bus route: from, to, what travels.
type Route = (&'static str, &'static str, &'static str);

const ROUTES: [Route; 8] = [
    ("network", "decode", "DecodeIn frames"),
    ("decode", "match", "Order"),
    ("decode", "encode", "Reply: errors, pongs"),
    ("match", "encode", "Reply, Notify"),
    ("encode", "writers", "JSON lines"),
    ("network", "market", "subscribe, snapshot requests"),
    ("match", "market", "book changes, per batch"),
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

const EDGE_NODES: [(&str, &str); 3] = [
    ("network", "network: tokio readers"),
    ("writers", "connection writers: tokio"),
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

/// Stages grouped into domains, in pipeline order, as `placement.fuse` places them; the
/// journal stage (its `journal` config) after matching when there is one.
fn domains<'a>(
    config: &'a ServerConfig,
    journal: Option<&'a StageConfig>,
    market: &'a StageConfig,
) -> Vec<Vec<Node<'a>>> {
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
    let mut out: Vec<Vec<Node<'_>>> = Vec::new();
    let mut previous_group = None;
    for (name, key, stage_config) in stages {
        let g = group(name);
        let fused = g.is_some() && g == previous_group;
        previous_group = g;
        let node = Node {
            name,
            key,
            config: stage_config,
            entry: !fused,
        };
        match out.last_mut() {
            Some(domain) if fused => domain.push(node),
            _ => out.push(vec![node]),
        }
    }
    out
}

fn label(n: &Node<'_>, newline: &str) -> String {
    let c = n.config;
    let mut l = format!("{}{newline}{}", n.name, n.key);
    if n.entry {
        let _ = write!(
            l,
            "{newline}queue {}, when_full {}",
            c.capacity,
            c.when_full.as_str()
        );
        if let Some(lanes) = c.lanes {
            let _ = write!(l, ", lanes {lanes}");
        }
        let _ = write!(l, "{newline}threads {}..{}", c.pool.min, c.pool.max);
    } else {
        let _ = write!(l, "{newline}fused: direct call, no queue");
    }
    l
}

fn route_label(domains: &[Vec<Node<'_>>], from: &str, to: &str, what: &str) -> String {
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
    match name {
        "network" | "writers" | "subscribers" => name.to_owned(),
        _ => format!("s_{name}"),
    }
}

fn mermaid(domains: &[Vec<Node<'_>>], routes: &[Route]) -> String {
    let mut out = String::from("flowchart LR\n");
    let _ = writeln!(out, "    network([\"{}\"])", EDGE_NODES[0].1);
    for d in domains {
        let _ = writeln!(out, "    subgraph d_{0}[\"domain {0}\"]", d[0].name);
        for n in d {
            let _ = writeln!(out, "        {}[\"{}\"]", id(n.name), label(n, "<br/>"));
        }
        out.push_str("    end\n");
    }
    for (name, what) in &EDGE_NODES[1..] {
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

fn dot(domains: &[Vec<Node<'_>>], routes: &[Route]) -> String {
    let mut out = String::from(
        "digraph sedaflow {\n    rankdir=LR;\n    node [shape=box, fontname=\"monospace\"];\n",
    );
    let _ = writeln!(
        out,
        "    network [shape=ellipse, label=\"{}\"];",
        EDGE_NODES[0].1
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
    for (name, what) in &EDGE_NODES[1..] {
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
        for d in ["decode", "match", "encode", "market"] {
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
        assert!(text.contains("network -->|\"DecodeIn frames\"| s_decode"));
        assert!(text.contains("s_decode -->|\"Reply: errors, pongs\"| s_encode"));
        assert!(text.contains("s_match -->|\"Reply, Notify\"| s_encode"));
        assert!(text.contains("s_encode -->|\"JSON lines\"| writers"));
        assert!(text.contains("s_match -->|\"book changes, per batch\"| s_market"));
        assert!(text.contains("s_market -->|\"WebSocket updates\"| subscribers"));
        assert!(text.contains("subscribers([\"WebSocket subscribers: tokio\"])"));
        assert!(
            text.contains("s_decode[\"decode<br/>keyed by account<br/>"),
            "{text}"
        );
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
        assert!(!text.contains("s_match -->|\"book changes, per batch\"| s_market"));
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
