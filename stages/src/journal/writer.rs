//! The open journal: recovered books for the matching lanes, the segment the journal stage
//! writes, rotation, and the compactor thread that folds closed segments into snapshots.

use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Instant;

use parking_lot::Mutex;

use super::format::SEGMENT_MAGIC;
use super::reader::{self, segment_path, sync_dir};
use super::recovery::{self, State};
use super::JournalError;
use crate::internal_events::JournalMetrics;
use crate::matching::{Book, Engine, OrderId, Owner, Symbol};

/// An open journal: recovered books waiting for the matching lane that serves their symbol,
/// and the segment the journal stage commits to.
pub(crate) struct Journal {
    dir: PathBuf,
    /// Locked by the journal stage's one thread (and tests), so never contended.
    segment: Mutex<Segment>,
    recovered: Mutex<HashMap<Symbol, Book>>,
    /// Whether `recovered` still holds books (checked without the lock on every order).
    adopting: AtomicBool,
    conn_base: u64,
    floors: BTreeMap<Owner, OrderId>,
    compactor: Option<JoinHandle<()>>,
    metrics: JournalMetrics,
    /// Held open: the directory's lock.
    _lock: File,
}

struct Segment {
    dir: PathBuf,
    file: File,
    number: u64,
    len: u64,
    max_len: u64,
    /// Closed segment numbers, for the compactor.
    closed: Option<mpsc::Sender<u64>>,
    /// Why a write failed: nothing is written after that.
    failed: Option<String>,
}

impl Journal {
    /// Opens the journal in `dir` (created if missing): replays what it holds, folds it into
    /// one snapshot, and starts a new segment. Segments are closed once they pass
    /// `segment_bytes` and folded into a snapshot in the background.
    pub(crate) fn open(
        dir: &Path,
        segment_bytes: u64,
        metrics: JournalMetrics,
    ) -> Result<Journal, JournalError> {
        let started = Instant::now();
        std::fs::create_dir_all(dir).map_err(JournalError::io("create", dir))?;
        let lock = reader::lock(dir)?;
        let state = recovery::load(dir, None)?;
        let had_segments = !reader::list(dir)?.segments.is_empty();
        if had_segments {
            recovery::write_snapshot(dir, &state)?;
            recovery::prune(dir, state.segment)?;
        }
        let State {
            engine,
            conn_base,
            floors,
            segment,
            replayed,
        } = state;
        let books: HashMap<Symbol, Book> = engine.into_books().map(|b| (b.symbol(), b)).collect();
        tracing::info!(
            dir = %dir.display(),
            books = books.len(),
            resting = books.values().map(Book::len).sum::<usize>(),
            replayed,
            conn_base,
            accounts = floors.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "journal recovered"
        );
        let (closed, to_compact) = mpsc::channel();
        let mut segment = Segment::create(dir, segment + 1, segment_bytes)?;
        segment.closed = Some(closed);
        let (compact_dir, compact_metrics) = (dir.to_owned(), metrics.clone());
        let compactor = std::thread::Builder::new()
            .name("sf-journal".into())
            .spawn(move || compact_loop(&compact_dir, &to_compact, &compact_metrics))
            .map_err(JournalError::io("spawn compactor for", dir))?;
        Ok(Journal {
            dir: dir.to_owned(),
            segment: Mutex::new(segment),
            adopting: AtomicBool::new(!books.is_empty()),
            recovered: Mutex::new(books),
            conn_base,
            floors,
            compactor: Some(compactor),
            metrics,
            _lock: lock,
        })
    }

    /// Every connection id the journal names is at most this.
    pub(crate) fn conn_base(&self) -> u64 {
        self.conn_base
    }

    /// Each named account's highest accepted order id, as recovered: the floor its next new
    /// order's id must exceed.
    pub(crate) fn floors(&self) -> &BTreeMap<Owner, OrderId> {
        &self.floors
    }

    /// Moves the recovered book of `symbol` into `engine` if no lane took it yet: a book
    /// goes to the lane that serves its symbol when that symbol's first order arrives.
    pub(crate) fn adopt(&self, symbol: Symbol, engine: &mut Engine) {
        if !self.adopting.load(Ordering::Acquire) || engine.book(symbol).is_some() {
            return;
        }
        let mut books = self.recovered.lock();
        if let Some(book) = books.remove(&symbol) {
            engine.insert_book(book);
        }
        if books.is_empty() {
            self.adopting.store(false, Ordering::Release);
        }
    }

    /// Moves every recovered book whose symbol `serves` into `engine` (a lane about to answer
    /// for all the books it serves).
    pub(crate) fn adopt_where(&self, engine: &mut Engine, serves: impl Fn(Symbol) -> bool) {
        if !self.adopting.load(Ordering::Acquire) {
            return;
        }
        let mut books = self.recovered.lock();
        let mine: Vec<Symbol> = books.keys().copied().filter(|&s| serves(s)).collect();
        for symbol in mine {
            if let Some(book) = books.remove(&symbol) {
                if engine.book(symbol).is_none() {
                    engine.insert_book(book);
                }
            }
        }
        if books.is_empty() {
            self.adopting.store(false, Ordering::Release);
        }
    }

