//! Codec throughput: framing plus decoding of order lines (v1 limits, and a v2 mix of limits
//! with `stp`, amends and cancels), reading a new order's id alone (what refusing one costs),
//! and encoding of fill lines.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sedaflow_stages::codec::{decode_request, encode_line, new_order_id, LineFramer, Response};
use sedaflow_stages::matching::{Price, ReportKind, Side, Symbol};

const LINES: usize = 1_000;

fn bench_decode(c: &mut Criterion) {
    let mut input = Vec::new();
    for id in 1..=LINES {
        let line = format!(
            "{{\"op\":\"limit\",\"id\":{id},\"symbol\":\"ACME\",\"side\":\"buy\",\"price\":\"10.05\",\"qty\":100}}\n"
        );
        input.extend_from_slice(line.as_bytes());
    }
    let mut mix = Vec::new();
    for id in 1..=LINES {
        let line = match id % 3 {
            0 => format!(
                "{{\"op\":\"limit\",\"id\":{id},\"symbol\":\"ACME\",\"side\":\"sell\",\"price\":\"10.05\",\"qty\":100,\"stp\":\"cancel_maker\"}}\n"
            ),
            1 => format!(
                "{{\"op\":\"amend\",\"id\":{id},\"symbol\":\"ACME\",\"qty\":40,\"price\":\"10.1\"}}\n"
            ),
            _ => format!("{{\"op\":\"cancel\",\"id\":{id},\"symbol\":\"ACME\"}}\n"),
        };
        mix.extend_from_slice(line.as_bytes());
    }
    let mut group = c.benchmark_group("codec");
    group.throughput(Throughput::Elements(LINES as u64));
    for (name, input) in [
        ("frame_and_decode_limit", &input),
        ("frame_and_decode_v2_mix", &mix),
    ] {
        group.bench_function(name, |b| {
            let mut framer = LineFramer::new();
            b.iter(|| {
                let mut decoded = 0;
                // Socket-sized reads.
                for chunk in input.chunks(16 * 1024) {
                    framer.push(chunk);
                    while let Some(frame) = framer.next_frame() {
                        if let Ok(frame) = frame {
                            decoded += usize::from(decode_request(frame).is_ok());
                        }
                    }
                }
                assert_eq!(decoded, LINES, "every line decodes");
                black_box(decoded)
            })
        });
    }
    // What shedding at the read pays per refused frame to find a new order's id.
    group.bench_function("new_order_id_limit", |b| {
        let frames: Vec<&[u8]> = input
            .split(|&b| b == b'\n')
            .filter(|f| !f.is_empty())
            .collect();
        b.iter(|| {
            let found = frames.iter().filter(|f| new_order_id(f).is_some()).count();
            assert_eq!(found, LINES, "every line is a new order");
            black_box(found)
        })
    });
    let fill = Response::Report(ReportKind::Fill {
        id: 123_456,
        symbol: Symbol::new("ACME").expect("valid symbol"),
        side: Side::Buy,
        price: Price::parse("10.05").expect("valid price"),
        qty: 40,
        leaves: 60,
        match_id: 987_654,
    });
    group.bench_function("encode_fill", |b| {
        let mut out = Vec::with_capacity(LINES * 128);
        b.iter(|| {
            out.clear();
            for _ in 0..LINES {
                encode_line(black_box(&fill), &mut out);
            }
            black_box(out.len())
        })
    });
    group.finish();
}

criterion_group!(benches, bench_decode);
criterion_main!(benches);
