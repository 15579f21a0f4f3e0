//! `sedaflow graph`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use sedaflow_stages::graph::{self, Format};
use sedaflow_stages::ServerConfig;

#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    /// Mermaid flowchart.
    Mermaid,
    /// Graphviz dot.
    Dot,
}

#[derive(Args)]
pub(crate) struct GraphArgs {
    /// TOML configuration file, as given to `serve --config`.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Output language.
    #[arg(long, value_enum, default_value = "mermaid")]
    format: FormatArg,
}

pub(crate) fn run(args: GraphArgs) -> Result<(), String> {
    let config = match &args.config {
        Some(path) => ServerConfig::from_file(path).map_err(|e| e.to_string())?,
        None => ServerConfig::default(),
    };
    let format = match args.format {
        FormatArg::Mermaid => Format::Mermaid,
        FormatArg::Dot => Format::Dot,
    };
    print!("{}", graph::render(&config, format));
    Ok(())
}
