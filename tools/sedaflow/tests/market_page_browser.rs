//! The market page `GET /` in a real browser: Debian's `chromium`, headless, driven over the
//! DevTools protocol. The page draws the depth and candles of the symbol traded over TCP and
//! follows further trades live; it repeats what it drew as `data-*` attributes of `#summary`,
//! which the test compares with the orders it sent and with `GET /trades` and `GET /depth`.
//! The screenshot must be a picture with both chart colours in it.
//!
//! Without `chromium` the test fails (tests/run.sh installs it). With
//! `SEDAFLOW_PAGE_SCREENSHOT=FILE` the screenshot is also written to FILE.

mod support;

use std::ffi::OsStr;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use headless_chrome::protocol::cdp::Page::CaptureScreenshotFormatOption;
use headless_chrome::{Browser, LaunchOptions, Tab};
use serde_json::Value;
use support::{get, Client, Server};

/// Hang guard for the page to show something: only reached if it never does.
const PAGE_GUARD: Duration = Duration::from_secs(20);
/// The page's chart colours (up candles and bids, down candles and asks).
const UP: [u8; 3] = [0x26, 0xa6, 0x9a];
const DOWN: [u8; 3] = [0xef, 0x53, 0x50];

#[test]
fn the_page_draws_what_was_traded_and_follows_live() {
    let server = Server::start(&[]);
    let mut traders = Traders::new(server.tcp);
    // Another symbol trades first: the page's default is the one traded last.
    traders.trade("OTHER", "5", 1);
    after_the_last_trade(server.http, "OTHER");
    for price in ["10", "10.3", "9.9", "10.1"] {
        traders.trade("CHART", price, 10);
    }
    traders.rest("buy", "9.8", 50);
    traders.rest("sell", "10.4", 70);

    let (browser, _profile) = browser();
    let tab = browser.new_tab().expect("a tab");
    open(&tab, &format!("http://{}/", server.http));
    let page = wait_for(&tab, "the default symbol's trades", |s| s["trades"] == "4");
    assert_eq!(page["symbol"], "CHART", "the most recently traded symbol");
    let served = eval(&tab, "document.contentType + ' ' + document.characterSet");
    assert_eq!(served, "text/html UTF-8");

    open(&tab, &format!("http://{}/?symbol=CHART", server.http));
    let page = wait_for_book(&tab, server.http, "the traded book");
    assert_eq!(page["interval"], "1m", "the default interval");
    assert_eq!(prices(server.http), ["10", "10.3", "9.9", "10.1"]);
    assert_candles(&page, server.http, "1m");
    assert_eq!(page["lastTrade"], "10.1");
    assert_eq!(page["volume"], "40");
    assert_best(&page, ["9.8", "50"], ["10.4", "70"]);

    // Live: one more trade (lifting part of the ask) and a better bid.
    traders.lift("10.4", 20);
    traders.rest("buy", "9.95", 15);
    let page = wait_for_book(&tab, server.http, "the book after the live trade");
    assert_candles(&page, server.http, "1m");
    assert_eq!(page["close"], "10.4");
    assert_eq!(page["trades"], "5");
    assert_eq!(page["volume"], "60");
    assert_best(&page, ["9.95", "15"], ["10.4", "50"]);

    // Another interval, in place: the same trades in 1-second candles.
    eval(
        &tab,
        "const i = document.getElementById('interval'); i.value = '1s'; \
         i.dispatchEvent(new Event('change')); i.value",
    );
    let expected = candles(server.http, 1_000).len().to_string();
    let page = wait_for(&tab, "1-second candles", |s| {
        s["interval"] == "1s" && s["candles"] == expected.as_str()
    });
    assert_candles(&page, server.http, "1s");
    assert_eq!(page["volume"], "60");

    screenshot(&tab);
}

/// A seller and a buyer (anonymous accounts of their own), and their order ids.
struct Traders {
    seller: Client,
    buyer: Client,
    id: u64,
}

impl Traders {
    fn new(tcp: SocketAddr) -> Traders {
        Traders {
            seller: Client::connect(tcp),
            buyer: Client::connect(tcp),
            id: 0,
        }
    }

