//! Stages: named handlers with their queue, pool and batching wrapped around them.

mod builder;
pub(crate) mod context;
pub(crate) mod decl;
mod fallible;
mod handler;
mod id;
mod runner;

pub use builder::StageBuilder;
pub use context::Context;
pub use fallible::{Fallible, TryHandler};
pub use handler::{handler_fn, FnHandler, Handler, OnPanic};
pub use id::{StageId, StageRef};

pub(crate) use id::locate;
pub(crate) use runner::panic_message;
