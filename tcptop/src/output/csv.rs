//! CSV output: a header line, then one line per row, with the JSON row fields as
//! columns. Null values are empty cells.
use std::io;

use serde_json::Value;

use super::{row_fields, METRIC_FIELDS};
use crate::view::Snapshot;

/// Writes `snap`'s rows as CSV.
pub fn write(snap: &Snapshot, out: &mut dyn io::Write) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    let header: Vec<String> = ["local", "peer"]
        .iter()
        .flat_map(|side| snap.group_by.iter().map(move |d| format!("{side}_{d}")))
        .chain(METRIC_FIELDS.iter().map(|f| f.to_string()))
        .collect();
    w.write_record(&header)?;
    for row in &snap.rows {
        let cells = row_fields(snap, row).into_iter().map(|(_, v)| match v {
            Value::Null => String::new(),
            Value::String(s) => s,
            other => other.to_string(),
        });
        w.write_record(cells)?;
    }
    w.flush()
}
