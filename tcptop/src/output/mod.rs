//! Snapshot output formats: one module per format, all writing a [`Snapshot`].
//!
//! JSON and CSV share one schema: the row fields of [`row_fields`], derived from the
//! metric table ([`crate::view::metric`]) as the table's columns are.
pub mod csv;
pub mod json;
pub mod table;

use std::{fmt, io, str::FromStr};

use serde_json::{Map, Value};

use crate::view::{metric::Num, MetricId, Row, Snapshot};

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

/// One row as ordered `(field, value)` pairs: `local_<dim>` for each grouped dimension,
/// then `peer_<dim>`, then the metric fields ([`MetricId::fields`]). Missing values are
/// null.
pub fn row_fields(snap: &Snapshot, row: &Row) -> Map<String, Value> {
    let mut m = Map::new();
    for (name, values) in [("local", &row.local), ("peer", &row.peer)] {
        for (dim, v) in snap.group_by.iter().zip(values.iter()) {
            m.insert(format!("{name}_{dim}"), Value::from(&**v));
        }
    }
    for id in MetricId::fields() {
        let value = match id.value(&row.stats) {
            None => Value::Null,
            Some(Num::Int(n)) => Value::from(n),
            Some(Num::Real(x)) => Value::from(x),
        };
        m.insert(id.name().to_string(), value);
    }
    m
}

/// The column names of a row, as [`row_fields`] names them.
pub fn field_names(snap: &Snapshot) -> Vec<String> {
    ["local", "peer"]
        .iter()
        .flat_map(|side| snap.group_by.iter().map(move |d| format!("{side}_{d}")))
        .chain(MetricId::fields().map(|f| f.name().to_string()))
        .collect()
}

#[cfg(test)]
mod tests;
