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
//!    - `folded`: totals of records that overflowed the ring buffer (`totals`, owners),
//!      or one pair's second of the daemon's history (with `opened` and `srtt`);
//!    - `drops`: the collector's drop counters so far (`folded`, `lost`).
//!
//! A reader rejects a file whose header is missing or of another version, and any line
//! that is not a valid item, naming the line. Fields may be added within a version;
//! anything else changes the version.
pub mod error;
pub mod format;
pub mod read;
mod wire;
pub mod write;

pub use error::RecordError;
pub use format::{Header, Line, FORMAT, VERSION};
pub use read::Replay;
pub use write::Recorder;

#[cfg(test)]
mod tests;
