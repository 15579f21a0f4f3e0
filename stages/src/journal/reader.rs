//! The journal directory: file names, listing, and reading whole files into records.

use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};

use super::format::{decode_records, Record, SEGMENT_MAGIC, SNAPSHOT_MAGIC};
use super::JournalError;

const SEGMENT_PREFIX: &str = "segment-";
const SEGMENT_SUFFIX: &str = ".log";
const SNAPSHOT_PREFIX: &str = "snapshot-";
const SNAPSHOT_SUFFIX: &str = ".snap";
const LOCK_FILE: &str = "lock";
/// A snapshot being written; renamed into place once durable.
pub(crate) const TMP_SUFFIX: &str = ".tmp";

pub(crate) fn segment_path(dir: &Path, n: u64) -> PathBuf {
    dir.join(format!("{SEGMENT_PREFIX}{n:020}{SEGMENT_SUFFIX}"))
}

pub(crate) fn snapshot_path(dir: &Path, n: u64) -> PathBuf {
    dir.join(format!("{SNAPSHOT_PREFIX}{n:020}{SNAPSHOT_SUFFIX}"))
}

/// The numbered files of a journal directory, each list in ascending order.
#[derive(Debug, Default)]
pub(crate) struct Listing {
    pub(crate) segments: Vec<u64>,
    pub(crate) snapshots: Vec<u64>,
    /// Snapshots that were being written when the process stopped.
    pub(crate) stale: Vec<PathBuf>,
}

/// Lists `dir`; files it does not name are left alone.
pub(crate) fn list(dir: &Path) -> Result<Listing, JournalError> {
    let mut listing = Listing::default();
    let entries = fs::read_dir(dir).map_err(JournalError::io("list", dir))?;
    for entry in entries {
        let entry = entry.map_err(JournalError::io("list", dir))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let number = |prefix: &str, suffix: &str| {
            name.strip_prefix(prefix)?
                .strip_suffix(suffix)?
                .parse::<u64>()
                .ok()
        };
        if let Some(n) = number(SEGMENT_PREFIX, SEGMENT_SUFFIX) {
            listing.segments.push(n);
        } else if let Some(n) = number(SNAPSHOT_PREFIX, SNAPSHOT_SUFFIX) {
            listing.snapshots.push(n);
        } else if name.starts_with(SNAPSHOT_PREFIX) && name.ends_with(TMP_SUFFIX) {
            listing.stale.push(entry.path());
        }
    }
    listing.segments.sort_unstable();
    listing.snapshots.sort_unstable();
    Ok(listing)
}

/// Reads a snapshot, which must be whole: it is renamed into place only once durable.
pub(crate) fn read_snapshot(path: &Path) -> Result<Vec<Record>, JournalError> {
    let bytes = fs::read(path).map_err(JournalError::io("read", path))?;
    let body = bytes
        .strip_prefix(&SNAPSHOT_MAGIC[..])
        .ok_or_else(|| JournalError::corrupt(path, "not a version 1 snapshot"))?;
    let decoded = decode_records(body);
    match decoded.error {
        Some(e) => Err(JournalError::corrupt(path, e)),
        None => Ok(decoded.records),
    }
}

/// Reads a segment. Only the newest segment (`newest`) may end in a torn or corrupt tail (a
/// write cut short by a crash or power loss): it is cut off the file with a warning, and the
/// records before it are kept. Anywhere else that is corruption, and an error.
pub(crate) fn read_segment(path: &Path, newest: bool) -> Result<Vec<Record>, JournalError> {
    let bytes = fs::read(path).map_err(JournalError::io("read", path))?;
    let Some(body) = bytes.strip_prefix(&SEGMENT_MAGIC[..]) else {
        // Created, but the crash came before its magic was on disk: nothing follows it.
        if newest && SEGMENT_MAGIC.starts_with(&bytes) {
            return Ok(Vec::new());
        }
        // Another format version (or another file): never cut, whichever segment it is.
        return Err(JournalError::corrupt(path, "not a version 1 segment"));
    };
    let decoded = decode_records(body);
    let Some(reason) = decoded.error else {
        return Ok(decoded.records);
    };
    if !newest {
        return Err(JournalError::corrupt(path, reason));
    }
    let (records, keep) = (decoded.records, SEGMENT_MAGIC.len() + decoded.valid_len);
    tracing::warn!(
        path = %path.display(),
        kept_bytes = keep,
        dropped_bytes = bytes.len() - keep,
        records_kept = records.len(),
        %reason,
        "journal: torn or corrupt tail truncated"
    );
    let file = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(JournalError::io("open", path))?;
    file.set_len(keep as u64)
        .map_err(JournalError::io("truncate", path))?;
    file.sync_all().map_err(JournalError::io("sync", path))?;
    Ok(records)
}

/// Takes the directory's lock file, held while the returned file is open, so two servers
/// never write one journal.
pub(crate) fn lock(dir: &Path) -> Result<fs::File, JournalError> {
    use std::os::fd::AsRawFd;
    let path = dir.join(LOCK_FILE);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(JournalError::io("open", &path))?;
    // SAFETY: flock(2) takes the descriptor of a file we own and an integer flag.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc != 0 {
        return Err(JournalError::Locked {
            dir: dir.to_owned(),
            source: std::io::Error::last_os_error(),
        });
    }
    Ok(file)
}

/// Makes `dir`'s entries (created, renamed, removed files) durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), JournalError> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(JournalError::io("sync", dir))
}
