//! Exporter-level checks, in their own test binary because the recorder is process-wide: the
//! tests share one exporter and name their pipelines apart.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::OnceLock;
use std::time::Duration;

use sedaflow::{handler_fn, install_prometheus, Batch, MetricsExporter, Pipeline};
use support::value;

fn exporter() -> &'static MetricsExporter {
    static EXPORTER: OnceLock<MetricsExporter> = OnceLock::new();
    EXPORTER.get_or_init(|| install_prometheus("127.0.0.1:0".parse().unwrap()).unwrap())
}

fn scrape(addr: std::net::SocketAddr) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    out
}

#[test]
fn every_stage_series_exists_from_build_and_counts_per_pipeline() {
    let exporter = exporter();
    let (open, wait) = support::gate();
    let mut p = Pipeline::builder();
    p.name("m");
    p.stage("m_parse", || {
        handler_fn(|b: &mut Batch<'_, u32>, ctx| b.for_each(|x| ctx.emit(u64::from(x))))
    })
    .capacity(4)
    .fixed_threads(1)
    .batch(1, 1);
    p.stage("m_sink", move || {
        let wait = wait.clone();
        handler_fn(move |b: &mut Batch<'_, u64>, _| {
            let _ = wait.recv();
            b.for_each(drop)
        })
    })
    .capacity(2)
    .fixed_threads(1)
    .batch(1, 1);
    let pipeline = p.build().unwrap();

    // Quiet stages already export every series, at zero.
    let text = scrape(exporter.local_addr());
    for series in [
        "sedaflow_stage_events_enqueued_total{pipeline=\"m\",stage=\"m_parse\"}",
        "sedaflow_stage_events_processed_total{pipeline=\"m\",stage=\"m_sink\"}",
        "sedaflow_stage_events_rejected_total{pipeline=\"m\",stage=\"m_parse\"}",
        "sedaflow_stage_events_dropped_total{pipeline=\"m\",stage=\"m_parse\",reason=\"oldest\"}",
        "sedaflow_stage_events_panicked_total{pipeline=\"m\",stage=\"m_sink\"}",
        "sedaflow_stage_events_failed_total{pipeline=\"m\",stage=\"m_parse\"}",
        "sedaflow_stage_queue_depth{pipeline=\"m\",stage=\"m_parse\"}",
        "sedaflow_stage_queue_depth_peak{pipeline=\"m\",stage=\"m_sink\"}",
    ] {
        assert_eq!(value(&text, series), 0.0, "{series}");
    }
    assert_eq!(
        value(
            &text,
            "sedaflow_stage_queue_capacity{pipeline=\"m\",stage=\"m_parse\"}"
        ),
        4.0
    );
    assert!(text.contains(
        "sedaflow_stage_info{pipeline=\"m\",stage=\"m_sink\",position=\"1\",domain=\"m_sink\",role=\"entry\""
    ));

    let input = pipeline.publisher::<u32>().unwrap();
    pipeline.start();
    let producer = std::thread::spawn(move || {
        for i in 0..20 {
            input.blocking_publish(i).unwrap();
        }
    });
    // Sink holds 1 + queues 2, parse holds 1 + queues 4: the 9th offer blocks the producer.
    while pipeline.report().stage("m_parse").unwrap().offered < 9 {
        std::thread::sleep(Duration::from_millis(1));
    }
    let during = scrape(exporter.local_addr());
    assert!(
        value(
            &during,
            "sedaflow_stage_queue_depth_peak{pipeline=\"m\",stage=\"m_sink\"}"
        ) >= 1.0
    );
    for _ in 0..20 {
        open.send(()).unwrap();
    }
    producer.join().unwrap();
    assert!(pipeline.wait_idle(support::DRAIN));
    let text = scrape(exporter.local_addr());
    assert_eq!(
        value(
            &text,
            "sedaflow_stage_events_processed_total{pipeline=\"m\",stage=\"m_sink\"}"
        ),
        20.0
    );
    assert_eq!(pipeline.report().stage("m_sink").unwrap().processed, 20);
    // Blocked producers show as seconds, as a real histogram with buckets.
    assert!(
        value(
            &text,
            "sedaflow_stage_blocked_seconds_sum{pipeline=\"m\",stage=\"m_parse\"}"
        ) > 0.0
    );
    assert!(text.contains(
        "sedaflow_stage_service_seconds_bucket{pipeline=\"m\",stage=\"m_sink\",le=\"0.001\"}"
    ));
    assert!(text
        .contains("sedaflow_stage_batch_size_bucket{pipeline=\"m\",stage=\"m_parse\",le=\"1\"}"));
    support::assert_clean(pipeline.shutdown(support::DRAIN));
    // Shut down, the pipeline's series are gone.
    let text = scrape(exporter.local_addr());
    assert!(!text.contains("pipeline=\"m\""), "{text}");
}

