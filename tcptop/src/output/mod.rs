//! Snapshot output formats: one module per format, all writing a [`Snapshot`].
//!
//! JSON and CSV share one schema: the row fields of [`row_fields`].
pub mod csv;
pub mod json;
pub mod table;

use std::{fmt, io, str::FromStr};

use serde_json::{Map, Value};

use crate::view::{Row, Snapshot};

/// An output format of `--once`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Aligned columns for people.
    Table,
    /// One JSON document.
    Json,
    /// CSV with a header line.
    Csv,
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "table" => Ok(Format::Table),
            "json" => Ok(Format::Json),
            "csv" => Ok(Format::Csv),
            _ => Err(format!(
                "unknown output format '{s}': use table, json or csv"
            )),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Table => "table",
            Format::Json => "json",
            Format::Csv => "csv",
        })
    }
}

/// Writes `snap` in `format`.
pub fn write(snap: &Snapshot, format: Format, out: &mut dyn io::Write) -> io::Result<()> {
    match format {
        Format::Table => table::write(snap, out),
        Format::Json => json::write(snap, out),
        Format::Csv => csv::write(snap, out),
    }
}

/// The metric field names of a row, in output order.
pub const METRIC_FIELDS: [&str; 13] = [
    "connections",
    "failed_connects",
    "bytes_sent",
    "bytes_received",
    "retransmits",
    "lost",
    "srtt_p50_us",
    "srtt_p90_us",
    "srtt_p99_us",
    "srtt_max_us",
    "rto",
    "rto_recoveries",
    "rto_time_ms",
];

/// One row as ordered `(field, value)` pairs: `local_<dim>` for each grouped dimension,
/// then `peer_<dim>`, then [`METRIC_FIELDS`]. Missing values are null.
pub fn row_fields(snap: &Snapshot, row: &Row) -> Map<String, Value> {
    let mut m = Map::new();
    for (side, values) in [("local", &row.local), ("peer", &row.peer)] {
        for (dim, v) in snap.group_by.iter().zip(values.iter()) {
            m.insert(format!("{side}_{dim}"), Value::from(&**v));
        }
    }
    let s = &row.stats;
    let metrics = [
        Some(s.connections),
        Some(s.failed_connects),
        Some(s.bytes_sent),
        Some(s.bytes_received),
        Some(s.retransmits),
        Some(s.lost),
        s.srtt_p50_us,
        s.srtt_p90_us,
        s.srtt_p99_us,
        s.srtt_max_us,
        s.rto,
        s.rto_recoveries,
        s.rto_time_ms,
    ];
    for (name, v) in METRIC_FIELDS.iter().zip(metrics) {
        m.insert((*name).to_string(), v.map_or(Value::Null, Value::from));
    }
    m
}

#[cfg(test)]
mod tests;
