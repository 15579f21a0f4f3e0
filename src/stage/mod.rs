//! Stages: named handlers with their queue, pool and batching wrapped around them.

mod builder;
mod context;
mod handler;
pub(crate) mod runner;

pub use builder::{PipelineBuilder, StageBuilder};
pub use context::Context;
pub use handler::{handler_fn, FnHandler, Handler, OnPanic};
