//! Recordings: the attributed records tcptop saw, in a file that `--replay` plays back
//! into the UI or `--once` without root or a kernel.
//!
//! # Format (version 1)
//!
//! JSON lines, UTF-8, one object per line:
//!
//! 1. A header: `{"format":"tcptop-record","version":1,"tcptop":"0.1.0","node":"n1",
//!    "kernel":"6.18.4","rto":true,"started_unix_ms":1767225600000}`. `rto` says whether
//!    the recording kernel had RTO counters.
//! 2. Then items, each with `t_ms` (milliseconds since the recording started, never
//!    decreasing) and exactly one of:
//!    - `close`: a closed socket (`event` with the kernel's final counters, `local` and
//!      `peer` owners);
//!    - `folded`: totals of records that overflowed the ring buffer (`totals`, owners);
//!    - `drops`: the collector's drop counters so far (`folded`, `lost`).
//!
//! A reader rejects a file whose header is missing or of another version, and any line
//! that is not a valid item, naming the line. Fields may be added within a version;
//! anything else changes the version.
pub mod read;
mod wire;
pub mod write;

use std::{io, path::PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::attribution::Item;
pub use read::Replay;
pub use write::Recorder;

/// The `format` value of a recording's header.
pub const FORMAT: &str = "tcptop-record";
/// The format version this tcptop writes and reads.
pub const VERSION: u32 = 1;

/// The first line of a recording.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Always [`FORMAT`].
    pub format: String,
    /// The format version.
    pub version: u32,
    /// The tcptop version that wrote the file.
    pub tcptop: String,
    /// The node recorded.
    pub node: String,
    /// Its kernel release.
    pub kernel: String,
    /// Whether that kernel had RTO counters.
    pub rto: bool,
    /// When recording started, in milliseconds since the Unix epoch.
    pub started_unix_ms: u64,
}

impl Header {
    /// A header for a recording of `node` starting now.
    pub fn new(node: String, kernel: String, rto: bool) -> Self {
        let started_unix_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        Self {
            format: FORMAT.into(),
            version: VERSION,
            tcptop: env!("CARGO_PKG_VERSION").into(),
            node,
            kernel,
            rto,
            started_unix_ms,
        }
    }
}

/// One item line: the item and when it arrived.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    /// Milliseconds since the recording started.
    pub t_ms: u64,
    /// The item.
    pub item: Item,
}

/// Why a recording could not be written or read.
#[derive(Debug, Error)]
pub enum RecordError {
    /// The recording could not be created.
    #[error("cannot create recording {}: {source}", path.display())]
    Create {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// Writing the recording failed (disk full, say).
    #[error("cannot write recording {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The replay file could not be opened.
    #[error("cannot open replay file {}: {source}", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// Reading the replay file failed.
    #[error("cannot read replay file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The file has no header line.
    #[error("{} is empty: not a tcptop recording (make one with tcptop --record FILE)", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// The first line is not a tcptop header.
    #[error("{} is not a tcptop recording: its first line must be a {{\"format\":\"{FORMAT}\",...}} header (make one with tcptop --record FILE)", path.display())]
    NotRecording {
        /// The file.
        path: PathBuf,
    },
    /// The header names another version.
    #[error("{} is a version {found} tcptop recording, this tcptop reads version {VERSION}: replay it with the tcptop that wrote it ({writer})", path.display())]
    Version {
        /// The file.
        path: PathBuf,
        /// The version found.
        found: u32,
        /// The tcptop version that wrote it.
        writer: String,
    },
    /// An item line is not valid.
    #[error("{} line {line}: not a valid tcptop record ({reason}): the file is damaged or was edited", path.display())]
    BadLine {
        /// The file.
        path: PathBuf,
        /// The line number, from 1.
        line: u64,
        /// What is wrong.
        reason: String,
    },
}

#[cfg(test)]
mod tests;
