//! Adding your own stage to the order pipeline: a pre-trade risk check between decode and
//! matching, without touching sedaflow's code.
//!
//! Run: `cargo run --release --example risk_check`. It starts the server on free ports with
//! the check in place, sends a few orders as a client, and prints what came back.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

use sedaflow::{Batch, Context, Handler, StageConfig};
use sedaflow_stages::matching::{Request, Symbol};
use sedaflow_stages::{Order, Server, ServerConfig};

/// Refuses orders over a size limit, and orders that would take a symbol's gross notional
/// (sum of price × quantity of accepted limit orders) over a cap. Keyed by symbol: each
/// symbol's running total lives in one handler instance, touched by one thread at a time.
struct RiskCheck {
    max_qty: u64,
    max_notional: u64,
    notional: HashMap<Symbol, u64>,
}

impl Handler for RiskCheck {
    type In = Order;

    fn handle(&mut self, batch: &mut Batch<'_, Order>, ctx: &mut Context<'_>) {
        for order in batch {
            match *order.request() {
                Request::Limit {
                    symbol, price, qty, ..
                } => {
                    // Price is fixed point in 0.0001 units.
                    let value = price.ticks().saturating_mul(qty) / 10_000;
                    let total = self.notional.entry(symbol).or_default();
                    if qty > self.max_qty {
                        order.reject("risk: quantity over limit", ctx);
                    } else if total.saturating_add(value) > self.max_notional {
                        order.reject("risk: notional over limit", ctx);
                    } else {
                        *total += value;
                        ctx.emit(order);
                    }
                }
                Request::Market { qty, .. } if qty > self.max_qty => {
                    order.reject("risk: quantity over limit", ctx);
                }
                _ => ctx.emit(order),
            }
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut config = ServerConfig::default();
    for addr in [&mut config.tcp, &mut config.http, &mut config.metrics] {
        *addr = "127.0.0.1:0".parse()?;
    }
    let server = Server::builder(config)
        .before_matching(
            "risk",
            || RiskCheck {
                max_qty: 1_000,
                max_notional: 50_000,
                notional: HashMap::new(),
            },
            StageConfig::default(),
        )
        .start()?;

    let stream = TcpStream::connect(server.tcp_addr())?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut lines = BufReader::new(stream.try_clone()?).lines();
    let mut send = |line: &str| -> std::io::Result<String> {
        writeln!(&stream, "{line}")?;
        println!("→ {line}");
        let answer = lines.next().unwrap_or_else(|| Ok("(closed)".into()))?;
        println!("← {answer}");
        Ok(answer)
    };
    send(r#"{"op":"limit","id":1,"symbol":"ACME","side":"buy","price":"10","qty":500}"#)?;
    send(r#"{"op":"limit","id":2,"symbol":"ACME","side":"buy","price":"10","qty":5000}"#)?;
    send(r#"{"op":"limit","id":3,"symbol":"ACME","side":"buy","price":"100","qty":900}"#)?;
    send(r#"{"op":"cancel","id":1,"symbol":"ACME"}"#)?;

    let report = server.shutdown(Duration::from_secs(5));
    println!("\n{report}");
    Ok(())
}
