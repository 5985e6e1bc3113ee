//! The numbers of one row as the view shows them: its counters, srtt percentiles and
//! open sockets, and which of them the source could know.
pub use crate::collector::Known;
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
    /// Sockets of the row open now (at the window's end).
    pub open: u64,
    /// What the source knows.
    pub known: Known,
}

impl RowStats {
    /// Summarises `m`, of a source that knows `known`, with `open` sockets open.
    pub fn new(m: &Metrics, known: Known, open: u64) -> Self {
        Self {
            counters: m.counters,
            srtt_p50_us: m.srtt.quantile(0.5),
            srtt_p90_us: m.srtt.quantile(0.9),
            srtt_p99_us: m.srtt.quantile(0.99),
            srtt_max_us: m.srtt.max(),
            open,
            known,
        }
    }

    /// Totals without srtt percentiles (a Prometheus label set's).
    pub fn totals(counters: Counters, open: u64, known: Known) -> Self {
        Self {
            counters,
            srtt_p50_us: None,
            srtt_p90_us: None,
            srtt_p99_us: None,
            srtt_max_us: None,
            open,
            known,
        }
    }

    /// True when the row did nothing in its span (a quiet row kept on screen).
    pub fn is_quiet(&self) -> bool {
        let c = &self.counters;
        c.closes() == 0 && c.bytes() == 0 && c.retransmits == 0 && c.opened == 0
    }
}
