//! Why a recording could not be written or read: one line each, naming the file.
use std::{io, path::PathBuf};

use thiserror::Error;

use super::format::{FORMAT, VERSION};

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
        /// The version found, as written (`none` when missing).
        found: String,
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
