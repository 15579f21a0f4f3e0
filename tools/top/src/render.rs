//! Draws a [`View`] with ratatui: a two-line header (then a line for accounts and two for
//! market data when the server has them), one table row per stage, a detail line for the
//! selected stage. Pure apart from the frame it draws into.

use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, TableState};
use ratatui::{Frame, Terminal};

use crate::activity::{Accounts, MarketData, CHANNELS};
use crate::history::History;
use crate::model::{SortKey, StageRow, View};

/// Cells of the queue bar.
const BAR: usize = 8;
/// Points of the depth sparkline.
pub const SPARK: usize = 12;

/// Whether the server answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// One scrape so far: rates need two.
    Waiting,
    /// The last scrape succeeded.
    Live,
    /// The last scrape failed; the view shown is the last good one.
    Unreachable(String),
}

/// Everything one frame shows.
#[derive(Debug, Clone, Copy)]
pub struct Screen<'a> {
    /// The last computed view, if any.
    pub view: Option<&'a View>,
    /// Recent depths.
    pub history: &'a History,
    /// The URL read.
    pub source: &'a str,
    /// Server reachability.
    pub status: &'a Status,
    /// Row order in use.
    pub sort: SortKey,
    /// Selected row.
    pub selected: usize,
}

/// Draws `screen` over the whole frame.
pub fn draw(frame: &mut Frame<'_>, screen: &Screen<'_>) {
    let head_lines = header(screen);
    // The header's lines and its bottom border.
    let head_height = head_lines.len() as u16 + 1;
    let [head, table, foot] = Layout::vertical([
        Constraint::Length(head_height),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    frame.render_widget(
        Paragraph::new(head_lines).block(Block::new().borders(Borders::BOTTOM)),
        head,
    );
    let rows = screen.view.map_or(&[][..], |v| &v.rows[..]);
    let mut state =
        TableState::default().with_selected(screen.selected.min(rows.len().saturating_sub(1)));
    frame.render_stateful_widget(stage_table(rows, screen), table, &mut state);
    let detail = rows.get(screen.selected).map(detail).unwrap_or_default();
    frame.render_widget(
        Paragraph::new(format!("{detail}   q quit · ↑↓ select · s sort")),
        foot,
    );
}

/// Renders one frame of `width`×`height` cells to plain text (one line per row, trailing
/// blanks trimmed): for `top --once`, the README and tests.
pub fn frame_text(screen: &Screen<'_>, width: u16, height: u16) -> String {
    let mut terminal = match Terminal::new(TestBackend::new(width, height)) {
        Ok(t) => t,
        Err(never) => match never {},
    };
    if let Err(never) = terminal.draw(|f| draw(f, screen)) {
        match never {}
    }
    buffer_text(terminal.backend().buffer())
}

/// A buffer's symbols, row by row, trailing blanks trimmed.
pub fn buffer_text(buffer: &Buffer) -> String {
    let width = usize::from(buffer.area.width).max(1);
    let mut out = String::new();
    for line in buffer.content().chunks(width) {
        let text: String = line.iter().map(|c| c.symbol()).collect();
        out.push_str(text.trim_end());
        out.push('\n');
    }
    out
}

fn header<'a>(screen: &Screen<'a>) -> Vec<Line<'a>> {
    let status = match screen.status {
        Status::Waiting => Span::styled(
            "waiting for a second scrape",
            Style::new().fg(Color::Yellow),
        ),
        Status::Live => Span::styled("live", Style::new().fg(Color::Green)),
        Status::Unreachable(e) => Span::styled(
            format!("server unreachable, retrying ({e})"),
            Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
        ),
    };
    let figures = match screen.view {
        Some(v) => {
            let h = &v.header;
            format!(
                "orders/s {}  answered/s {}  refused/s {}  latency p50 {}  p99 {}  connections {}",
                rate(h.orders_per_s),
                rate(h.answered_per_s),
                rate(h.refused_per_s),
                secs(h.latency_p50),
                secs(h.latency_p99),
                h.connections.map_or("-".into(), |c| format!("{c:.0}")),
            )
        }
        None => "no data yet".into(),
    };
    let mut lines = vec![
        Line::from(vec![
            Span::styled("sedaflow top ", Style::new().add_modifier(Modifier::BOLD)),
            Span::raw(format!(
                "{}  sort: {}  ",
                screen.source,
                screen.sort.as_str()
            )),
            status,
        ]),
        Line::from(figures),
    ];
    if let Some(a) = screen.view.and_then(|v| v.accounts.as_ref()) {
        lines.push(accounts(a));
    }
    if let Some(m) = screen.view.and_then(|v| v.market.as_ref()) {
        lines.extend(market(m));
    }
    lines
}

