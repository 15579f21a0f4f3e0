//! The terminal loop: a thread scrapes `/metrics` about once a second, the UI thread draws and
//! reads keys. A failed scrape keeps the last view on screen under a warning; the next good
//! one resumes (counters that went down count as a restart).

use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind};
use ratatui::DefaultTerminal;

use crate::error::FetchError;
use crate::fetch::{fetch, MetricsUrl};
use crate::history::History;
use crate::model::{SortKey, View};
use crate::parse::Scrape;
use crate::render::{self, Screen, Status, SPARK};

/// Options of `sedaflow top`.
#[derive(Debug, Clone)]
pub struct TopOptions {
    /// Where to read.
    pub url: String,
    /// Time between scrapes.
    pub interval: Duration,
}

type Scraped = (Instant, Result<Scrape, FetchError>);

/// What the loop knows between frames.
struct State {
    source: String,
    last: Option<(Instant, Scrape)>,
    view: Option<View>,
    history: History,
    status: Status,
    sort: SortKey,
    selected: usize,
}

impl State {
    fn new(source: String) -> State {
        State {
            source,
            last: None,
            view: None,
            history: History::new(SPARK),
            status: Status::Waiting,
            sort: SortKey::default(),
            selected: 0,
        }
    }

    fn scraped(&mut self, (at, result): Scraped) {
        match result {
            Ok(scrape) => {
                if let Some((then, previous)) = &self.last {
                    let mut view = View::between(previous, &scrape, at - *then);
                    self.history.record(&view);
                    view.sort(self.sort);
                    self.view = Some(view);
                    self.status = Status::Live;
                } else {
                    self.status = Status::Waiting;
                }
                self.last = Some((at, scrape));
            }
            Err(e) => self.status = Status::Unreachable(e.to_string()),
        }
    }

    fn screen(&self) -> Screen<'_> {
        Screen {
            view: self.view.as_ref(),
            history: &self.history,
            source: &self.source,
            status: &self.status,
            sort: self.sort,
            selected: self.selected,
        }
    }

    /// Handles a key; `false` to quit.
    fn key(&mut self, code: KeyCode) -> bool {
        let rows = self.view.as_ref().map_or(0, |v| v.rows.len());
        match code {
            KeyCode::Char('q') | KeyCode::Esc => return false,
            KeyCode::Up | KeyCode::Left => self.selected = self.selected.saturating_sub(1),
            KeyCode::Down | KeyCode::Right => {
                self.selected = (self.selected + 1).min(rows.saturating_sub(1));
            }
            KeyCode::Char('s') => {
                self.sort = self.sort.next();
                if let Some(v) = &mut self.view {
                    v.sort(self.sort);
                }
            }
            _ => {}
        }
        true
    }
}

/// Scrapes `url` every `interval` until the receiver is dropped.
fn spawn_scraper(url: MetricsUrl, interval: Duration) -> Receiver<Scraped> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || loop {
        let started = Instant::now();
        let timeout = interval.max(Duration::from_millis(200));
        let result = fetch(&url, timeout).and_then(|body| Ok(Scrape::parse(&body)?));
        if tx.send((Instant::now(), result)).is_err() {
            return;
        }
        thread::sleep(interval.saturating_sub(started.elapsed()));
    });
    rx
}

/// Runs the live view until `q`.
///
/// # Errors
/// A bad URL, or the terminal failing.
pub fn run(options: &TopOptions) -> Result<(), String> {
    let url = MetricsUrl::parse(&options.url).map_err(|e| e.to_string())?;
    let scrapes = spawn_scraper(url, options.interval);
    let mut terminal = ratatui::try_init().map_err(|e| e.to_string())?;
    let result = event_loop(&mut terminal, &scrapes, State::new(options.url.clone()));
    ratatui::restore();
    result.map_err(|e| e.to_string())
}

fn event_loop(
    terminal: &mut DefaultTerminal,
    scrapes: &Receiver<Scraped>,
    mut state: State,
) -> std::io::Result<()> {
    loop {
        while let Ok(s) = scrapes.try_recv() {
            state.scraped(s);
        }
        terminal.draw(|f| render::draw(f, &state.screen()))?;
        if event::poll(Duration::from_millis(100))? {
            if let Event::Key(k) = event::read()? {
                if k.kind == KeyEventKind::Press && !state.key(k.code) {
                    return Ok(());
                }
            }
        }
    }
}

/// Takes two scrapes `interval` apart and renders one frame as text (`top --once`).
///
/// # Errors
/// A bad URL, or a scrape failing.
pub fn once(options: &TopOptions, width: u16, height: u16) -> Result<String, String> {
    let url = MetricsUrl::parse(&options.url).map_err(|e| e.to_string())?;
    let scrapes = spawn_scraper(url, options.interval);
    let mut state = State::new(options.url.clone());
    for _ in 0..2 {
        let scraped = match scrapes.recv_timeout(options.interval * 4) {
            Ok(s) => s,
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                return Err("no scrape arrived".into())
            }
        };
        if let Err(e) = &scraped.1 {
            return Err(format!("{}: {e}", options.url));
        }
        state.scraped(scraped);
    }
    Ok(render::frame_text(&state.screen(), width, height))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "sedaflow_stage_info{stage=\"a\",position=\"0\"} 1\n\
                        sedaflow_stage_queue_depth{stage=\"a\"} 3\n";

    #[test]
    fn a_failed_scrape_keeps_the_last_view_and_a_good_one_resumes() {
        let t0 = Instant::now();
        let mut s = State::new("u".into());
        let ok = || Ok(Scrape::parse(TEXT).unwrap());
        s.scraped((t0, ok()));
        assert_eq!(s.status, Status::Waiting);
        s.scraped((t0 + Duration::from_secs(1), ok()));
        assert_eq!(s.status, Status::Live);
        let view = s.view.clone();
        s.scraped((t0 + Duration::from_secs(2), Err(FetchError::Malformed)));
        assert!(matches!(s.status, Status::Unreachable(_)));
        assert_eq!(s.view, view);
        s.scraped((t0 + Duration::from_secs(3), ok()));
        assert_eq!(s.status, Status::Live);
        assert_eq!(s.history.depths("a"), vec![3, 3]);
    }

    #[test]
    fn keys_move_sort_and_quit() {
        let mut s = State::new("u".into());
        let t0 = Instant::now();
        let two = "sedaflow_stage_info{stage=\"a\",position=\"0\"} 1\n\
                   sedaflow_stage_info{stage=\"b\",position=\"1\"} 1\n";
        s.scraped((t0, Ok(Scrape::parse(two).unwrap())));
        s.scraped((t0 + Duration::from_secs(1), Ok(Scrape::parse(two).unwrap())));
        assert!(s.key(KeyCode::Down));
        assert!(s.key(KeyCode::Down));
        assert_eq!(s.selected, 1);
        assert!(s.key(KeyCode::Up));
        assert_eq!(s.selected, 0);
        assert!(s.key(KeyCode::Char('s')));
        assert_eq!(s.sort, SortKey::Utilization);
        assert!(!s.key(KeyCode::Char('q')));
    }
}
