//! The tokio runtime async stages run on unless the embedder hands one in.

use std::io;

use parking_lot::Mutex;

use tokio::runtime::{Builder, Handle, Runtime, RuntimeFlavor};

/// The engine's runtime, made on first use and shared by every pipeline of the process: a
/// multi-threaded runtime with a worker per core (threads named `sf-async`). It lives as long
/// as the process, so no pipeline has to drop it (dropping a runtime inside another one's
/// task panics).
pub(crate) fn engine() -> io::Result<Handle> {
    static ENGINE: Mutex<Option<Handle>> = Mutex::new(None);
    let mut engine = ENGINE.lock();
    if let Some(handle) = &*engine {
        return Ok(handle.clone());
    }
    let runtime = Builder::new_multi_thread()
        .thread_name("sf-async")
        .enable_all()
        .build()?;
    let runtime: &'static Runtime = Box::leak(Box::new(runtime));
    *engine = Some(runtime.handle().clone());
    Ok(runtime.handle().clone())
}

/// Why a handed-in runtime cannot run async stages, if it cannot: calls deliver their
/// output with `block_in_place` (a full downstream queue may block), which needs worker
/// threads to spare.
pub(crate) fn refusal(handle: &Handle) -> Option<String> {
    (handle.runtime_flavor() != RuntimeFlavor::MultiThread)
        .then(|| "an async stage needs a multi-threaded tokio runtime".to_owned())
}
