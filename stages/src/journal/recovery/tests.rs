use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::sync::Arc;

use super::*;
use crate::internal_events::JournalMetrics;
use crate::journal::format::Record;
use crate::journal::Journal;
use crate::matching::{OrderId, Owner, Price, Request, Resting, Side, Stp, Symbol, Tif};

mod accounts;

/// Every book's last match id, depth sequence and resting orders in time priority, by
/// symbol.
type Books = BTreeMap<String, (u64, u64, Vec<Resting>)>;

fn books(engine: &Engine) -> Books {
    engine
        .books()
        .map(|b| {
            (
                b.symbol().to_string(),
                (b.last_match(), b.seq(), b.resting().collect()),
            )
        })
        .collect()
}

/// A deterministic mix of limits, markets and cancels over a few symbols and owners, applied
/// live by two matching lanes (each serving its own symbols, as the keyed stage would), each
/// batch's records committed as the journal stage does.
struct Live {
    journal: Arc<Journal>,
    lanes: Vec<Engine>,
    floors: HashMap<Owner, OrderId>,
    next_id: OrderId,
    seed: u64,
}

const SYMBOLS: [&str; 3] = ["AAA", "BBB", "CCC"];

impl Live {
    fn open(dir: &Path, segment_bytes: u64) -> Live {
        let journal =
            Arc::new(Journal::open(dir, segment_bytes, JournalMetrics::register()).unwrap());
        let lanes = (0..2).map(|_| Engine::new()).collect();
        Live {
            journal,
            lanes,
            floors: HashMap::new(),
            next_id: 1,
            seed: 7,
        }
    }

    fn random(&mut self, below: u64) -> u64 {
        self.seed = self
            .seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.seed >> 33) % below
    }

    /// Runs `n` requests in batches of up to 5 per lane.
    fn run(&mut self, n: usize) {
        let mut left = n;
        while left > 0 {
            let lane = self.random(2) as usize;
            let size = (1 + self.random(5) as usize).min(left);
            left -= size;
            let mut requests = Vec::new();
            for _ in 0..size {
                // Lane 0 serves AAA and BBB, lane 1 CCC: a symbol belongs to one lane.
                let symbol = match lane {
                    0 => SYMBOLS[self.random(2) as usize],
                    _ => SYMBOLS[2],
                };
                requests.push(self.request(symbol));
            }
            let engine = &mut self.lanes[lane];
            let (mut out, mut records) = (Vec::new(), Vec::new());
            for (owner, req) in requests {
                let floor = self.floors.get(&owner).copied().unwrap_or(0);
                if let Some(symbol) = req.symbol() {
                    self.journal.adopt(symbol, engine);
                }
                let outcome = engine.submit(owner, &req, floor, &mut out);
                if outcome.is_accepted() {
                    self.floors.insert(owner, req.id().unwrap_or(0));
                }
                if let Some(r) = Record::applied(outcome, owner, floor, &req) {
                    encode_record(&r, &mut records);
                }
            }
            self.journal.commit(&mut records).unwrap();
        }
    }

    fn request(&mut self, symbol: &str) -> (Owner, Request) {
        let symbol = Symbol::new(symbol).unwrap();
        let owner = 1 + self.random(4);
        let side = if self.random(2) == 0 {
            Side::Buy
        } else {
            Side::Sell
        };
        // Now and then reuse an old id: duplicates and id-floor rejections.
        let id = if self.random(10) == 0 {
            self.next_id.saturating_sub(3).max(1)
        } else {
            self.next_id += 1;
            self.next_id
        };
        let req = match self.random(10) {
            0 => Request::Market {
                id,
                symbol,
                side,
                qty: 1 + self.random(20),
                stp: Default::default(),
            },
            1 | 2 => Request::Cancel {
                id: self.next_id.saturating_sub(self.random(8)).max(1),
                symbol,
            },
            _ => Request::Limit {
                id,
                symbol,
                side,
                price: Price::from_ticks(95 + self.random(10)).unwrap(),
                qty: 1 + self.random(20),
                tif: if self.random(8) == 0 {
                    Tif::Ioc
                } else {
                    Tif::Gtc
                },
                stp: Default::default(),
            },
        };
        (owner, req)
    }

    /// The live books of every lane, recovered books not yet adopted included.
    fn books(&mut self) -> Books {
        let mut all = Books::new();
        for engine in &mut self.lanes {
            for s in SYMBOLS {
                self.journal.adopt(Symbol::new(s).unwrap(), engine);
            }
            all.extend(books(engine));
        }
        all
    }
}

fn newest_segment(dir: &Path) -> (u64, u64) {
    let listing = reader::list(dir).unwrap();
    let newest = *listing.segments.last().unwrap();
    let len = fs::metadata(reader::segment_path(dir, newest))
        .unwrap()
        .len();
    (newest, len)
}

