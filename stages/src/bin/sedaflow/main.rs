//! The `sedaflow` binary. Its commands (`serve`, `loadgen`, `demo`) arrive with the order
//! server; until then it says so instead of exiting silently.

use std::process::ExitCode;

fn main() -> ExitCode {
    eprintln!(
        "sedaflow: the order server commands (serve, loadgen, demo) are not built yet; \
         run the engine example instead: cargo run --release --example embed"
    );
    ExitCode::from(2)
}