    /// Appends `records` (framed; the Vec is emptied) with one `write` and one `fdatasync`.
    ///
    /// # Errors
    /// The write or sync error, or [`JournalError::Failed`] for every commit after one failed.
    pub(crate) fn commit(&self, records: &mut Vec<u8>) -> Result<(), JournalError> {
        if records.is_empty() {
            return Ok(());
        }
        let mut segment = self.segment.lock();
        if let Some(reason) = &segment.failed {
            return Err(JournalError::Failed(reason.clone()));
        }
        let started = Instant::now();
        let result = segment.append(records);
        match &result {
            Ok(()) => self.metrics.committed(records.len(), started.elapsed()),
            Err(e) => {
                tracing::error!(dir = %self.dir.display(), error = %e, "journal write failed");
                segment.failed = Some(e.to_string());
            }
        }
        records.clear();
        result
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        // Closing the channel ends the compactor once it finishes its current snapshot.
        self.segment.get_mut().closed = None;
        if let Some(compactor) = self.compactor.take() {
            let _ = compactor.join();
        }
    }
}

impl Segment {
    /// Creates segment `number`, its magic durable and its name in the directory.
    fn create(dir: &Path, number: u64, max_len: u64) -> Result<Segment, JournalError> {
        let path = segment_path(dir, number);
        let mut file = OpenOptions::new()
            .create_new(true)
            .write(true)
            .open(&path)
            .map_err(JournalError::io("create", &path))?;
        file.write_all(&SEGMENT_MAGIC)
            .and_then(|()| file.sync_all())
            .map_err(JournalError::io("write", &path))?;
        sync_dir(dir)?;
        Ok(Segment {
            dir: dir.to_owned(),
            file,
            number,
            len: SEGMENT_MAGIC.len() as u64,
            max_len,
            closed: None,
            failed: None,
        })
    }

    /// One write and one `fdatasync`; then, past the size limit, the next segment.
    fn append(&mut self, bytes: &[u8]) -> Result<(), JournalError> {
        let written = match self.file.write_all(bytes) {
            Ok(()) => self.file.sync_data().map_err(|e| ("sync", e)),
            Err(e) => Err(("write", e)),
        };
        if let Err((op, e)) = written {
            return Err(JournalError::io(op, segment_path(&self.dir, self.number))(
                e,
            ));
        }
        self.len += bytes.len() as u64;
        if self.len >= self.max_len {
            let next = Segment::create(&self.dir, self.number + 1, self.max_len)?;
            let closed = self.number;
            let old = std::mem::replace(self, next);
            self.closed = old.closed;
            if let Some(tx) = &self.closed {
                let _ = tx.send(closed);
            }
        }
        Ok(())
    }
}

/// Folds closed segments into snapshots until the journal closes. A failure only leaves the
/// journal longer (recovery replays the segments instead), so it is logged, not fatal.
fn compact_loop(dir: &Path, closed: &mpsc::Receiver<u64>, metrics: &JournalMetrics) {
    while let Ok(mut upto) = closed.recv() {
        // Segments closed meanwhile go into the same snapshot.
        while let Ok(later) = closed.try_recv() {
            upto = later;
        }
        let started = Instant::now();
        let result = recovery::compact(dir, upto);
        metrics.snapshot(result.is_ok());
        match result {
            Ok(()) => tracing::info!(
                segment = upto,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "journal snapshot written"
            ),
            Err(e) => tracing::warn!(segment = upto, error = %e, "journal snapshot failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::format::{decode_records, encode_record, Record};
    use crate::matching::Request;

    fn cancel_record(owner: u64) -> Vec<u8> {
        let req = Request::Cancel {
            id: owner,
            symbol: Symbol::new("ACME").unwrap(),
        };
        let mut bytes = Vec::new();
        encode_record(
            &Record::Request {
                owner,
                floor: 0,
                req,
            },
            &mut bytes,
        );
        bytes
    }

    #[test]
    fn concurrent_commits_all_land_whole_and_in_each_threads_order() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(dir.path(), 1 << 30, JournalMetrics::register()).unwrap();
        std::thread::scope(|s| {
            for lane in 0..4u64 {
                let journal = &journal;
                s.spawn(move || {
                    for i in 0..200 {
                        let mut records = cancel_record(lane * 1_000 + i);
                        journal.commit(&mut records).unwrap();
                        assert!(records.is_empty(), "commit empties the records");
                    }
                });
            }
        });
        let bytes = std::fs::read(segment_path(dir.path(), 1)).unwrap();
        let decoded = decode_records(&bytes[SEGMENT_MAGIC.len()..]);
        assert_eq!(decoded.error, None);
        assert_eq!(decoded.records.len(), 800);
        for lane in 0..4u64 {
            let owners: Vec<u64> = decoded
                .records
                .iter()
                .filter_map(|r| match r {
                    Record::Request { owner, .. } if owner / 1_000 == lane => Some(*owner),
                    _ => None,
                })
                .collect();
            let expected: Vec<u64> = (0..200).map(|i| lane * 1_000 + i).collect();
            assert_eq!(owners, expected);
        }
    }

    #[test]
    fn one_journal_per_directory() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(dir.path(), 1 << 30, JournalMetrics::register()).unwrap();
        let second = Journal::open(dir.path(), 1 << 30, JournalMetrics::register());
        assert!(matches!(second, Err(JournalError::Locked { .. })));
        drop(journal);
        assert!(Journal::open(dir.path(), 1 << 30, JournalMetrics::register()).is_ok());
    }

    #[test]
    fn a_failed_write_fails_this_and_every_later_commit() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(dir.path(), 1 << 30, JournalMetrics::register()).unwrap();
        let path = segment_path(dir.path(), 1);
        // A read-only handle: the next write fails as a full or broken disk would.
        journal.segment.lock().file = File::open(&path).unwrap();
        let err = journal.commit(&mut cancel_record(1)).unwrap_err();
        assert!(matches!(err, JournalError::Io { op: "write", .. }), "{err}");
        let err = journal.commit(&mut cancel_record(2)).unwrap_err();
        assert!(matches!(err, JournalError::Failed(_)), "{err}");
    }
}
