//! JSON output: one document with the window's metadata and its rows, streamed row by
//! row.
use std::io;

use serde::{
    ser::{SerializeMap, SerializeSeq},
    Serialize, Serializer,
};

use super::{
    fields::{field_names, row_values},
    sockets::{entry, SocketFields},
};
use crate::{
    collector::cost::Cost,
    view::{Row, Snapshot},
};

/// The document.
struct Doc<'a>(&'a Snapshot);

/// tcptop's own cost over the window: BPF figures null while the kernel does not count
/// them (`kernel.bpf_stats_enabled` off).
struct CostFields<'a>(&'a Cost);

/// Its rows.
struct Rows<'a>(&'a Snapshot, &'a [String]);

/// One row, with the field names, and whether it lists its sockets.
struct RowFields<'a>(&'a Row, &'a [String], bool);

impl Serialize for Doc<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let snap = self.0;
        let names = field_names(snap);
        let group_by: Vec<&str> = snap.group_by.iter().map(|d| d.name()).collect();
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("node", &snap.node)?;
        m.serialize_entry("kernel", &snap.kernel)?;
        m.serialize_entry("window_secs", &snap.window_secs)?;
        m.serialize_entry("group_by", &group_by)?;
        m.serialize_entry("events_dropped", &snap.events_dropped)?;
        m.serialize_entry("events_lost", &snap.events_lost)?;
        m.serialize_entry("rows_folded", &snap.rows_folded)?;
        m.serialize_entry("live_sampling", &snap.live_sampling_off.is_none())?;
        m.serialize_entry("live_sampling_reason", &snap.live_sampling_off)?;
        m.serialize_entry("cost", &snap.cost.as_ref().map(CostFields))?;
        if let Some(n) = snap.sockets_dropped {
            m.serialize_entry("sockets_dropped", &n)?;
        }
        m.serialize_entry("rows", &Rows(snap, &names))?;
        m.end()
    }
}

impl Serialize for CostFields<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let c = self.0;
        let mut m = s.serialize_map(Some(4))?;
        m.serialize_entry("bpf_stats_enabled", &c.bpf.is_some())?;
        m.serialize_entry("bpf_run_count", &c.bpf.map(|b| b.run_count))?;
        m.serialize_entry("bpf_run_time_ns", &c.bpf.map(|b| b.run_time_ns))?;
        m.serialize_entry("cpu_secs", &c.cpu.map(|d| d.as_secs_f64()))?;
        m.end()
    }
}

impl Serialize for Rows<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.rows.len()))?;
        for row in &self.0.rows {
            seq.serialize_element(&RowFields(row, self.1, self.0.sockets_dropped.is_some()))?;
        }
        seq.end()
    }
}

impl Serialize for RowFields<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        for (name, value) in self.1.iter().zip(row_values(self.0)) {
            entry(&mut m, name, value)?;
        }
        if self.2 {
            let sockets: Vec<SocketFields> = self.0.sockets.iter().map(SocketFields).collect();
            m.serialize_entry("connections", &sockets)?;
        }
        m.end()
    }
}

/// Writes `snap` as one pretty-printed JSON document and a newline.
pub fn write(snap: &Snapshot, out: &mut dyn io::Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &Doc(snap))?;
    writeln!(out)
}
