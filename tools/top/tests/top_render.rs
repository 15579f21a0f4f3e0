//! `sedaflow top` renders one frame from two captured `/metrics` texts a second apart: each
//! stage's row, the header and the account and market-data lines show the figures those
//! captures imply.

use std::time::Duration;

use ratatui::backend::TestBackend;
use ratatui::style::Color;
use ratatui::Terminal;
use sedaflow_top::render::{self, Screen, Status};
use sedaflow_top::{History, Scrape, SortKey, View};

const BEFORE: &str = include_str!("fixtures/top_before.prom");
const AFTER: &str = include_str!("fixtures/top_after.prom");

fn view() -> (View, History) {
    let before = Scrape::parse(BEFORE).expect("before parses");
    let after = Scrape::parse(AFTER).expect("after parses");
    let view = View::between(&before, &after, Duration::from_secs(1));
    let mut history = History::new(render::SPARK);
    history.record(&view);
    (view, history)
}

fn screen<'a>(view: &'a View, history: &'a History, status: &'a Status) -> Screen<'a> {
    Screen {
        view: Some(view),
        history,
        source: "http://127.0.0.1:9000/metrics",
        status,
        sort: SortKey::Pipeline,
        selected: 0,
    }
}

/// The whitespace-separated cells of the line showing `stage`.
fn row_cells(frame: &str, stage: &str) -> Vec<String> {
    let line = frame
        .lines()
        .find(|l| l.split_whitespace().any(|w| w == stage))
        .unwrap_or_else(|| panic!("no row for {stage} in\n{frame}"));
    line.split_whitespace().map(str::to_owned).collect()
}

#[test]
fn rows_and_header_show_the_captured_figures() {
    let (view, history) = view();
    let frame = render::frame_text(&screen(&view, &history, &Status::Live), 120, 12);

    // header: 50k requests and answers in one second, 120 refused, latency from bucket deltas
    assert!(
        frame.contains(
            "orders/s 50.0k  answered/s 50.0k  refused/s 120  latency p50 500µs  p99 1.00ms  connections 8"
        ),
        "{frame}"
    );
    assert!(frame.contains("live"), "{frame}");

    // columns: bottleneck, stage, queue bar, depth/capacity, sparkline, in/s, out/s, rej/s,
    // drop/s, backpressure, threads, batch, service p99, queue-wait p99, utilisation
    assert_eq!(
        row_cells(&frame, "decode"),
        [
            "decode",
            "▏░░░░░░░",
            "12/64k",
            "█",
            "50.0k",
            "50.0k",
            "0",
            "0",
            "0%",
            "1/2",
            "10.0",
            "2.5µs",
            "100µs",
            "30%"
        ],
        "{frame}"
    );
    assert_eq!(
        row_cells(&frame, "match"),
        [
            "▶",
            "match",
            "████▉░░░",
            "40k/64k",
            "█",
            "50.0k",
            "40.0k",
            "120",
            "0",
            "0%",
            "2/2",
            "25.0",
            "10µs",
            "1.00ms",
            "95%"
        ],
        "{frame}"
    );
    assert_eq!(
        row_cells(&frame, "encode"),
        [
            "encode",
            "░░░░░░░░",
            "0/64k",
            "▁",
            "90.0k",
            "90.0k",
            "0",
            "0",
            "10%",
            "2/2",
            "100.0",
            "1.0µs",
            "50µs",
            "40%"
        ],
        "{frame}"
    );

    // pipeline order comes from sedaflow_stage_info{position}, not from the exposition order
    let order: Vec<usize> = ["decode", "match", "encode"]
        .iter()
        .map(|s| frame.find(&format!(" {s} ")).expect("row present"))
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{frame}");

    // the selected stage's detail line
    assert!(
        frame.contains("decode: domain decode (entry), keyed, when_full block, peak 112"),
        "{frame}"
    );
}

