//! External stages: a queue and threads outside the engine, shown like the engine's stages in
//! the pipeline order, every `sedaflow_stage_*` series, the report and the lookups.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use sedaflow::{
    handler_fn, install_prometheus, Batch, BuildError, ExternalGauges, ExternalQueue,
    ExternalStage, MetricsExporter, Pipeline, PipelineBuilder, StageId, WhenFull,
};
use support::value;

fn exporter() -> &'static MetricsExporter {
    static EXPORTER: OnceLock<MetricsExporter> = OnceLock::new();
    EXPORTER.get_or_init(|| install_prometheus("127.0.0.1:0".parse().unwrap()).unwrap())
}

/// An owner's queue whose depth the test sets; the other gauges are fixed.
#[derive(Default)]
struct Owned {
    depth: AtomicUsize,
}

impl ExternalQueue for Owned {
    fn gauges(&self) -> ExternalGauges {
        ExternalGauges {
            depth: self.depth.load(Relaxed),
            capacity: 512,
            oldest_age: Duration::from_millis(250),
            threads: 3,
            threads_min: 1,
            threads_max: 8,
            utilization: 0.5,
        }
    }
}

fn sink() -> impl sedaflow::Handler<In = u32> {
    handler_fn(|b: &mut Batch<'_, u32>, _ctx| b.for_each(drop))
}

/// `net_read` (external) → `decode` (engine) → `net_write` (external), named `name`.
struct Net {
    builder: PipelineBuilder,
    read: ExternalStage,
    write: ExternalStage,
    read_queue: Arc<Owned>,
    decode: StageId,
}

fn net(name: &str) -> Net {
    let read_queue = Arc::new(Owned::default());
    let mut p = Pipeline::builder();
    p.name(name);
    let read = p
        .external_stage("net_read", read_queue.clone())
        .when_full(WhenFull::Reject)
        .handle();
    let decode = p.stage("decode", sink).id();
    let write = p
        .external_stage("net_write", Arc::new(ExternalGauges::default))
        .handle();
    Net {
        builder: p,
        read,
        write,
        read_queue,
        decode,
    }
}

#[test]
fn every_stage_series_is_rendered_with_the_owners_counts_and_gauges() {
    let exporter = exporter();
    let net = net("ext");
    let pipeline = net.builder.build().unwrap();
    let l = |stage: &str| format!("{{pipeline=\"ext\",stage=\"{stage}\"}}");
    let text = exporter.render();
    assert!(text.contains(
        "sedaflow_stage_info{pipeline=\"ext\",stage=\"net_read\",position=\"0\",domain=\"net_read\",role=\"entry\",keyed=\"false\",when_full=\"reject\"} 1"
    ), "{text}");
    assert!(text.contains(
        "sedaflow_stage_info{pipeline=\"ext\",stage=\"decode\",position=\"1\",domain=\"decode\",role=\"entry\""
    ));
    assert!(text.contains(
        "sedaflow_stage_info{pipeline=\"ext\",stage=\"net_write\",position=\"2\",domain=\"net_write\",role=\"entry\",keyed=\"false\",when_full=\"block\"} 1"
    ));
    assert_eq!(
        value(
            &text,
            &format!("sedaflow_stage_events_enqueued_total{}", l("net_read"))
        ),
        0.0
    );

    net.read.enqueued(40);
    net.read.processed(30);
    net.read.failed(2);
    net.read.dropped(1);
    net.read.dropped_newest(4);
    net.read.rejected(5);
    net.write.enqueued(7);
    // A probe's reading of the owner's depth counts towards the peak since the last scrape.
    net.read_queue.depth.store(9, Relaxed);
    assert_eq!(
        pipeline.queue_probe(&net.read.id()).map(|q| q.len()),
        Some(9)
    );
    net.read_queue.depth.store(7, Relaxed);
    let text = exporter.render();
    let read = l("net_read");
    let counts = [
        ("sedaflow_stage_events_enqueued_total", &read, 40.0),
        ("sedaflow_stage_events_processed_total", &read, 30.0),
        ("sedaflow_stage_events_failed_total", &read, 2.0),
        ("sedaflow_stage_events_rejected_total", &read, 5.0),
        ("sedaflow_stage_events_panicked_total", &read, 0.0),
        ("sedaflow_stage_queue_depth", &read, 7.0),
        ("sedaflow_stage_queue_depth_peak", &read, 9.0),
        ("sedaflow_stage_queue_capacity", &read, 512.0),
        ("sedaflow_stage_queue_oldest_age_seconds", &read, 0.25),
        ("sedaflow_stage_threads", &read, 3.0),
        ("sedaflow_stage_threads_min", &read, 1.0),
        ("sedaflow_stage_threads_max", &read, 8.0),
        ("sedaflow_stage_batch_limit", &read, 0.0),
        ("sedaflow_stage_utilization_ratio", &read, 0.5),
        ("sedaflow_stage_service_seconds_count", &read, 0.0),
        ("sedaflow_stage_queue_wait_seconds_count", &read, 0.0),
        ("sedaflow_stage_blocked_seconds_count", &read, 0.0),
        ("sedaflow_stage_batch_size_count", &read, 0.0),
    ];
    for (name, labels, expected) in counts {
        assert_eq!(value(&text, &format!("{name}{labels}")), expected, "{name}");
    }
    let dropped = |reason: &str| {
        let series = format!(
            "sedaflow_stage_events_dropped_total{{pipeline=\"ext\",stage=\"net_read\",reason=\"{reason}\"}}"
        );
        value(&text, &series)
    };
    assert_eq!((dropped("oldest"), dropped("newest")), (1.0, 4.0));
    let write = l("net_write");
    assert_eq!(
        value(
            &text,
            &format!("sedaflow_stage_events_enqueued_total{write}")
        ),
        7.0
    );
    assert_eq!(
        value(&text, &format!("sedaflow_stage_queue_depth{write}")),
        0.0
    );
    // The scrape started the next peak window at the depth it saw.
    let next = exporter.render();
    assert_eq!(
        value(&next, &format!("sedaflow_stage_queue_depth_peak{read}")),
        7.0
    );
    drop(pipeline);
    assert!(!exporter.render().contains("pipeline=\"ext\""));
}

#[test]
fn external_stages_take_their_declared_positions_in_lookups_and_reports() {
    let net = net("ext_order");
    let pipeline = net.builder.build().unwrap();
    assert_eq!(pipeline.stage_id("net_read"), Some(net.read.id()));
    assert_eq!(pipeline.stage_id("decode"), Some(net.decode.clone()));
    assert_eq!(pipeline.stage_id("net_write"), Some(net.write.id()));
    let probe = pipeline.queue_probe("net_write").unwrap();
    assert_eq!((probe.len(), probe.capacity()), (0, 0));
    assert_eq!(pipeline.lanes(&net.read.id()), None, "no engine lanes");
    assert_eq!(pipeline.concurrency("net_read"), None);

    let input = pipeline.publisher::<u32>().unwrap();
    pipeline.start();
    net.read.enqueued(3);
    input.blocking_publish_batch(&mut vec![1, 2, 3]).unwrap();
    net.read.processed(3);
    let report = support::assert_clean(pipeline.shutdown(support::DRAIN));
    let names: Vec<(&str, &str)> = report
        .stages
        .iter()
        .map(|s| (s.name.as_str(), s.domain.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("net_read", "net_read"),
            ("decode", "decode"),
            ("net_write", "net_write")
        ]
    );
    let read = report.stage(&net.read.id()).unwrap();
    assert_eq!(
        (read.offered, read.processed, read.threads, read.batch_limit),
        (3, 3, 3, 0)
    );
    assert_eq!(report.stage(&net.decode).unwrap().processed, 3);
}

#[test]
fn work_still_at_the_owner_is_queued_and_unaccounted_work_unbalances_the_report() {
    let net = net("ext_balance");
    let pipeline = net.builder.build().unwrap();
    net.read.enqueued(10);
    net.read.processed(6);
    net.read.failed(1);
    net.read_queue.depth.store(3, Relaxed);
    let report = pipeline.report();
    let read = report.stage("net_read").unwrap();
    assert_eq!((read.queued, read.peak_depth), (3, 3));
    assert!(read.is_balanced() && report.is_balanced(), "{read:?}");

    // One event taken in, neither handed on nor waiting: the books show it.
    net.read_queue.depth.store(2, Relaxed);
    let report = pipeline.report();
    let read = report.stage("net_read").unwrap();
    assert_eq!((read.queued, read.peak_depth), (2, 3));
    assert!(!read.is_balanced() && !report.is_balanced());
}

#[test]
fn shutdown_does_not_wait_for_an_external_stage() {
    let net = net("ext_shutdown");
    let pipeline = net.builder.build().unwrap();
    pipeline.start();
    net.read.enqueued(5);
    net.read_queue.depth.store(5, Relaxed);
    assert!(pipeline.wait_idle(support::DRAIN));
    let report = pipeline.shutdown(support::DRAIN);
    assert!(report.drained);
    assert_eq!(report.stage("net_read").unwrap().queued, 5);
    // The handle outlives the pipeline.
    net.read.processed(5);
}

#[test]
fn an_external_stage_cannot_be_fused() {
    for group in [
        vec!["net_read", "decode"],
        vec!["decode", "net_write"],
        vec!["net_read"],
    ] {
        let mut net = net("ext_fuse");
        net.builder.fuse(group.clone());
        let refused = net.builder.build().unwrap_err();
        let BuildError::Placement(message) = refused else {
            panic!("{group:?}: {refused:?}");
        };
        assert!(message.contains("external stage"), "{message}");
    }
}

#[test]
fn an_external_stage_name_is_unique_among_all_stages() {
    let mut p = Pipeline::builder();
    p.external_stage("net", Arc::new(ExternalGauges::default));
    p.stage("net", sink);
    assert_eq!(
        p.build().unwrap_err(),
        BuildError::DuplicateStage("net".into())
    );
    let mut p = Pipeline::builder();
    p.external_stage("net", Arc::new(ExternalGauges::default));
    p.external_stage("net", Arc::new(ExternalGauges::default));
    assert_eq!(
        p.build().unwrap_err(),
        BuildError::DuplicateStage("net".into())
    );
}

#[test]
fn the_bus_does_not_route_to_an_external_stage() {
    let mut p = Pipeline::builder();
    p.external_stage("net", Arc::new(ExternalGauges::default));
    let pipeline = p.build().unwrap();
    assert!(pipeline.publisher::<u32>().is_err());
    assert!(pipeline.report().is_balanced());
}

#[test]
fn handles_are_send_sync_and_clones_share_counts() {
    fn send_sync<T: Send + Sync + Clone>() {}
    send_sync::<ExternalStage>();
    let net = net("ext_clone");
    let pipeline = net.builder.build().unwrap();
    let clone = net.read.clone();
    clone.enqueued(2);
    net.read.enqueued(1);
    assert_eq!(pipeline.report().stage("net_read").unwrap().enqueued, 3);
}
