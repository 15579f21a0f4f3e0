//! Each batch a stage runs is a `trace` span named `batch`, with the stage, lane and event
//! count: an operator can follow work through the stages without a span per event.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sedaflow::{handler_fn, Batch, Pipeline};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::Subscriber;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

/// The `batch` spans opened: (stage, events).
#[derive(Clone, Default)]
struct Batches(Arc<Mutex<Vec<(String, u64)>>>);

#[derive(Default)]
struct Fields {
    stage: String,
    events: u64,
}

impl Visit for Fields {
    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "events" {
            self.events = value;
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "stage" {
            self.stage = format!("{value:?}");
        }
    }
}

impl<S: Subscriber> Layer<S> for Batches {
    fn on_new_span(&self, attrs: &Attributes<'_>, _id: &Id, _ctx: Context<'_, S>) {
        if attrs.metadata().name() == "batch" {
            let mut fields = Fields::default();
            attrs.record(&mut fields);
            self.0.lock().unwrap().push((fields.stage, fields.events));
        }
    }
}

#[test]
fn every_batch_is_a_span_with_its_stage_and_event_count() {
    let batches = Batches::default();
    // Global: the stages run on the pool's threads.
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(batches.clone()))
        .expect("the only subscriber of this test binary");
    let mut p = Pipeline::builder();
    p.stage("double", || {
        handler_fn(|batch: &mut Batch<'_, u64>, ctx| {
            for x in batch {
                ctx.emit(x as u32 * 2);
            }
        })
    });
    p.stage("sink", || {
        handler_fn(|batch: &mut Batch<'_, u32>, _ctx| batch.for_each(drop))
    });
    let pipeline = p.build().unwrap();
    let input = pipeline.publisher::<u64>().unwrap();
    // Queued before the stages start, so batches hold many events each.
    let mut events: Vec<u64> = (0..500).collect();
    input.blocking_publish_batch(&mut events).unwrap();
    pipeline.start();
    let report = pipeline.shutdown(Duration::from_secs(10));
    assert!(report.is_balanced(), "{report}");
    let seen = batches.0.lock().unwrap().clone();
    for stage in ["double", "sink"] {
        let events: u64 = seen
            .iter()
            .filter(|(s, _)| s == stage)
            .map(|(_, n)| n)
            .sum();
        assert_eq!(
            events, 500,
            "{stage}: the batch spans' event counts add up to every event"
        );
        let spans = seen.iter().filter(|(s, _)| s == stage).count() as u64;
        assert!(
            (1..500).contains(&spans),
            "{stage}: one span per batch, not per event ({spans} spans)"
        );
    }
}
