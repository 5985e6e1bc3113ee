//! Writes a recording: the header, then one line per item as it arrives. Each line
//! reaches the file in one write, so a recording cut short ends on a whole line.
use std::{
    fs::File,
    io::{BufWriter, Write},
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use serde::Serialize;

use super::{error::RecordError, format::Header, wire::WireItem};
use crate::attribution::Item;

/// [`super::Line`], as written.
#[derive(Serialize)]
struct WireLine {
    t_ms: u64,
    #[serde(flatten)]
    item: WireItem,
}

/// An open recording.
pub struct Recorder<W: Write = BufWriter<File>> {
    out: W,
    path: PathBuf,
    line: Vec<u8>,
    started: Instant,
    rto: bool,
}

impl Recorder {
    /// Creates (or truncates) `path` and writes `header` to it.
    pub fn create(path: &Path, header: &Header) -> Result<Self, RecordError> {
        let file = File::create(path).map_err(|source| RecordError::Create {
            path: path.to_owned(),
            source,
        })?;
        Self::new(BufWriter::with_capacity(64 * 1024, file), path, header)
    }
}

impl<W: Write> Recorder<W> {
    /// Starts a recording on `out`; `path` names it in errors.
    pub fn new(out: W, path: &Path, header: &Header) -> Result<Self, RecordError> {
        let mut r = Self {
            out,
            path: path.to_owned(),
            line: Vec::with_capacity(1024),
            started: Instant::now(),
            rto: header.rto,
        };
        r.put(header)?;
        r.flush()?;
        Ok(r)
    }

    /// Appends `item`, which arrived `t` after the recording started.
    pub fn write(&mut self, t: Duration, item: &Item) -> Result<(), RecordError> {
        self.put(&WireLine {
            t_ms: t.as_millis() as u64,
            item: WireItem::new(item, self.rto),
        })
    }

    /// Time since the recording started, the header's `started_unix_ms`.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Pushes buffered lines to the file.
    pub fn flush(&mut self) -> Result<(), RecordError> {
        self.out.flush().map_err(|e| self.error(e))
    }

    /// The writer, for tests.
    pub fn into_inner(self) -> W {
        self.out
    }

    fn put(&mut self, value: &impl Serialize) -> Result<(), RecordError> {
        self.line.clear();
        // Serialising these types into memory cannot fail: no maps with non-string keys.
        serde_json::to_writer(&mut self.line, value)
            .map_err(|e| self.error(std::io::Error::other(e)))?;
        self.line.push(b'\n');
        self.out.write_all(&self.line).map_err(|e| self.error(e))
    }

    fn error(&self, source: std::io::Error) -> RecordError {
        RecordError::Write {
            path: self.path.clone(),
            source,
        }
    }
}
