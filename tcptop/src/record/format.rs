//! The header line and the item lines of a recording (the items' own format is in
//! `wire`).
use serde::{Deserialize, Serialize};

use crate::{attribution::Item, collector::Known};

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
    /// Whether open sockets were sampled (added in 0.2; absent before: false).
    #[serde(default)]
    pub live: bool,
    /// When recording started, in milliseconds since the Unix epoch.
    pub started_unix_ms: u64,
}

impl Header {
    /// A header for a recording of `node` starting now.
    pub fn new(node: String, kernel: String, known: Known) -> Self {
        let started_unix_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        Self {
            format: FORMAT.into(),
            version: VERSION,
            tcptop: env!("CARGO_PKG_VERSION").into(),
            node,
            kernel,
            rto: known.rto,
            live: known.live,
            started_unix_ms,
        }
    }

    /// What the recorded source knew.
    pub fn known(&self) -> Known {
        Known {
            rto: self.rto,
            live: self.live,
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