#[test]
fn reopening_rebuilds_every_book_and_the_connection_base() {
    let dir = tempfile::tempdir().unwrap();
    let mut live = Live::open(dir.path(), 1 << 30);
    live.run(2_000);
    let expected = live.books();
    assert!(expected.values().any(|(m, _, _)| *m > 0), "trades happened");
    assert!(
        expected.values().any(|(_, _, r)| !r.is_empty()),
        "orders rest"
    );
    drop(live);

    let mut again = Live::open(dir.path(), 1 << 30);
    assert_eq!(again.journal.conn_base(), 4);
    assert_eq!(again.books(), expected);
    // Opening folded everything into one snapshot and started a fresh segment.
    let listing = reader::list(dir.path()).unwrap();
    assert_eq!(listing.snapshots.len(), 1);
    assert_eq!(listing.segments, [listing.snapshots[0] + 1]);
}

#[test]
fn rotation_snapshots_in_the_background_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut live = Live::open(dir.path(), 2_048);
    live.run(3_000);
    let expected = live.books();
    drop(live); // joins the compactor
    let listing = reader::list(dir.path()).unwrap();
    assert!(
        listing.snapshots.last().copied().unwrap_or(0) > 1,
        "segments were folded into a snapshot: {listing:?}"
    );
    assert!(
        listing.segments.len() < 10,
        "old segments were deleted: {listing:?}"
    );
    let state = load(dir.path(), None).unwrap();
    assert_eq!(books(&state.engine), expected);
}

#[test]
fn a_torn_tail_is_truncated_and_what_came_before_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let mut live = Live::open(dir.path(), 1 << 30);
    live.run(500);
    let expected = live.books();
    drop(live);
    let (newest, good_len) = newest_segment(dir.path());
    let path = reader::segment_path(dir.path(), newest);
    // Half of a real record, then garbage: a write cut short by a power loss.
    let mut record = Vec::new();
    let req = Request::Cancel {
        id: 1,
        symbol: Symbol::new("AAA").unwrap(),
    };
    let torn = Record::Request {
        owner: 1,
        floor: 0,
        req,
    };
    encode_record(&torn, &mut record);
    let mut file = fs::OpenOptions::new().append(true).open(&path).unwrap();
    file.write_all(&record[..record.len() / 2]).unwrap();
    drop(file);

    let state = load(dir.path(), None).unwrap();
    assert_eq!(books(&state.engine), expected);
    assert_eq!(fs::metadata(&path).unwrap().len(), good_len, "tail cut off");

    fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap()
        .write_all(b"\x00\x00\x00\x00garbage")
        .unwrap();
    let mut again = Live::open(dir.path(), 1 << 30);
    assert_eq!(again.books(), expected);
}

#[test]
fn corruption_before_the_newest_segment_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let symbol = Symbol::new("AAA").unwrap();
    for n in 1..=2 {
        let mut bytes = crate::journal::format::SEGMENT_MAGIC.to_vec();
        let req = Request::Cancel { id: n, symbol };
        encode_record(
            &Record::Request {
                owner: n,
                floor: 0,
                req,
            },
            &mut bytes,
        );
        fs::write(reader::segment_path(dir.path(), n), bytes).unwrap();
    }
    let state = load(dir.path(), None).unwrap();
    assert_eq!((state.segment, state.replayed, state.conn_base), (2, 2, 2));

    let first = reader::segment_path(dir.path(), 1);
    let mut file = fs::OpenOptions::new().append(true).open(&first).unwrap();
    file.write_all(b"junk").unwrap();
    drop(file);
    let err = load(dir.path(), None).unwrap_err();
    assert!(matches!(err, JournalError::Corrupt { .. }), "{err}");

    fs::remove_file(&first).unwrap();
    let err = load(dir.path(), None).unwrap_err();
    assert!(matches!(err, JournalError::Gap { missing: 1, .. }), "{err}");
}

#[test]
fn a_newest_segment_of_another_version_is_refused_not_cut() {
    let dir = tempfile::tempdir().unwrap();
    let path = reader::segment_path(dir.path(), 1);
    let other = b"SFJRNL\x00\x02 records of a later version";
    fs::write(&path, other).unwrap();
    let err = load(dir.path(), None).unwrap_err();
    assert!(matches!(err, JournalError::Corrupt { .. }), "{err}");
    assert_eq!(fs::read(&path).unwrap(), other, "left as it was");
    // A magic cut short is a segment created just before a crash: empty.
    fs::write(&path, b"SFJR").unwrap();
    assert_eq!(load(dir.path(), None).unwrap().segment, 1);
}
