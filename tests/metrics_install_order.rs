//! A pipeline built before the exporter is installed is exported like one built after: in a
//! test binary of its own, so that nothing installs the recorder earlier.

mod support;

use sedaflow::{handler_fn, install_prometheus, Batch, Pipeline};

fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

#[test]
fn counters_and_gauges_of_a_pipeline_built_before_install_are_exported() {
    let mut p = Pipeline::builder();
    p.name("early");
    p.stage("sink", || {
        handler_fn(|b: &mut Batch<'_, u32>, _ctx| b.for_each(drop))
    })
    .capacity(16)
    .fixed_threads(2);
    let pipeline = p.build().unwrap();
    let input = pipeline.publisher::<u32>().unwrap();
    pipeline.start();
    input.try_publish_batch(&mut (0..5).collect()).unwrap();
    assert!(pipeline.wait_idle(support::DRAIN));

    let exporter = install_prometheus("127.0.0.1:0".parse().unwrap()).unwrap();
    let text = exporter.render();
    let series = |name: &str| format!("{name}{{pipeline=\"early\",stage=\"sink\"}}");
    let read = |name: &str| value(&text, &series(name));
    assert_eq!(
        read("sedaflow_stage_events_enqueued_total"),
        Some(5.0),
        "{text}"
    );
    assert_eq!(read("sedaflow_stage_events_processed_total"), Some(5.0));
    assert_eq!(read("sedaflow_stage_queue_capacity"), Some(16.0));
    assert_eq!(read("sedaflow_stage_threads"), Some(2.0));
    assert_eq!(read("sedaflow_stage_queue_depth"), Some(0.0));
    assert_eq!(
        read("sedaflow_stage_service_seconds_count"),
        read("sedaflow_stage_batch_size_count")
    );

    support::assert_clean(pipeline.shutdown(support::DRAIN));
    let text = exporter.render();
    assert!(!text.contains("pipeline=\"early\""), "{text}");
}