    /// The seller rests `qty` at `price`, the buyer takes it all: one trade at `price`.
    fn trade(&mut self, symbol: &str, price: &str, qty: u64) {
        self.order(symbol, "sell", price, qty);
        self.order(symbol, "buy", price, qty);
        self.buyer.recv_n(2); // fill, done
        self.seller.recv_n(2); // fill, done
    }

    /// The buyer takes `qty` of a larger resting ask at `price` on CHART.
    fn lift(&mut self, price: &str, qty: u64) {
        self.order("CHART", "buy", price, qty);
        self.buyer.recv_n(2); // fill, done
        self.seller.recv(); // fill
    }

    /// An order on CHART that rests (does not trade).
    fn rest(&mut self, side: &str, price: &str, qty: u64) {
        self.order("CHART", side, price, qty);
    }

    /// Sends a limit order by the seller or the buyer (by `side`) and reads its `ack`.
    fn order(&mut self, symbol: &str, side: &str, price: &str, qty: u64) {
        self.id += 1;
        let id = self.id;
        let client = match side {
            "sell" => &mut self.seller,
            _ => &mut self.buyer,
        };
        client.send(&format!(
            r#"{{"op":"limit","id":{id},"symbol":"{symbol}","side":"{side}","price":"{price}","qty":{qty}}}"#
        ));
        client.expect(&format!(r#"{{"type":"ack","id":{id}}}"#));
    }
}

/// Returns once the clock is past `symbol`'s last trade, so a later trade is later in time too
/// (the default symbol is the latest by trade time).
fn after_the_last_trade(http: SocketAddr, symbol: &str) {
    let trades = get(http, &format!("/trades?symbol={symbol}")).json();
    let traded = trades[0]["time"].as_u64().expect("a trade time");
    let now = || {
        let since = SystemTime::now().duration_since(UNIX_EPOCH);
        since.expect("after 1970").as_millis() as u64
    };
    while now() <= traded {
        thread::yield_now();
    }
}

/// The traded prices, oldest first.
fn prices(http: SocketAddr) -> Vec<String> {
    let trades = get(http, "/trades?symbol=CHART").json();
    let trades = trades.as_array().expect("an array");
    trades
        .iter()
        .map(|t| t["price"].as_str().expect("a price").to_owned())
        .collect()
}

/// The candles the trades make at `interval_ms`: `[open, high, low, close]` per interval with
/// trades, oldest first.
fn candles(http: SocketAddr, interval_ms: u64) -> Vec<[String; 4]> {
    let trades = get(http, "/trades?symbol=CHART").json();
    let mut candles: Vec<(u64, [String; 4])> = Vec::new();
    for t in trades.as_array().expect("an array") {
        let price = t["price"].as_str().expect("a price").to_owned();
        let slot = t["time"].as_u64().expect("a time") / interval_ms;
        match candles.last_mut() {
            Some((s, [_, high, low, close])) if *s == slot => {
                if number(&price) > number(high) {
                    high.clone_from(&price);
                }
                if number(&price) < number(low) {
                    low.clone_from(&price);
                }
                *close = price;
            }
            _ => candles.push((slot, [(); 4].map(|()| price.clone()))),
        }
    }
    candles.into_iter().map(|(_, ohlc)| ohlc).collect()
}

fn number(price: &str) -> f64 {
    price.parse().expect("a decimal price")
}

/// The page drew as many candles as the trades make at `interval`, the last one with the
/// traded open, high, low and close.
#[track_caller]
fn assert_candles(page: &Value, http: SocketAddr, interval: &str) {
    let ms = match interval {
        "1s" => 1_000,
        _ => 60_000,
    };
    let expected = candles(http, ms);
    assert_eq!(page["candles"], expected.len().to_string().as_str());
    let last = expected.last().expect("a candle");
    let drawn = ["open", "high", "low", "close"].map(|k| page[k].as_str().unwrap_or_default());
    assert_eq!(drawn, last.each_ref().map(String::as_str), "page: {page}");
}

/// The page drew the best bid and ask (price, quantity) of the resting orders.
#[track_caller]
fn assert_best(page: &Value, bid: [&str; 2], ask: [&str; 2]) {
    let drawn = ["bestBid", "bidQty", "bestAsk", "askQty"].map(|k| page[k].as_str());
    let expected = [bid, ask].concat();
    assert_eq!(
        drawn.map(Option::unwrap_or_default),
        *expected,
        "page: {page}"
    );
}

/// Waits until the page shows the server's current book (`GET /depth`'s `seq`) with every
/// trade of it.
fn wait_for_book(tab: &Tab, http: SocketAddr, what: &str) -> Value {
    let seq = get(http, "/depth?symbol=CHART").json()["seq"].to_string();
    let trades = prices(http).len().to_string();
    wait_for(tab, what, |s| {
        s["depthSeq"] == seq.as_str() && s["trades"] == trades.as_str()
    })
}

/// The page's `#summary` data once `done` holds for it.
///
/// # Panics
/// If it never does within [`PAGE_GUARD`], with what the page showed.
fn wait_for(tab: &Tab, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        let summary = summary(tab);
        if done(&summary) {
            return summary;
        }
        if start.elapsed() > PAGE_GUARD {
            let status = eval(tab, "document.getElementById('status').textContent");
            panic!("the page never showed {what}: status {status:?}, summary {summary}");
        }
        thread::sleep(Duration::from_millis(50));
    }
}

fn summary(tab: &Tab) -> Value {
    let json = eval(
        tab,
        "JSON.stringify(document.getElementById('summary')?.dataset ?? {})",
    );
    serde_json::from_str(&json).expect("the summary as JSON")
}

/// The value of `expression` on the page, as a string.
fn eval(tab: &Tab, expression: &str) -> String {
    let result = tab
        .evaluate(expression, false)
        .unwrap_or_else(|e| panic!("evaluating {expression:?} failed: {e}"));
    match result.value {
        Some(Value::String(s)) => s,
        other => panic!("{expression:?} gave {other:?}, not a string"),
    }
}

fn open(tab: &Tab, url: &str) {
    tab.navigate_to(url)
        .and_then(|t| t.wait_until_navigated())
        .unwrap_or_else(|e| panic!("cannot open {url}: {e}"));
}

/// Takes a screenshot and checks it is a picture of the charts: it decodes, and has pixels of
/// both chart colours (candle bodies, depth lines).
fn screenshot(tab: &Tab) {
    let png = tab
        .capture_screenshot(CaptureScreenshotFormatOption::Png, None, None, true)
        .expect("a screenshot");
    if let Some(path) = std::env::var_os("SEDAFLOW_PAGE_SCREENSHOT") {
        std::fs::write(&path, &png).expect("writing the screenshot");
    }
    let mut reader = png::Decoder::new(std::io::Cursor::new(png))
        .read_info()
        .expect("a PNG");
    let mut pixels = vec![0; reader.output_buffer_size().expect("a size")];
    let info = reader.next_frame(&mut pixels).expect("the PNG's pixels");
    assert!(info.width >= 800 && info.height >= 600, "{info:?}");
    let channels = info.color_type.samples();
    assert!(channels >= 3, "{info:?}");
    let has = |colour: [u8; 3]| {
        pixels[..info.buffer_size()]
            .chunks_exact(channels)
            .any(|p| p[..3] == colour)
    };
    assert!(has(UP), "no up-coloured pixel in the screenshot");
    assert!(has(DOWN), "no down-coloured pixel in the screenshot");
}

/// Chromium, headless, with a fresh profile (dropped with the browser).
///
/// # Panics
/// If `chromium` is not installed or does not start.
fn browser() -> (Browser, tempfile::TempDir) {
    let path = chromium();
    let profile = tempfile::tempdir().expect("a profile directory");
    // As root, on a machine without network: no sandbox, nothing fetched in the background.
    let args = [
        "--disable-gpu",
        "--disable-quic",
        "--disable-component-update",
    ];
    let options = LaunchOptions::default_builder()
        .path(Some(path.clone()))
        .headless(true)
        .sandbox(false)
        .window_size(Some((1280, 800)))
        .user_data_dir(Some(profile.path().to_owned()))
        .args(args.iter().map(OsStr::new).collect())
        .build()
        .expect("launch options");
    let browser =
        Browser::new(options).unwrap_or_else(|e| panic!("cannot start {}: {e}", path.display()));
    (browser, profile)
}

fn chromium() -> PathBuf {
    let paths = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&paths)
        .map(|dir| dir.join("chromium"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("`chromium` is not on the PATH: install Debian's chromium (tests/run.sh does)")
        })
}
