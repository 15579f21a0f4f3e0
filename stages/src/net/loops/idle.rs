//! What a loop does when it has nothing else to do: the batches of a stage that would
//! otherwise wake a thread of its own (market data's).

use std::sync::OnceLock;
use std::time::Duration;

use sedaflow::IdleRunner;

/// Batches run per idle moment: one round of market data's lanes.
const ROUND: usize = crate::pipeline::MARKET_LANES;

/// How often the loops may run a round: half the market-data worker's linger, so an idle
/// loop takes a round before the worker wakes for it, and market data stays about a
/// millisecond behind while the loops have idle moments.
const EVERY: Duration = Duration::from_millis(1);

/// The longest round a loop takes on: input that arrives meanwhile waits no longer. Market
/// data's book-keeping for a millisecond of a busy book fits; fanning out to many
/// subscribers does not, and stays on the stage's own thread.
const BUDGET: Duration = Duration::from_micros(100);

/// The work the group's loops share, set once the pipeline is built (after the loops).
#[derive(Default)]
pub(crate) struct IdleWork {
    runner: OnceLock<IdleRunner>,
}

impl IdleWork {
    /// From now on, idle loops run `runner`'s ready batches.
    pub(crate) fn set(&self, runner: IdleRunner) {
        let _ = self.runner.set(runner.budget(BUDGET).every(EVERY));
    }

    /// A loop's runtime is about to park: runs what is ready.
    pub(crate) fn run(&self) {
        if let Some(runner) = self.runner.get() {
            runner.run_ready(ROUND);
        }
    }
}
