//! CSV output: a header line, then one line per row, with the JSON row fields as
//! columns. Null values are empty cells.
use std::io;

use super::fields::{field_names, row_values, Field};
use crate::view::{metric::Num, Snapshot};

/// Writes `snap`'s rows as CSV.
pub fn write(snap: &Snapshot, out: &mut dyn io::Write) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(field_names(snap))?;
    for row in &snap.rows {
        let cells = row_values(row).map(|v| match v {
            Field::Text(t) => t.to_string(),
            Field::Number(None) => String::new(),
            Field::Number(Some(Num::Int(n))) => n.to_string(),
            Field::Number(Some(Num::Real(x))) => x.to_string(),
        });
        w.write_record(cells)?;
    }
    w.flush()
}
