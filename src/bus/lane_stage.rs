//! A stage as the bus sees it inside a lane: an inbox to fill and a step to run.
//!
//! Fused stages share a lane; the bus delivers an emitter's events straight into the inbox of
//! the fused stage after it (no queue), and the domain runs the chain through [`LaneStage::run`].

use std::any::Any;
use std::sync::atomic::AtomicU64;
use std::time::Instant;

use super::route::Bus;

/// One stage of a lane's chain, type-erased so a domain can hold stages of different types.
pub(crate) trait LaneStage: Send {
    /// The stage's input buffer (`Vec<In>`), for the queue and for fused predecessors.
    fn inbox_any(&mut self) -> &mut dyn Any;
    /// Handles everything in the inbox and delivers the outputs; `later[0]` sits at `offset`.
    /// The entry stage notes in `progress` how many events it has handed out so far.
    ///
    /// `started` is the caller's latest clock reading (the batch's start, or the stage
    /// before's end); it returns its own end, when its handler finished. A chain so reads the
    /// clock once per stage and once per batch, not twice each: for a batch of a few events
    /// the readings are a sizeable share of the engine's cost.
    fn run(
        &mut self,
        bus: &Bus,
        later: &mut [Box<dyn LaneStage>],
        offset: usize,
        progress: Option<&AtomicU64>,
        started: Instant,
    ) -> Instant;
}