#[test]
fn the_bottleneck_row_is_highlighted() {
    let (view, history) = view();
    let flagged: Vec<_> = view.rows.iter().filter(|r| r.bottleneck).collect();
    assert_eq!(flagged.len(), 1);
    assert_eq!(flagged[0].name, "match");

    let mut terminal = Terminal::new(TestBackend::new(120, 12)).expect("test backend");
    terminal
        .draw(|f| render::draw(f, &screen(&view, &history, &Status::Live)))
        .expect("draws");
    let buffer = terminal.backend().buffer();
    let text = render::buffer_text(buffer);
    let y = text
        .lines()
        .position(|l| l.contains(" match "))
        .expect("match row") as u16;
    let x = text
        .lines()
        .nth(y as usize)
        .and_then(|l| l.find("match"))
        .expect("name") as u16;
    // the name sits after the one-cell marker column; byte offsets equal cells up to it
    let x = x - ("▶".len() as u16 - 1);
    assert_eq!(buffer[(x, y)].fg, Color::Red);
    let other = text
        .lines()
        .position(|l| l.contains(" encode "))
        .expect("row") as u16;
    assert_ne!(buffer[(x, other)].fg, Color::Red);
}

#[test]
fn an_unreachable_server_keeps_the_last_view_under_a_warning() {
    let (view, history) = view();
    let status = Status::Unreachable("connection refused".into());
    let frame = render::frame_text(&screen(&view, &history, &status), 120, 12);
    assert!(
        frame.contains("server unreachable, retrying (connection refused)"),
        "{frame}"
    );
    assert_eq!(row_cells(&frame, "match")[1], "match");
}

#[test]
fn sorting_by_utilisation_puts_the_busiest_stage_first() {
    let (mut view, history) = view();
    view.sort(SortKey::Utilization);
    let mut s = screen(&view, &history, &Status::Live);
    s.sort = SortKey::Utilization;
    let frame = render::frame_text(&s, 120, 12);
    assert!(frame.contains("sort: utilisation"), "{frame}");
    let at = |name: &str| frame.find(&format!(" {name} ")).expect("row");
    assert!(
        at("match") < at("encode") && at("encode") < at("decode"),
        "{frame}"
    );
}

#[test]
fn accounts_and_market_data_lines_show_the_captured_figures() {
    let (view, history) = view();
    let frame = render::frame_text(&screen(&view, &history, &Status::Live), 120, 14);
    // 12 logins and 3 failed ones in the second; gauges as they are now; one more
    // disconnect cancel (7 in all).
    assert!(
        frame.contains(
            "accounts  logins/s ok 12 failed 3  sessions named 40 anonymous 2  accounts with \
             sessions 20  disconnect cancels 7 (1/s)"
        ),
        "{frame}"
    );
    // 50,000 messages and 4 MB sent, 1,200 conflated, a third slow consumer closed.
    assert!(
        frame.contains(
            "market data  subscribers 100  sent/s 50.0k msgs 4.00MB  conflated/s 1.2k  slow \
             consumers closed 3 (1/s)"
        ),
        "{frame}"
    );
    assert!(
        frame.contains("fan-out/s  trades 2.0k  bbo 1.0k  depth 40.0k  kline 500"),
        "{frame}"
    );
    // The stage table still follows, below them.
    let at = |text: &str| {
        frame
            .find(text)
            .unwrap_or_else(|| panic!("{text} in\n{frame}"))
    };
    assert!(at("fan-out/s") < at(" decode "), "{frame}");
}

#[test]
fn a_server_without_accounts_or_market_data_shows_neither_line() {
    let strip = |text: &str| {
        text.lines()
            .filter(|l| {
                ![
                    "sedaflow_market",
                    "sedaflow_login",
                    "sedaflow_sessions",
                    "sedaflow_accounts",
                    "sedaflow_disconnect",
                ]
                .iter()
                .any(|p| l.starts_with(p) || l.starts_with(&format!("# TYPE {p}")))
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let before = Scrape::parse(&strip(BEFORE)).expect("before parses");
    let after = Scrape::parse(&strip(AFTER)).expect("after parses");
    let view = View::between(&before, &after, Duration::from_secs(1));
    let history = History::new(render::SPARK);
    let frame = render::frame_text(&screen(&view, &history, &Status::Live), 120, 12);
    assert!(
        !frame.contains("accounts") && !frame.contains("market data"),
        "{frame}"
    );
    assert_eq!(row_cells(&frame, "decode")[0], "decode", "{frame}");
}
