//! Table output: a summary line, then aligned columns with human-readable sizes.
use std::io;

use humansize::{format_size, BINARY};

use crate::view::{Row, Snapshot};

/// Formats a byte count for people, e.g. `1.5 MiB`.
pub fn bytes(n: u64) -> String {
    format_size(n, BINARY)
}

/// Formats microseconds for people: `850us`, `12.3ms`, `1.20s`; `-` when missing.
pub fn micros(us: Option<u64>) -> String {
    match us {
        None => "-".into(),
        Some(v) if v < 1_000 => format!("{v}us"),
        Some(v) if v < 1_000_000 => format!("{:.1}ms", v as f64 / 1e3),
        Some(v) => format!("{:.2}s", v as f64 / 1e6),
    }
}

fn count(v: Option<u64>) -> String {
    v.map_or_else(|| "-".into(), |v| v.to_string())
}

/// Writes `snap` as an aligned table.
pub fn write(snap: &Snapshot, out: &mut dyn io::Write) -> io::Result<()> {
    writeln!(
        out,
        "node {}  kernel {}  window {:.1}s  rows {}  events dropped {}{}",
        snap.node,
        snap.kernel,
        snap.window_secs,
        snap.rows.len(),
        snap.events_dropped,
        if snap.events_lost > 0 {
            format!("  events LOST {}", snap.events_lost)
        } else {
            String::new()
        }
    )?;
    let mut header: Vec<String> = ["LOCAL", "PEER"]
        .iter()
        .flat_map(|side| {
            snap.group_by
                .iter()
                .map(move |d| format!("{side}_{}", d.name().to_uppercase()))
        })
        .collect();
    header.extend(
        [
            "CONNS", "FAILED", "TX", "RX", "RETRANS", "LOST", "RTO", "SRTT_P50", "SRTT_P99",
            "SRTT_MAX",
        ]
        .map(String::from),
    );
    let keys = snap.group_by.len() * 2;
    let lines: Vec<Vec<String>> = snap.rows.iter().map(cells).collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            lines
                .iter()
                .map(|l| l[i].chars().count())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    for line in std::iter::once(&header).chain(lines.iter()) {
        let mut text = String::new();
        for (i, cell) in line.iter().enumerate() {
            if i > 0 {
                text.push_str("  ");
            }
            // Keys align left, numbers right.
            if i < keys {
                text.push_str(&format!("{cell:<w$}", w = widths[i]));
            } else {
                text.push_str(&format!("{cell:>w$}", w = widths[i]));
            }
        }
        writeln!(out, "{}", text.trim_end())?;
    }
    Ok(())
}

fn cells(row: &Row) -> Vec<String> {
    let s = &row.stats;
    row.local
        .iter()
        .chain(row.peer.iter())
        .map(|v| v.to_string())
        .chain([
            s.connections.to_string(),
            s.failed_connects.to_string(),
            bytes(s.bytes_sent),
            bytes(s.bytes_received),
            s.retransmits.to_string(),
            s.lost.to_string(),
            count(s.rto),
            micros(s.srtt_p50_us),
            micros(s.srtt_p99_us),
            micros(s.srtt_max_us),
        ])
        .collect()
}
