//! Writes a recording: the header, then one line per item as it arrives. Lines are
//! buffered whole and reach the file at least every flush; when a write fails (a full
//! disk), the file is cut back to its last whole line, so that it still replays.
use std::{
    fs::File,
    io::{self, Seek, SeekFrom, Write},
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

/// Where a recording goes: a writer that can be cut back to a length it had.
pub trait Sink: Write {
    /// Cuts what was written back to its first `len` bytes.
    fn cut(&mut self, len: u64) -> io::Result<()>;
}

impl Sink for File {
    fn cut(&mut self, len: u64) -> io::Result<()> {
        self.set_len(len)?;
        self.seek(SeekFrom::Start(len)).map(drop)
    }
}

impl Sink for Vec<u8> {
    fn cut(&mut self, len: u64) -> io::Result<()> {
        self.truncate(usize::try_from(len).unwrap_or(usize::MAX));
        Ok(())
    }
}

/// Whole lines are written out once this many bytes wait.
const BUFFER: usize = 64 * 1024;

/// An open recording.
pub struct Recorder<W: Sink = File> {
    out: W,
    path: PathBuf,
    /// Whole lines not yet written out.
    pending: Vec<u8>,
    /// Bytes in the sink, all of them whole lines.
    written: u64,
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
        Self::new(file, path, header)
    }
}

impl<W: Sink> Recorder<W> {
    /// Starts a recording on `out`; `path` names it in errors.
    pub fn new(out: W, path: &Path, header: &Header) -> Result<Self, RecordError> {
        let mut r = Self {
            out,
            path: path.to_owned(),
            pending: Vec::with_capacity(BUFFER),
            written: 0,
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

    /// Writes the waiting lines out. On failure the sink is cut back to its last
    /// whole line, and the lines are dropped.
    pub fn flush(&mut self) -> Result<(), RecordError> {
        if self.pending.is_empty() {
            return self.out.flush().map_err(|e| self.error(e));
        }
        let result = self
            .out
            .write_all(&self.pending)
            .and_then(|()| self.out.flush());
        match result {
            Ok(()) => {
                self.written += self.pending.len() as u64;
                self.pending.clear();
                Ok(())
            }
            Err(e) => {
                self.pending.clear();
                let _ = self.out.cut(self.written);
                Err(self.error(e))
            }
        }
    }

    /// The sink, for tests.
    pub fn into_inner(self) -> W {
        self.out
    }
}

impl Recorder<Vec<u8>> {
    /// The lines written so far, taken out (the daemon sends them on to a socket).
    pub fn take(&mut self) -> Vec<u8> {
        let _ = self.flush();
        self.written = 0;
        std::mem::take(&mut self.out)
    }
}

impl<W: Sink> Recorder<W> {
    fn put(&mut self, value: &impl Serialize) -> Result<(), RecordError> {
        self.line.clear();
        // Serialising these types into memory cannot fail: no maps with non-string keys.
        serde_json::to_writer(&mut self.line, value)
            .map_err(|e| self.error(std::io::Error::other(e)))?;
        self.line.push(b'\n');
        self.pending.extend_from_slice(&self.line);
        if self.pending.len() >= BUFFER {
            self.flush()?;
        }
        Ok(())
    }

    fn error(&self, source: std::io::Error) -> RecordError {
        RecordError::Write {
            path: self.path.clone(),
            source,
        }
    }
}
