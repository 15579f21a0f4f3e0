//! `sedaflow top`.

use std::time::Duration;

use clap::Args;
use sedaflow_top::app::{self, TopOptions};

#[derive(Args)]
pub(crate) struct TopArgs {
    /// The server's Prometheus endpoint.
    #[arg(long, default_value = "http://127.0.0.1:9000/metrics")]
    url: String,
    /// Time between scrapes.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "1s")]
    interval: Duration,
    /// Take two scrapes, print one frame as text and exit (no terminal needed).
    #[arg(long)]
    once: bool,
    /// Frame width with --once.
    #[arg(long, default_value_t = 120)]
    width: u16,
    /// Frame height with --once.
    #[arg(long, default_value_t = 12)]
    height: u16,
}

pub(crate) fn run(args: TopArgs) -> Result<(), String> {
    let options = TopOptions {
        url: args.url,
        interval: args.interval,
    };
    if args.once {
        print!("{}", app::once(&options, args.width, args.height)?);
        return Ok(());
    }
    app::run(&options)
}
