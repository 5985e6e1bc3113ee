//! JSON output: one document with the window's metadata and its rows.
use std::io;

use serde_json::{json, Value};

use super::fields::row_fields;
use crate::view::Snapshot;

/// Writes `snap` as one pretty-printed JSON document and a newline.
pub fn write(snap: &Snapshot, out: &mut dyn io::Write) -> io::Result<()> {
    let rows: Vec<Value> = snap
        .rows
        .iter()
        .map(|r| Value::Object(row_fields(snap, r)))
        .collect();
    let doc = json!({
        "node": snap.node,
        "kernel": snap.kernel,
        "window_secs": snap.window_secs,
        "group_by": snap.group_by.iter().map(|d| d.name()).collect::<Vec<_>>(),
        "events_dropped": snap.events_dropped,
        "events_lost": snap.events_lost,
        "rows_folded": snap.rows_folded,
        "rows": rows,
    });
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}
