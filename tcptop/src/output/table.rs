//! Table output: a summary line, then aligned columns with human-readable sizes. The
//! metric columns are those of the metric table marked for it.
use std::io;

use crate::view::{format::printable, metric::Metric, MetricId, Row, Snapshot};

/// Writes `snap` as an aligned table.
pub fn write(snap: &Snapshot, out: &mut dyn io::Write) -> io::Result<()> {
    writeln!(
        out,
        "node {}  kernel {}  window {:.1}s  rows {}  events dropped {}{}{}",
        printable(&snap.node),
        printable(&snap.kernel),
        snap.window_secs,
        snap.rows.len(),
        snap.events_dropped,
        if snap.events_lost > 0 {
            format!("  events LOST {}", snap.events_lost)
        } else {
            String::new()
        },
        if snap.rows_folded > 0 {
            format!("  rows folded into other {}", snap.rows_folded)
        } else {
            String::new()
        }
    )?;
    let live = snap.live_sampling_off.is_none();
    let metrics = MetricId::shown(|m: &Metric| m.table && (live || !m.live));
    let mut header: Vec<String> = ["LOCAL", "PEER"]
        .iter()
        .flat_map(|side| {
            snap.group_by
                .iter()
                .map(move |d| format!("{side}_{}", d.name().to_uppercase()))
        })
        .collect();
    header.extend(
        metrics
            .iter()
            .map(|m| m.metric().title.to_uppercase().replace(' ', "_")),
    );
    let keys = snap.group_by.len() * 2;
    let lines: Vec<Vec<String>> = snap.rows.iter().map(|r| cells(r, &metrics)).collect();
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

fn cells(row: &Row, metrics: &[MetricId]) -> Vec<String> {
    row.local
        .iter()
        .chain(row.peer.iter())
        .map(|v| printable(v).into_owned())
        .chain(
            metrics
                .iter()
                .map(|m| m.metric().unit.format(m.value(&row.stats))),
        )
        .collect()
}
