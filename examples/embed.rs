//! Embedding sedaflow: a 3-stage pipeline with metrics on `/metrics`, a clean shutdown and the
//! per-stage report; bad lines are failed with an error, not panicked on.
//!
//! Run: `cargo run --release --example embed [127.0.0.1:9100]` (then, while it runs,
//! `curl -s 127.0.0.1:9100/metrics | grep sedaflow_stage_events_processed_total`).

use std::time::{Duration, Instant};

use sedaflow::{install_prometheus, Batch, Context, Handler, Pipeline, WhenFull};

/// Stage 1: parse "sensor,value" lines; bad lines fail with a typed error, not a panic.
struct Parse;

#[derive(Debug, Clone)]
struct Reading {
    sensor: u32,
    value: f64,
}

#[derive(Debug, thiserror::Error)]
#[error("not a `sensor,value` line")]
struct BadLine;

impl Handler for Parse {
    type In = String;
    fn handle(&mut self, batch: &mut Batch<'_, String>, ctx: &mut Context<'_>) {
        for line in batch {
            let parsed = line.split_once(',').and_then(|(s, v)| {
                Some(Reading {
                    sensor: s.trim().parse().ok()?,
                    value: v.trim().parse().ok()?,
                })
            });
            match parsed {
                Some(r) => ctx.emit(r),
                // Counted as the stage's `failed`, dead-lettered with the error.
                None => ctx.fail(line, BadLine),
            }
        }
    }
}

/// Stage 2: a running mean per sensor. Keyed by sensor, so each sensor's state lives in one
/// handler instance and its readings arrive in order, while sensors spread over threads.
#[derive(Default)]
struct Smooth {
    mean: std::collections::HashMap<u32, f64>,
}

impl Handler for Smooth {
    type In = Reading;
    fn handle(&mut self, batch: &mut Batch<'_, Reading>, ctx: &mut Context<'_>) {
        for r in batch {
            let m = self.mean.entry(r.sensor).or_insert(r.value);
            *m = 0.9 * *m + 0.1 * r.value;
            ctx.emit((r.sensor, *m));
        }
    }
}

/// Stage 3: keep the latest smoothed value per sensor.
#[derive(Default)]
struct Store {
    last: std::collections::HashMap<u32, f64>,
}

impl Handler for Store {
    type In = (u32, f64);
    fn handle(&mut self, batch: &mut Batch<'_, (u32, f64)>, _ctx: &mut Context<'_>) {
        for (sensor, mean) in batch {
            self.last.insert(sensor, mean);
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".to_owned());
    let exporter = install_prometheus(addr.parse()?)?;
    println!("metrics on http://{}/metrics", exporter.local_addr());

    let mut p = Pipeline::builder();
    p.name("sensors");
    let parse = p
        .stage("parse", || Parse)
        .capacity(8192)
        .when_full(WhenFull::Block)
        .threads(1, 2)
        .id();
    p.stage("smooth", Smooth::default)
        .keyed_by(|r: &Reading| r.sensor)
        .threads(1, 2);
    p.stage("store", Store::default).threads(1, 1);
    let pipeline = p.build()?;
    let lines = pipeline.publisher::<String>()?;
    pipeline.start();

    let started = Instant::now();
    let mut batch = Vec::with_capacity(256);
    for i in 0..2_000_000u64 {
        let line = if i % 100_000 == 0 {
            "garbage".to_owned()
        } else {
            format!("{},{}", i % 64, (i % 1000) as f64 / 10.0)
        };
        batch.push(line);
        if batch.len() == 256 {
            lines.blocking_publish_batch(&mut batch)?;
        }
    }
    lines.blocking_publish_batch(&mut batch)?;
    let report = pipeline.shutdown(Duration::from_secs(10));
    let secs = started.elapsed().as_secs_f64();
    println!("{report}");
    let failed = report.stage(&parse).map_or(0, |s| s.failed);
    println!("{failed} bad lines");
    println!(
        "{} lines in {secs:.2} s ({:.2} M lines/s); drained: {}; balanced: {}",
        2_000_000,
        2.0 / secs,
        report.drained,
        report.is_balanced()
    );
    Ok(())
}
