//! `PoolConfig::linger`: a worker that ran out of work sleeps before it parks, so an event
//! published meanwhile waits for the linger to end (no wake-up), and is then handled.

use std::thread;
use std::time::{Duration, Instant};

use sedaflow::{handler_fn, Batch, Pipeline, PoolConfig, StageConfig};

const LINGER: Duration = Duration::from_millis(400);

fn processed(p: &Pipeline) -> u64 {
    p.report().stage("sink").map_or(0, |s| s.processed)
}

/// Waits (bounded, a hang guard) until the sink has processed `n` events.
fn wait_processed(p: &Pipeline, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while processed(p) < n {
        assert!(Instant::now() < deadline, "waited 10 s for {n} processed");
        thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn a_lingering_worker_takes_what_came_meanwhile_when_the_linger_ends() {
    let mut b = Pipeline::builder();
    let config = StageConfig {
        pool: PoolConfig {
            linger: LINGER,
            ..PoolConfig::fixed(std::num::NonZeroUsize::MIN)
        },
        ..StageConfig::default()
    };
    b.stage("sink", || {
        handler_fn(|batch: &mut Batch<'_, u32>, _ctx| batch.for_each(drop))
    })
    .config(config);
    let pipeline = b.build().unwrap();
    let input = pipeline.publisher::<u32>().unwrap();
    pipeline.start();

    input.blocking_publish(1).unwrap();
    wait_processed(&pipeline, 1);
    // The worker is lingering now (it went to sleep right after the first event).
    thread::sleep(Duration::from_millis(50));
    let published = Instant::now();
    input.blocking_publish(2).unwrap();
    thread::sleep(Duration::from_millis(100));
    if published.elapsed() < LINGER - Duration::from_millis(50) {
        assert_eq!(
            processed(&pipeline),
            1,
            "no wake-up while the worker lingers"
        );
    }
    wait_processed(&pipeline, 2);
    let report = pipeline.shutdown(Duration::from_secs(5));
    assert!(report.is_balanced());
}
