//! The view model: aggregated rows turned into a sorted, cut, display-ready table that
//! the snapshot outputs and the UI widgets draw. [`stats`] summarises a row, [`metric`]
//! describes every metric once, [`format`] holds the number formats they share,
//! [`rows`] sorts and cuts, [`sockets`] lists a row's sockets, [`live`] keeps the UI's
//! numbers, [`cost`] words tcptop's own cost. Pure logic, no I/O.
pub mod cost;
pub mod format;
pub mod live;
pub mod metric;
pub mod rows;
pub mod sockets;
pub mod stats;

pub use metric::MetricId;
pub use rows::{order, rank, rows, sorted, Row, Snapshot, TableSpec};
pub use stats::{Known, RowStats};
