use std::path::PathBuf;

use thiserror::Error;

/// Why the journal could not be recovered, written or compacted.
#[derive(Debug, Error)]
pub enum JournalError {
    /// A file or directory operation failed.
    #[error("journal {op} {path}: {source}")]
    Io {
        /// What was being done: `open`, `write`, `sync`, ...
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A file that must be whole is not: a snapshot, or a segment before the last one.
    #[error("journal file {path} is corrupt: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Segments are missing between the snapshot and the newest segment.
    #[error("journal segment {missing} is missing in {dir}")]
    Gap {
        /// The directory.
        dir: PathBuf,
        /// The first missing segment number.
        missing: u64,
    },
    /// Another process holds the journal.
    #[error("journal {dir} is in use by another process: {source}")]
    Locked {
        /// The directory.
        dir: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// An earlier write or sync failed: the journal takes nothing more (after a failed
    /// `fsync` the kernel may have dropped the dirty pages, so retrying proves nothing).
    #[error("journal failed earlier: {0}")]
    Failed(String),
}

impl JournalError {
    pub(crate) fn io(
        op: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> JournalError {
        let path = path.into();
        move |source| JournalError::Io { op, path, source }
    }

    pub(crate) fn corrupt(path: impl Into<PathBuf>, reason: impl ToString) -> JournalError {
        JournalError::Corrupt {
            path: path.into(),
            reason: reason.to_string(),
        }
    }
}