/// A line's bold title and its figures.
fn titled(title: &'static str, figures: String) -> Line<'static> {
    Line::from(vec![
        Span::styled(title, Style::new().add_modifier(Modifier::BOLD)),
        Span::raw(figures),
    ])
}

fn accounts(a: &Accounts) -> Line<'static> {
    titled(
        "accounts",
        format!(
            "  logins/s ok {} failed {}  sessions named {} anonymous {}  accounts with sessions {}  \
             disconnect cancels {} ({}/s)",
            rate(a.logins_ok_per_s),
            rate(a.logins_failed_per_s),
            count(a.named_sessions),
            count(a.anonymous_sessions),
            count(a.accounts),
            count(a.disconnect_cancels),
            rate(a.disconnect_cancels_per_s),
        ),
    )
}

fn market(m: &MarketData) -> [Line<'static>; 2] {
    let fanout: Vec<String> = CHANNELS
        .iter()
        .zip(m.fanout_per_s)
        .map(|(channel, r)| format!("{channel} {}", rate(r)))
        .collect();
    [
        titled(
            "market data",
            format!(
                "  subscribers {}  sent/s {} msgs {}B  conflated/s {}  slow consumers closed {} \
                 ({}/s)",
                count(m.subscribers),
                rate(m.messages_per_s),
                rate(m.bytes_per_s),
                rate(m.conflated_per_s),
                count(m.slow_closed),
                rate(m.slow_closed_per_s),
            ),
        ),
        Line::from(format!("  fan-out/s  {}", fanout.join("  "))),
    ]
}

const COLUMNS: [(&str, u16); 14] = [
    ("", 1),
    ("stage", 9),
    ("queue", 18),
    ("depth", SPARK as u16),
    ("in/s", 7),
    ("out/s", 7),
    ("rej/s", 6),
    ("drop/s", 6),
    ("bp", 5),
    ("thr", 5),
    ("batch", 6),
    ("svc p99", 8),
    ("wait p99", 8),
    ("util", 5),
];

fn stage_table<'a>(rows: &'a [StageRow], screen: &Screen<'a>) -> Table<'a> {
    let head = Row::new(COLUMNS.iter().map(|(name, _)| Cell::from(*name)))
        .style(Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED));
    let body = rows.iter().map(|r| {
        let row = Row::new(vec![
            Cell::from(if r.bottleneck { "▶" } else { " " }),
            Cell::from(r.name.clone()),
            Cell::from(queue(r)),
            Cell::from(sparkline(&screen.history.depths(&r.name))),
            Cell::from(rate(r.in_per_s)),
            Cell::from(rate(r.out_per_s)),
            Cell::from(rate(r.rejected_per_s)),
            Cell::from(rate(r.dropped_per_s)),
            Cell::from(percent(r.backpressure)),
            Cell::from(match (r.threads, r.threads_max) {
                (Some(t), Some(m)) => format!("{t:.0}/{m:.0}"),
                _ => "-".into(),
            }),
            Cell::from(r.batch.map_or("-".into(), |b| format!("{b:.1}"))),
            Cell::from(secs(r.service_p99)),
            Cell::from(secs(r.wait_p99)),
            Cell::from(percent(r.utilization)),
        ]);
        if r.bottleneck {
            row.style(Style::new().fg(Color::Red).add_modifier(Modifier::BOLD))
        } else {
            row
        }
    });
    Table::new(body, COLUMNS.iter().map(|(_, w)| Constraint::Length(*w)))
        .header(head)
        .column_spacing(1)
        .row_highlight_style(Style::new().add_modifier(Modifier::REVERSED))
}

fn detail(r: &StageRow) -> String {
    format!(
        "{}: domain {} ({}), {}, when_full {}, peak {}",
        r.name,
        r.domain,
        r.role,
        if r.keyed { "keyed" } else { "unkeyed" },
        r.when_full,
        r.peak.map_or("-".into(), count),
    )
}

