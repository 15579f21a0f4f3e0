//! Where an async stage may run: never fused with another stage, on the engine's runtime or
//! on a multi-threaded one the embedder hands in.

mod support;

use std::sync::{Arc, Mutex};

use sedaflow::{handler_fn, AsyncHandler, Batch, BuildError, Context, Pipeline};

/// Notes the name of the thread each call runs on.
struct WhereAmI(Arc<Mutex<Vec<String>>>);

impl AsyncHandler for WhereAmI {
    type In = u32;
    async fn handle(&self, _n: u32, _ctx: &mut Context<'_>) {
        tokio::task::yield_now().await;
        let name = std::thread::current().name().unwrap_or("?").to_owned();
        self.0.lock().unwrap().push(name);
    }
}

#[test]
fn calls_run_on_a_handed_in_runtime_which_must_be_multi_threaded() {
    let mine = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("embedder")
        .enable_all()
        .build()
        .unwrap();
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let s = seen.clone();
    let mut p = Pipeline::builder();
    p.async_stage("where", move || WhereAmI(s.clone()))
        .runtime(mine.handle().clone());
    let pipeline = p.build().unwrap();
    let input = pipeline.publisher::<u32>().unwrap();
    pipeline.start();
    input.try_publish_batch(&mut (0..50).collect()).unwrap();
    support::assert_clean(pipeline.shutdown(support::DRAIN));
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 50);
    assert!(seen.iter().all(|n| n == "embedder"), "{seen:?}");

    let single = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut p = Pipeline::builder();
    p.async_stage("where", || WhereAmI(Arc::default()))
        .runtime(single.handle().clone());
    assert!(
        matches!(p.build(), Err(BuildError::Config { message, .. }) if message.contains("multi-threaded"))
    );
}

#[test]
fn an_async_stage_cannot_be_fused() {
    let mut p = Pipeline::builder();
    p.async_stage("enrich", || WhereAmI(Arc::default()));
    p.stage("sink", || {
        handler_fn(|b: &mut Batch<'_, u64>, _| b.for_each(drop))
    });
    p.fuse(["enrich", "sink"]);
    assert!(matches!(p.build(), Err(BuildError::Placement(m)) if m.contains("enrich")));
}
