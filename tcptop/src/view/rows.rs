//! Sorted, cut tables of rows, and the snapshot of a finished window.
use std::{collections::HashMap, sync::Arc};

use super::{
    metric::MetricId,
    sockets::Socket,
    stats::{Known, RowStats},
};
use crate::{
    aggregation::{Aggregator, Dimension, GroupKey},
    collector::cost::Cost,
};

/// One display row: its key and its numbers.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// Local values of the grouped dimensions.
    pub local: Vec<Arc<str>>,
    /// Peer values of the grouped dimensions.
    pub peer: Vec<Arc<str>>,
    /// The numbers.
    pub stats: RowStats,
    /// Its sockets, where they were asked for (`--connections`).
    pub sockets: Vec<Socket>,
}

/// How to order and cut the rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableSpec {
    /// The metric to sort by.
    pub sort: MetricId,
    /// Largest first when true.
    pub descending: bool,
    /// Keep at most this many rows.
    pub top: Option<usize>,
}

impl Default for TableSpec {
    fn default() -> Self {
        Self {
            sort: MetricId::BYTES,
            descending: true,
            top: None,
        }
    }
}

/// A number that orders rows as `spec` sorts them, before ties go by key: missing
/// values sort lowest.
pub fn rank(spec: &TableSpec, s: &RowStats) -> u128 {
    let v = spec.sort.value(s).map_or(0, |v| u128::from(v.order()) + 1);
    if spec.descending {
        u128::MAX - v
    } else {
        v
    }
}

/// `rows` in `spec`'s order: by the sort metric, then by key, ascending; cut to
/// `spec.top`. Every sorted table, snapshot or UI, is ordered here.
pub fn sorted<'a>(
    rows: impl Iterator<Item = (&'a GroupKey, &'a RowStats)>,
    spec: &TableSpec,
) -> Vec<(&'a GroupKey, &'a RowStats)> {
    order(rows.map(|(k, s)| (k, s, (k, s))), spec)
}

/// The tags of `rows` (key, numbers, tag) in [`sorted`]'s order, cut to `spec.top`.
pub fn order<'a, T>(
    rows: impl Iterator<Item = (&'a GroupKey, &'a RowStats, T)>,
    spec: &TableSpec,
) -> Vec<T> {
    // Ranked in one sequential pass, then sorted on the rank; ties go by the key's
    // leading bytes, and only where those tie too by the whole key.
    let mut ranked: Vec<_> = rows
        .map(|(k, s, t)| (rank(spec, s), prefix(k), k, t))
        .collect();
    ranked.sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)).then_with(|| a.2.cmp(b.2)));
    if let Some(n) = spec.top {
        ranked.truncate(n);
    }
    ranked.into_iter().map(|(_, _, _, t)| t).collect()
}

/// The first 16 bytes of `key`'s first value, zero-padded, as a number: keys in this
/// number's order are in [`GroupKey`]'s order, or tie on it.
fn prefix(key: &GroupKey) -> u128 {
    let mut b = [0u8; 16];
    if let Some(v) = key.local.first() {
        let n = v.len().min(16);
        b[..n].copy_from_slice(&v.as_bytes()[..n]);
    }
    u128::from_be_bytes(b)
}

/// Builds the sorted rows of `agg`, of a source that knows `known`, with the open
/// sockets per row in `open`.
pub fn rows(
    agg: &Aggregator,
    spec: &TableSpec,
    known: Known,
    open: &HashMap<GroupKey, u64>,
) -> Vec<Row> {
    let stats: Vec<(&GroupKey, RowStats)> = agg
        .groups()
        .map(|(k, m)| {
            (
                k,
                RowStats::new(m, known, open.get(k).copied().unwrap_or(0)),
            )
        })
        .collect();
    sorted(stats.iter().map(|(k, s)| (*k, s)), spec)
        .into_iter()
        .map(|(k, stats)| Row {
            local: k.local.to_vec(),
            peer: k.peer.to_vec(),
            stats: stats.clone(),
            sockets: Vec::new(),
        })
        .collect()
}

/// A finished collection window, ready for an output format.
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    /// The node's name (hostname).
    pub node: String,
    /// The kernel release.
    pub kernel: String,
    /// Length of the collection window in seconds.
    pub window_secs: f64,
    /// The grouped dimensions.
    pub group_by: Vec<Dimension>,
    /// Records whose detail was lost (folded into an overflow map, or lost).
    pub events_dropped: u64,
    /// Records lost entirely, totals included (should be 0).
    pub events_lost: u64,
    /// Rows folded into the `other` row to stay within `--max-rows`.
    pub rows_folded: u64,
    /// Why open sockets were not sampled (only closed connections counted), or
    /// `None` when they were.
    pub live_sampling_off: Option<String>,
    /// tcptop's own cost over the window; `None` in a replay (no kernel).
    pub cost: Option<Cost>,
    /// Closed sockets not listed because the list was full, when rows list their
    /// sockets (`--connections`); `None` when they do not.
    pub sockets_dropped: Option<u64>,
    /// The rows.
    pub rows: Vec<Row>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(local: &str, peer: &str) -> GroupKey {
        GroupKey {
            local: vec![Arc::from(local)].into(),
            peer: vec![Arc::from(peer)].into(),
        }
    }

    #[test]
    fn ties_sort_by_the_whole_key() {
        // Equal ranks; prefixes of each other, alike past 16 bytes, and NUL bytes.
        let names = [
            "ab",
            "ab\0",
            "a",
            "",
            "team-00000000000-zz",
            "team-00000000000-aa",
            "team-00000000000",
            "zeta",
        ];
        let keys: Vec<GroupKey> = names
            .iter()
            .flat_map(|n| [key(n, "p2"), key(n, "p1")])
            .collect();
        let stats = RowStats::new(&crate::aggregation::Metrics::default(), Known::default(), 0);
        let got: Vec<&GroupKey> = sorted(keys.iter().map(|k| (k, &stats)), &TableSpec::default())
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        let mut want: Vec<&GroupKey> = keys.iter().collect();
        want.sort();
        assert_eq!(got, want);
    }
}
