//! Reads a recording: checks the header on open, then yields its items one by one, so
//! a long recording is never held in memory.
use std::{
    fs::File,
    io::{BufRead, BufReader, Read},
    path::{Path, PathBuf},
};

use serde::Deserialize;

use super::{
    error::RecordError,
    format::{Header, Line, FORMAT, VERSION},
    wire::WireItem,
};

/// [`Line`], as stored.
#[derive(Deserialize)]
struct WireLine {
    t_ms: u64,
    #[serde(flatten)]
    item: WireItem,
}

/// The longest line accepted: records are well under 2 KiB.
const MAX_LINE: u64 = 1 << 20;

/// A recording opened for replay.
pub struct Replay<R: BufRead = BufReader<File>> {
    input: R,
    path: PathBuf,
    header: Header,
    line_no: u64,
    buf: String,
    last_t_ms: u64,
    torn: Option<u64>,
}

impl<T: std::io::Read> Replay<BufReader<T>> {
    /// True when the next line would have to wait for its input (nothing is
    /// buffered): a stream's reader hands over what it has then.
    pub fn drained(&self) -> bool {
        self.input.buffer().is_empty()
    }
}

impl Replay {
    /// Opens `path` and checks its header.
    pub fn open(path: &Path) -> Result<Self, RecordError> {
        let file = File::open(path).map_err(|source| RecordError::Open {
            path: path.to_owned(),
            source,
        })?;
        if file.metadata().is_ok_and(|m| m.is_dir()) {
            return Err(RecordError::NotRecording {
                path: path.to_owned(),
            });
        }
        Self::new(BufReader::with_capacity(64 * 1024, file), path)
    }
}

impl<R: BufRead> Replay<R> {
    /// Reads the header from `input`; `path` names it in errors.
    pub fn new(input: R, path: &Path) -> Result<Self, RecordError> {
        let mut r = Self {
            input,
            path: path.to_owned(),
            header: Header::new(String::new(), String::new(), Default::default()),
            line_no: 0,
            buf: String::new(),
            last_t_ms: 0,
            torn: None,
        };
        let not_recording = || RecordError::NotRecording {
            path: path.to_owned(),
        };
        match r.read_line() {
            Ok(false) => {
                return Err(RecordError::Empty {
                    path: path.to_owned(),
                })
            }
            Ok(true) => {}
            Err(RecordError::BadLine { .. }) => return Err(not_recording()),
            Err(e) => return Err(e),
        }
        // Check the format before the version, then the rest of the header.
        let value: serde_json::Value = serde_json::from_str(&r.buf).map_err(|_| not_recording())?;
        if value.get("format").and_then(|f| f.as_str()) != Some(FORMAT) {
            return Err(not_recording());
        }
        let found = value.get("version");
        if found.and_then(|v| v.as_u64()) != Some(u64::from(VERSION)) {
            return Err(RecordError::Version {
                path: path.to_owned(),
                // As written: a huge, negative or quoted version reads as itself.
                found: found.map_or_else(|| "none".into(), |_| raw_field(&r.buf, "version")),
                writer: value
                    .get("tcptop")
                    .and_then(|v| v.as_str())
                    .unwrap_or("unknown version")
                    .to_string(),
            });
        }
        r.header = serde_json::from_value(value).map_err(|e| RecordError::BadLine {
            path: path.to_owned(),
            line: 1,
            reason: format!("header: {e}"),
        })?;
        Ok(r)
    }

    /// The recording's header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The next item, or `None` at the end of the file.
    pub fn next_line(&mut self) -> Result<Option<Line>, RecordError> {
        loop {
            if !self.read_line()? {
                return Ok(None);
            }
            if self.buf.trim().is_empty() {
                continue;
            }
            let bad = |reason: String| RecordError::BadLine {
                path: self.path.clone(),
                line: self.line_no,
                reason,
            };
            let wire: WireLine = match serde_json::from_str(&self.buf) {
                Ok(w) => w,
                // A last line without its newline was cut short while recording (a
                // full disk, a killed tcptop): everything before it replays.
                Err(_) if !self.buf.ends_with('\n') => {
                    self.torn = Some(self.line_no);
                    return Ok(None);
                }
                Err(e) => return Err(bad(reason(&e))),
            };
            if wire.t_ms < self.last_t_ms {
                return Err(bad(format!(
                    "t_ms {} is before the previous line's {}",
                    wire.t_ms, self.last_t_ms
                )));
            }
            self.last_t_ms = wire.t_ms;
            let item = wire.item.item().map_err(bad)?;
            return Ok(Some(Line {
                t_ms: wire.t_ms,
                item,
            }));
        }
    }

    /// The line cut short at the end of the file, if the recording ends in one; known
    /// once [`Replay::next_line`] has returned `None`.
    pub fn torn(&self) -> Option<u64> {
        self.torn
    }

    /// Reads one line into `buf`; false at the end of the file.
    fn read_line(&mut self) -> Result<bool, RecordError> {
        self.buf.clear();
        self.line_no += 1;
        let n = (&mut self.input)
            .take(MAX_LINE)
            .read_line(&mut self.buf)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::InvalidData => RecordError::BadLine {
                    path: self.path.clone(),
                    line: self.line_no,
                    reason: "not UTF-8 text".into(),
                },
                _ => RecordError::Read {
                    path: self.path.clone(),
                    source: e,
                },
            })?;
        if n as u64 == MAX_LINE && !self.buf.ends_with('\n') {
            return Err(RecordError::BadLine {
                path: self.path.clone(),
                line: self.line_no,
                reason: format!("longer than {MAX_LINE} bytes"),
            });
        }
        Ok(n > 0)
    }
}

/// The text of top-level field `name` in the JSON object `line`, as written (JSON
/// numbers beyond u64 would otherwise read back rounded).
fn raw_field(line: &str, name: &str) -> String {
    let key = format!("\"{name}\"");
    let Some(at) = line.find(&key) else {
        return "none".into();
    };
    let rest = line[at + key.len()..]
        .trim_start()
        .trim_start_matches(':')
        .trim_start();
    let end = if let Some(quoted) = rest.strip_prefix('"') {
        quoted.find('"').map_or(rest.len(), |i| i + 2)
    } else {
        rest.find([',', '}']).unwrap_or(rest.len())
    };
    rest[..end].trim().chars().take(40).collect()
}

/// serde's message, its position given as a column of the line (serde counts every
/// line as line 1, since it sees one at a time).
fn reason(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    let at = format!(" at line {} column {}", e.line(), e.column());
    match msg.strip_suffix(&at) {
        Some(m) => format!("{m}, column {}", e.column()),
        None => msg,
    }
}
