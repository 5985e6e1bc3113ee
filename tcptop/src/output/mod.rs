//! Snapshot output formats: one module per format, all writing a [`Snapshot`].
//!
//! JSON and CSV share one schema: the row fields of [`fields`], derived from the metric
//! table ([`crate::view::metric`]) as the table's columns are.
pub mod csv;
pub mod fields;
pub mod json;
pub mod prometheus;
pub mod sockets;
pub mod table;

use std::{fmt, io, str::FromStr};

use crate::view::Snapshot;

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

#[cfg(test)]
mod tests;
