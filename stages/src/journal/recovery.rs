//! Rebuilding the books from a snapshot and the segments after it, and writing snapshots.
//!
//! Replay runs each journaled request through the same pure [`Engine::submit`] with the same
//! owner and id floor, so every decision (trades, match ids, duplicate and id-floor
//! rejections) comes out as it did live; its reports are thrown away, as their connections
//! are gone. Each named account's highest accepted id comes out of the same replay (and out
//! of the snapshot for the segments it replaced), so its increasing-id rule survives a
//! restart.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::Path;

use super::format::{encode_record, Record, SNAPSHOT_MAGIC};
use super::reader::{self, read_segment, read_snapshot, snapshot_path, sync_dir, TMP_SUFFIX};
use super::JournalError;
use crate::accounts::is_named;
use crate::matching::{Book, Engine, OrderId, Owner};

/// What a journal directory holds, replayed.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) engine: Engine,
    /// The highest connection id any record names: new connections must be numbered above.
    /// Named accounts' owners (top bit set) are not connections and do not count.
    pub(crate) conn_base: u64,
    /// Each named account's highest accepted order id: its id floor. Anonymous accounts
    /// die with their connection, so theirs are not kept.
    pub(crate) floors: BTreeMap<Owner, OrderId>,
    /// The last segment applied (0: none).
    pub(crate) segment: u64,
    /// Requests replayed from segments (not counting the snapshot).
    pub(crate) replayed: u64,
}

/// Loads the newest snapshot and replays the segments after it, up to `upto` (`None`: all of
/// them, the newest one possibly ending in a torn tail, which is truncated).
pub(crate) fn load(dir: &Path, upto: Option<u64>) -> Result<State, JournalError> {
    let listing = reader::list(dir)?;
    let mut state = match listing.snapshots.last() {
        Some(&n) => from_snapshot(&snapshot_path(dir, n), n)?,
        None => State::default(),
    };
    let segments: Vec<u64> = listing
        .segments
        .into_iter()
        .filter(|&n| n > state.segment && upto.is_none_or(|upto| n <= upto))
        .collect();
    let mut out = Vec::new();
    for (i, &n) in segments.iter().enumerate() {
        if n != state.segment + 1 {
            return Err(JournalError::Gap {
                dir: dir.to_owned(),
                missing: state.segment + 1,
            });
        }
        let path = reader::segment_path(dir, n);
        let newest = upto.is_none() && i + 1 == segments.len();
        for record in read_segment(&path, newest)? {
            let Record::Request { owner, floor, req } = record else {
                return Err(JournalError::corrupt(
                    &path,
                    "a snapshot record in a segment",
                ));
            };
            out.clear();
            let outcome = state.engine.submit(owner, &req, floor, &mut out);
            if !is_named(owner) {
                state.conn_base = state.conn_base.max(owner);
            } else if let (true, Some(id)) = (outcome.is_accepted(), req.id()) {
                raise(&mut state.floors, owner, id);
            }
            state.replayed += 1;
        }
        state.segment = n;
    }
    Ok(state)
}

/// Raises `owner`'s floor to `id` if that is higher.
fn raise(floors: &mut BTreeMap<Owner, OrderId>, owner: Owner, id: OrderId) {
    let floor = floors.entry(owner).or_default();
    *floor = (*floor).max(id);
}

