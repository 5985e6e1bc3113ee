//! CSV output: a header line, then one line per row, with the JSON row fields as
//! columns. Null values are empty cells.
use std::io;

use serde_json::Value;

use super::fields::{field_names, row_fields};
use crate::view::Snapshot;

/// Writes `snap`'s rows as CSV.
pub fn write(snap: &Snapshot, out: &mut dyn io::Write) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(field_names(snap))?;
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