/// `████▌░░░ 112/64k`: depth over capacity in eighths of a cell.
fn queue(r: &StageRow) -> String {
    let (Some(depth), Some(cap), Some(fill)) = (r.depth, r.capacity, r.fill()) else {
        return "(fused)".into();
    };
    const PARTS: [char; 8] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
    // Any queued event shows at least a sliver.
    let eighths = ((fill * (BAR * 8) as f64).round() as usize).max(usize::from(depth > 0.0));
    let mut bar: String = "█".repeat(eighths / 8);
    if eighths / 8 < BAR {
        bar.push(if eighths % 8 == 0 {
            '░'
        } else {
            PARTS[eighths % 8]
        });
        bar.push_str(&"░".repeat(BAR - eighths / 8 - 1));
    }
    format!("{bar} {}/{}", count(depth), count(cap))
}

/// Depths as block characters scaled to their own maximum.
fn sparkline(depths: &[u64]) -> String {
    const LEVELS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = depths.iter().copied().max().unwrap_or(0);
    depths[depths.len().saturating_sub(SPARK)..]
        .iter()
        .map(|&d| {
            if max == 0 {
                LEVELS[0]
            } else {
                LEVELS[((d as f64 / max as f64) * 7.0).round() as usize]
            }
        })
        .collect()
}

/// Events per second: `0`, `950`, `12.3k`, `1.25M`.
fn rate(v: f64) -> String {
    if v < 0.5 {
        "0".into()
    } else if v < 1e3 {
        format!("{v:.0}")
    } else if v < 1e6 {
        format!("{:.1}k", v / 1e3)
    } else {
        format!("{:.2}M", v / 1e6)
    }
}

/// A count: `112`, `15k`, `64k`, `4096k`, `32M`, `16G`: the smallest unit that keeps it
/// under five digits, in powers of 1024 when it divides exactly (queue bounds).
fn count(v: f64) -> String {
    if v < 1e4 {
        return format!("{v:.0}");
    }
    let mut scaled = String::new();
    for (i, (unit, decimal)) in [("k", 1e3), ("M", 1e6), ("G", 1e9)].into_iter().enumerate() {
        let binary = 1024f64.powi(i as i32 + 1);
        let base = if v % binary == 0.0 { binary } else { decimal };
        scaled = format!("{:.0}{unit}", v / base);
        if v / base < 1e4 {
            break;
        }
    }
    scaled
}

fn percent(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{:.0}%", v * 100.0))
}

/// A duration in seconds: `0.4µs`, `250µs`, `2.10ms`, `1.20s`, `-`.
fn secs(v: Option<f64>) -> String {
    match v {
        None => "-".into(),
        Some(s) if s < 1e-5 => format!("{:.1}µs", s * 1e6),
        Some(s) if s < 1e-3 => format!("{:.0}µs", s * 1e6),
        Some(s) if s < 1.0 => format!("{:.2}ms", s * 1e3),
        Some(s) => format!("{s:.2}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(rate(0.2), "0");
        assert_eq!(rate(950.0), "950");
        assert_eq!(rate(12_340.0), "12.3k");
        assert_eq!(rate(1_250_000.0), "1.25M");
        assert_eq!(count(65_536.0), "64k");
        assert_eq!(count(112.0), "112");
        assert_eq!(count(15_000.0), "15k");
        assert_eq!(count(4_194_304.0), "4096k");
        assert_eq!(count(17_179_869_184.0), "16G");
        assert_eq!(count(33_554_432.0), "32M");
        assert_eq!(secs(Some(4e-7)), "0.4µs");
        assert_eq!(secs(Some(2.5e-4)), "250µs");
        assert_eq!(secs(Some(2.1e-3)), "2.10ms");
        assert_eq!(secs(None), "-");
        assert_eq!(percent(Some(0.875)), "88%");
    }

    #[test]
    fn bars_and_sparklines() {
        let row = |d: f64| StageRow {
            depth: Some(d),
            capacity: Some(64.0),
            ..StageRow::default()
        };
        assert_eq!(queue(&row(0.0)), "░░░░░░░░ 0/64");
        assert_eq!(queue(&row(1.0)), "▏░░░░░░░ 1/64");
        assert_eq!(queue(&row(36.0)), "████▌░░░ 36/64");
        assert_eq!(queue(&row(64.0)), "████████ 64/64");
        assert_eq!(queue(&StageRow::default()), "(fused)");
        assert_eq!(sparkline(&[0, 7, 14]), "▁▅█");
        assert_eq!(sparkline(&[0, 0]), "▁▁");
    }
}