/// Rebuilds the state a snapshot file (covering segments up to `n`) holds.
fn from_snapshot(path: &Path, n: u64) -> Result<State, JournalError> {
    let corrupt = |reason: &str| JournalError::corrupt(path, reason);
    let mut records = read_snapshot(path)?.into_iter();
    let Some(Record::Snapshot {
        segment,
        conn_base,
        books,
    }) = records.next()
    else {
        return Err(corrupt("no snapshot header"));
    };
    if segment != n {
        return Err(corrupt("header names another segment"));
    }
    let mut engine = Engine::new();
    for _ in 0..books {
        let Some(Record::Book {
            symbol,
            last_match,
            seq,
            orders,
        }) = records.next()
        else {
            return Err(corrupt("fewer books than the header counts"));
        };
        let mut resting = Vec::new();
        for _ in 0..orders {
            match records.next() {
                Some(Record::Resting(o)) => resting.push(o),
                _ => return Err(corrupt("fewer orders than the book counts")),
            }
        }
        let book = Book::restore(symbol, last_match, seq, resting)
            .map_err(|e| JournalError::corrupt(path, e))?;
        engine.insert_book(book);
    }
    let mut floors = BTreeMap::new();
    for record in records {
        let Record::Floor { owner, id } = record else {
            return Err(corrupt("records after the last book"));
        };
        raise(&mut floors, owner, id);
    }
    Ok(State {
        engine,
        conn_base,
        floors,
        segment,
        replayed: 0,
    })
}

/// Writes `state` as the snapshot of segment `state.segment`: to a temporary file, synced,
/// then renamed into place and the directory synced, so a snapshot file is always whole.
pub(crate) fn write_snapshot(dir: &Path, state: &State) -> Result<(), JournalError> {
    let path = snapshot_path(dir, state.segment);
    let mut tmp = path.clone().into_os_string();
    tmp.push(TMP_SUFFIX);
    let tmp = std::path::PathBuf::from(tmp);
    let file = File::create(&tmp).map_err(JournalError::io("create", &tmp))?;
    let mut w = BufWriter::new(file);
    write_state(&mut w, state).map_err(JournalError::io("write", &tmp))?;
    w.get_ref()
        .sync_all()
        .map_err(JournalError::io("sync", &tmp))?;
    fs::rename(&tmp, &path).map_err(JournalError::io("rename", &tmp))?;
    sync_dir(dir)
}

fn write_state(w: &mut impl Write, state: &State) -> std::io::Result<()> {
    let mut bytes = Vec::new();
    let mut put = |record: Record, w: &mut dyn Write| {
        bytes.clear();
        encode_record(&record, &mut bytes);
        w.write_all(&bytes)
    };
    w.write_all(&SNAPSHOT_MAGIC)?;
    let header = Record::Snapshot {
        segment: state.segment,
        conn_base: state.conn_base,
        books: state.engine.books().count() as u64,
    };
    put(header, w)?;
    for book in state.engine.books() {
        let head = Record::Book {
            symbol: book.symbol(),
            last_match: book.last_match(),
            seq: book.seq(),
            orders: book.len() as u64,
        };
        put(head, w)?;
        for order in book.resting() {
            put(Record::Resting(order), w)?;
        }
    }
    for (&owner, &id) in &state.floors {
        put(Record::Floor { owner, id }, w)?;
    }
    w.flush()
}

/// Deletes what the snapshot of segment `upto` makes redundant: segments up to `upto`, older
/// snapshots, and snapshots left half-written.
pub(crate) fn prune(dir: &Path, upto: u64) -> Result<(), JournalError> {
    let listing = reader::list(dir)?;
    let old_segments = listing
        .segments
        .iter()
        .filter(|&&n| n <= upto)
        .map(|&n| reader::segment_path(dir, n));
    let old_snapshots = listing
        .snapshots
        .iter()
        .filter(|&&n| n < upto)
        .map(|&n| snapshot_path(dir, n));
    for path in old_segments.chain(old_snapshots).chain(listing.stale) {
        fs::remove_file(&path).map_err(JournalError::io("remove", &path))?;
    }
    sync_dir(dir)
}

/// Folds the segments up to `upto` into a snapshot and deletes what it replaces.
pub(crate) fn compact(dir: &Path, upto: u64) -> Result<(), JournalError> {
    let state = load(dir, Some(upto))?;
    write_snapshot(dir, &state)?;
    prune(dir, state.segment)
}

#[cfg(test)]
mod tests;
