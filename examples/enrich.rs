//! An async stage in a pipeline: orders are enriched with a price from a slow service (an
//! HTTP call or a database query in real life; here `tokio::time::sleep`), then a sync,
//! keyed stage adds up each account's exposure.
//!
//! Run: `cargo run --release --example enrich [orders]` (default 20 000). While it publishes
//! it prints the stage's calls in flight and the limit its controller chose; at the end, the
//! per-stage report. The service takes 10 ms a call and serves up to 200 calls at once,
//! past which it queues them (each call slows down in proportion): the limit grows to about
//! there and stays, so the service is never flooded.

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sedaflow::{AsyncHandler, Batch, Context, Handler, Pipeline, WhenFull};

#[derive(Debug)]
struct Order {
    id: u64,
    account: u32,
    qty: u32,
}

#[derive(Debug)]
struct Priced {
    account: u32,
    notional: f64,
}

/// The slow price service: 10 ms a call up to `capacity` calls at once, slower past that.
struct PriceService {
    running: AtomicUsize,
    capacity: usize,
}

impl PriceService {
    async fn price(&self, id: u64) -> f64 {
        let now = self.running.fetch_add(1, Relaxed) + 1;
        let queueing = (now as f64 / self.capacity as f64).max(1.0);
        tokio::time::sleep(Duration::from_millis(10).mul_f64(queueing)).await;
        self.running.fetch_sub(1, Relaxed);
        100.0 + (id % 50) as f64
    }
}

/// Stage 1 (async): asks the service for each order's price.
struct Enrich {
    service: Arc<PriceService>,
}

impl AsyncHandler for Enrich {
    type In = Order;
    async fn handle(&self, order: Order, ctx: &mut Context<'_>) {
        let price = self.service.price(order.id).await;
        ctx.emit(Priced {
            account: order.account,
            notional: price * f64::from(order.qty),
        });
    }
}

/// Stage 2 (sync, keyed by account): each account's exposure.
#[derive(Default)]
struct Exposure {
    by_account: std::collections::HashMap<u32, f64>,
}

impl Handler for Exposure {
    type In = Priced;
    fn handle(&mut self, batch: &mut Batch<'_, Priced>, _ctx: &mut Context<'_>) {
        for p in batch {
            *self.by_account.entry(p.account).or_default() += p.notional;
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let orders: u64 = std::env::args()
        .nth(1)
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(20_000);
    let service = Arc::new(PriceService {
        running: AtomicUsize::new(0),
        capacity: 200,
    });

    let mut p = Pipeline::builder();
    p.async_stage("enrich", move || Enrich {
        service: service.clone(),
    })
    .capacity(8192)
    .when_full(WhenFull::Block)
    .concurrency(1, 1000);
    p.stage("exposure", Exposure::default)
        .keyed_by(|p: &Priced| p.account)
        .threads(1, 2);
    let pipeline = p.build()?;
    let input = pipeline.publisher::<Order>()?;
    pipeline.start();

    let started = Instant::now();
    for id in 0..orders {
        let order = Order {
            id,
            account: (id % 100) as u32,
            qty: 1 + (id % 10) as u32,
        };
        // A full queue blocks here, so the loop goes at the stage's pace.
        input.blocking_publish(order)?;
        if id % 2_000 == 0 {
            if let Some(c) = pipeline.concurrency("enrich") {
                println!(
                    "{id:>7} published: {:>4} calls in flight, limit {:>4}",
                    c.in_flight, c.limit
                );
            }
        }
    }
    let peak = pipeline.concurrency("enrich").map_or(0, |c| c.peak_limit);
    let report = pipeline.shutdown(Duration::from_secs(10));
    let secs = started.elapsed().as_secs_f64();
    println!("{report}");
    println!(
        "{orders} orders in {secs:.2} s ({:.0} orders/s; one call at a time would take {:.0} s); \
         peak limit {peak}; balanced: {}",
        orders as f64 / secs,
        orders as f64 * 0.010,
        report.is_balanced()
    );
    Ok(())
}
