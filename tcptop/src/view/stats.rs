//! The numbers of one row as the view shows them: its counters and srtt percentiles.
use crate::{aggregation::Metrics, collector::Counters};

/// One row's numbers, summarised.
#[derive(Clone, Debug, PartialEq)]
pub struct RowStats {
    /// The summed counters.
    pub counters: Counters,
    /// srtt median, us.
    pub srtt_p50_us: Option<u64>,
    /// srtt 90th percentile, us.
    pub srtt_p90_us: Option<u64>,
    /// srtt 99th percentile, us.
    pub srtt_p99_us: Option<u64>,
    /// srtt maximum, us.
    pub srtt_max_us: Option<u64>,
    /// Whether the kernel has RTO counters: without them they read as unknown.
    pub rto: bool,
}

impl RowStats {
    /// Summarises `m`. `rto` says whether the kernel has RTO counters.
    pub fn from_metrics(m: &Metrics, rto: bool) -> Self {
        Self {
            counters: m.counters,
            srtt_p50_us: m.srtt.quantile(0.5),
            srtt_p90_us: m.srtt.quantile(0.9),
            srtt_p99_us: m.srtt.quantile(0.99),
            srtt_max_us: m.srtt.max(),
            rto,
        }
    }
}
