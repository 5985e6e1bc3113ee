//! The view model: aggregated rows turned into a sorted, cut, display-ready table that
//! the snapshot outputs and the UI widgets draw. Pure logic, no I/O.
pub mod live;
pub mod sort;

use std::{cmp::Ordering, sync::Arc};

use crate::aggregation::{Aggregator, Dimension, GroupKey, Metrics};
pub use sort::SortColumn;

/// One row's numbers, summarised.
#[derive(Clone, Debug, PartialEq)]
pub struct RowStats {
    /// Established connections closed.
    pub connections: u64,
    /// Connects that failed.
    pub failed_connects: u64,
    /// Bytes sent.
    pub bytes_sent: u64,
    /// Bytes received.
    pub bytes_received: u64,
    /// Segments retransmitted.
    pub retransmits: u64,
    /// Segments marked lost.
    pub lost: u64,
    /// srtt median, us.
    pub srtt_p50_us: Option<u64>,
    /// srtt 90th percentile, us.
    pub srtt_p90_us: Option<u64>,
    /// srtt 99th percentile, us.
    pub srtt_p99_us: Option<u64>,
    /// srtt maximum, us.
    pub srtt_max_us: Option<u64>,
    /// RTO timeouts, where the kernel has them.
    pub rto: Option<u64>,
    /// RTO recoveries, where the kernel has them.
    pub rto_recoveries: Option<u64>,
    /// Milliseconds in RTO recovery, where the kernel has them.
    pub rto_time_ms: Option<u64>,
}

impl RowStats {
    /// Summarises `m`. `rto` says whether the kernel has RTO counters, so that a row
    /// without any RTO reads 0 rather than null there.
    pub fn from_metrics(m: &Metrics, rto: bool) -> Self {
        let r = m.rto.or(rto.then(Default::default));
        Self {
            connections: m.connections,
            failed_connects: m.failed_connects,
            bytes_sent: m.bytes_sent,
            bytes_received: m.bytes_received,
            retransmits: m.retransmits,
            lost: m.lost,
            srtt_p50_us: m.srtt.quantile(0.5),
            srtt_p90_us: m.srtt.quantile(0.9),
            srtt_p99_us: m.srtt.quantile(0.99),
            srtt_max_us: m.srtt.max(),
            rto: r.map(|r| r.timeouts),
            rto_recoveries: r.map(|r| r.recoveries),
            rto_time_ms: r.map(|r| r.time_ms),
        }
    }
}

/// The payload size a retransmitted segment is assumed to carry for RETR%: a full
/// segment on a 1500-byte Ethernet path with TCP timestamps.
pub const RETRANS_SEGMENT_BYTES: u64 = 1448;

impl RowStats {
    /// RETR%: the estimated share of bytes sent that were retransmissions, in percent:
    /// `retransmits x 1448 / bytes_sent x 100`. The kernel counts retransmitted segments
    /// and bytes sent (retransmissions included), not retransmitted bytes, so each
    /// retransmitted segment is taken as one full segment: traffic of small messages
    /// reads high, loopback (64 KiB segments) reads low. `None` without bytes sent.
    pub fn retrans_pct(&self) -> Option<f64> {
        (self.bytes_sent > 0).then(|| {
            self.retransmits as f64 * RETRANS_SEGMENT_BYTES as f64 * 100.0 / self.bytes_sent as f64
        })
    }
}

/// One display row: its key and its numbers.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// Local values of the grouped dimensions.
    pub local: Vec<Arc<str>>,
    /// Peer values of the grouped dimensions.
    pub peer: Vec<Arc<str>>,
    /// The numbers.
    pub stats: RowStats,
}

/// How to order and cut the rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableSpec {
    /// The column to sort by.
    pub sort: SortColumn,
    /// Largest first when true.
    pub descending: bool,
    /// Keep at most this many rows.
    pub top: Option<usize>,
}

impl Default for TableSpec {
    fn default() -> Self {
        Self {
            sort: SortColumn::Bytes,
            descending: true,
            top: None,
        }
    }
}

/// A number that orders rows as `spec` sorts them, before ties go by key: missing
/// values sort lowest.
pub fn rank(spec: &TableSpec, s: &RowStats) -> u128 {
    let v = spec.sort.key(s).map_or(0, |v| u128::from(v) + 1);
    if spec.descending {
        u128::MAX - v
    } else {
        v
    }
}

/// The order of two rows under `spec`: by the sort column, then by key, ascending.
pub fn compare(spec: &TableSpec, a: (&GroupKey, &RowStats), b: (&GroupKey, &RowStats)) -> Ordering {
    rank(spec, a.1)
        .cmp(&rank(spec, b.1))
        .then_with(|| a.0.cmp(b.0))
}

/// Builds the sorted rows of `agg`; ties go by key, ascending.
pub fn rows(agg: &Aggregator, spec: &TableSpec, rto: bool) -> Vec<Row> {
    let mut pairs: Vec<(&GroupKey, RowStats)> = agg
        .groups()
        .map(|(k, m)| (k, RowStats::from_metrics(m, rto)))
        .collect();
    pairs.sort_by(|(ka, a), (kb, b)| compare(spec, (ka, a), (kb, b)));
    if let Some(n) = spec.top {
        pairs.truncate(n);
    }
    pairs
        .into_iter()
        .map(|(k, stats)| Row {
            local: k.local.to_vec(),
            peer: k.peer.to_vec(),
            stats,
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
    /// Records whose detail was lost (folded into the overflow aggregate, or lost).
    pub events_dropped: u64,
    /// Records lost entirely, totals included (should be 0).
    pub events_lost: u64,
    /// The rows.
    pub rows: Vec<Row>,
}
