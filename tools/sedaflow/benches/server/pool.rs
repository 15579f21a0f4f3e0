//! How a staged server's network pool moved during a run (issue 16 asks for it beside the
//! figures): its loop starts and the sessions moved between loops, read from `/metrics`
//! before and after the measured run.

use std::net::SocketAddr;
use std::time::Duration;

use sedaflow_top::fetch::{fetch, MetricsUrl};
use sedaflow_top::Scrape;

/// The pool's counters at one moment.
#[derive(Clone, Copy, Debug, Default)]
pub struct Moves {
    /// Loops started (the first one included).
    pub started: f64,
    /// Sessions moved from one loop to another.
    pub moved: f64,
}

impl Moves {
    /// Scrapes `metrics`; `None` when it does not answer.
    pub fn read(metrics: SocketAddr) -> Option<Moves> {
        let url = MetricsUrl {
            authority: metrics.to_string(),
            path: "/metrics".into(),
        };
        let scrape = Scrape::parse(&fetch(&url, Duration::from_secs(2)).ok()?).ok()?;
        let count = |name: &str| scrape.sum(name, &[]).unwrap_or(0.0);
        Some(Moves {
            started: count("sedaflow_net_loops_started_total"),
            moved: count("sedaflow_net_sessions_moved_total"),
        })
    }

    /// What happened between `before` and `self`.
    pub fn since(self, before: Moves) -> Moves {
        Moves {
            started: self.started - before.started,
            moved: self.moved - before.moved,
        }
    }
}