/// A pipeline named `name` whose one stage, `same`, fails 0 and emits the other numbers as
/// `u64`s nobody takes.
fn named(name: &str) -> Pipeline {
    let mut p = Pipeline::builder();
    p.name(name);
    p.stage("same", || {
        handler_fn(|b: &mut Batch<'_, u32>, ctx| {
            b.for_each(|x| match x {
                0 => ctx.fail(x, "zero"),
                x => ctx.emit(u64::from(x)),
            })
        })
    });
    p.build().unwrap()
}

#[test]
fn pipelines_with_a_stage_of_the_same_name_keep_their_own_series_until_dropped() {
    let (left, right) = (named("left"), named("right"));
    for (pipeline, n) in [(&left, 2), (&right, 3)] {
        let input = pipeline.publisher::<u32>().unwrap();
        pipeline.start();
        input.try_publish_batch(&mut (0..n).collect()).unwrap();
        assert!(pipeline.wait_idle(support::DRAIN));
    }
    let text = exporter().render();
    for (name, n) in [("left", 1.0), ("right", 2.0)] {
        let stage = format!("{{pipeline=\"{name}\",stage=\"same\"}}");
        let processed = format!("sedaflow_stage_events_processed_total{stage}");
        assert_eq!(value(&text, &processed), n, "{name}");
        let failed = format!("sedaflow_stage_events_failed_total{stage}");
        assert_eq!(value(&text, &failed), 1.0, "{name}");
        let dead = |event_type: &str, reason: &str| {
            format!(
                "sedaflow_bus_dead_letters_total{{pipeline=\"{name}\",event_type=\"{event_type}\",reason=\"{reason}\"}}"
            )
        };
        assert_eq!(value(&text, &dead("u64", "no_subscriber")), n, "{name}");
        assert_eq!(value(&text, &dead("u32", "failed")), 1.0, "{name}");
        assert_eq!(
            value(
                &text,
                &format!("sedaflow_stage_service_seconds_count{stage}")
            ),
            value(&text, &format!("sedaflow_stage_batch_size_count{stage}")),
            "{name}: one service sample per batch taken"
        );
    }
    // One family each, however many pipelines: the text format wants them together.
    assert_eq!(
        text.matches("# TYPE sedaflow_stage_events_processed_total counter")
            .count(),
        1
    );
    // Dropped without shutdown, a pipeline leaves too; the other stays.
    drop(left);
    let text = exporter().render();
    assert!(!text.contains("pipeline=\"left\""), "{text}");
    let processed = "sedaflow_stage_events_processed_total{pipeline=\"right\",stage=\"same\"}";
    assert_eq!(value(&text, processed), 2.0);
    support::assert_clean(right.shutdown(support::DRAIN));
    assert!(!exporter().render().contains("pipeline=\"right\""));
}

/// An async stage that answers at once.
struct Echo;

impl sedaflow::AsyncHandler for Echo {
    type In = u32;
    async fn handle(&self, _n: u32, _ctx: &mut sedaflow::Context<'_>) {}
}

#[test]
fn an_async_stage_exports_its_in_flight_calls_and_limit() {
    let exporter = exporter();
    let mut p = Pipeline::builder();
    p.name("am");
    p.async_stage("am_call", || Echo).concurrency(3, 40);
    let pipeline = p.build().unwrap();
    let text = scrape(exporter.local_addr());
    let l = r#"{pipeline="am",stage="am_call"}"#;
    assert_eq!(
        value(&text, &format!("sedaflow_stage_async_in_flight{l}")),
        0.0
    );
    assert_eq!(value(&text, &format!("sedaflow_stage_async_limit{l}")), 3.0);
    assert_eq!(
        value(&text, &format!("sedaflow_stage_async_limit_min{l}")),
        3.0
    );
    assert_eq!(
        value(&text, &format!("sedaflow_stage_async_limit_max{l}")),
        40.0
    );
    assert!(text.contains("# TYPE sedaflow_stage_async_limit gauge"));
    drop(pipeline);
}
