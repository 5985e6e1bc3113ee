//! Sort columns: the names accepted by `--sort` and the order they impose.
use std::{cmp::Ordering, fmt, str::FromStr};

use super::RowStats;

/// A column rows can be sorted by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SortColumn {
    /// Bytes sent plus received (the default).
    Bytes,
    /// Connections.
    Connections,
    /// Failed connects.
    FailedConnects,
    /// Bytes sent.
    BytesSent,
    /// Bytes received.
    BytesReceived,
    /// Retransmits.
    Retransmits,
    /// Estimated share of bytes sent that were retransmitted (see
    /// [`RowStats::retrans_pct`]).
    RetransPct,
    /// Lost segments.
    Lost,
    /// srtt median.
    SrttP50,
    /// srtt p90.
    SrttP90,
    /// srtt p99.
    SrttP99,
    /// srtt maximum.
    SrttMax,
    /// RTO timeouts.
    Rto,
    /// RTO recoveries.
    RtoRecoveries,
    /// Time in RTO recovery.
    RtoTime,
}

impl SortColumn {
    /// Every column, in display order.
    pub const ALL: [SortColumn; 15] = [
        SortColumn::Bytes,
        SortColumn::Connections,
        SortColumn::FailedConnects,
        SortColumn::BytesSent,
        SortColumn::BytesReceived,
        SortColumn::Retransmits,
        SortColumn::RetransPct,
        SortColumn::Lost,
        SortColumn::SrttP50,
        SortColumn::SrttP90,
        SortColumn::SrttP99,
        SortColumn::SrttMax,
        SortColumn::Rto,
        SortColumn::RtoRecoveries,
        SortColumn::RtoTime,
    ];

    /// The name on the command line: the output field name, `bytes` or `retrans_pct`.
    pub fn name(self) -> &'static str {
        match self {
            SortColumn::Bytes => "bytes",
            SortColumn::Connections => "connections",
            SortColumn::FailedConnects => "failed_connects",
            SortColumn::BytesSent => "bytes_sent",
            SortColumn::BytesReceived => "bytes_received",
            SortColumn::Retransmits => "retransmits",
            SortColumn::RetransPct => "retrans_pct",
            SortColumn::Lost => "lost",
            SortColumn::SrttP50 => "srtt_p50_us",
            SortColumn::SrttP90 => "srtt_p90_us",
            SortColumn::SrttP99 => "srtt_p99_us",
            SortColumn::SrttMax => "srtt_max_us",
            SortColumn::Rto => "rto",
            SortColumn::RtoRecoveries => "rto_recoveries",
            SortColumn::RtoTime => "rto_time_ms",
        }
    }

    /// The value this column sorts by; missing values sort lowest.
    pub fn key(self, s: &RowStats) -> Option<u64> {
        match self {
            SortColumn::Bytes => Some(s.bytes_sent + s.bytes_received),
            SortColumn::Connections => Some(s.connections),
            SortColumn::FailedConnects => Some(s.failed_connects),
            SortColumn::BytesSent => Some(s.bytes_sent),
            SortColumn::BytesReceived => Some(s.bytes_received),
            SortColumn::Retransmits => Some(s.retransmits),
            // Parts per million keep the order of the percentages.
            SortColumn::RetransPct => s.retrans_pct().map(|p| (p * 1e4) as u64),
            SortColumn::Lost => Some(s.lost),
            SortColumn::SrttP50 => s.srtt_p50_us,
            SortColumn::SrttP90 => s.srtt_p90_us,
            SortColumn::SrttP99 => s.srtt_p99_us,
            SortColumn::SrttMax => s.srtt_max_us,
            SortColumn::Rto => s.rto,
            SortColumn::RtoRecoveries => s.rto_recoveries,
            SortColumn::RtoTime => s.rto_time_ms,
        }
    }

    /// Ascending order of two rows by this column.
    pub fn compare(self, a: &RowStats, b: &RowStats) -> Ordering {
        self.key(a).cmp(&self.key(b))
    }
}

impl fmt::Display for SortColumn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SortColumn {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SortColumn::ALL
            .into_iter()
            .find(|c| c.name() == s.trim())
            .ok_or_else(|| {
                let names: Vec<_> = SortColumn::ALL.iter().map(|c| c.name()).collect();
                format!("unknown sort column '{s}': use one of {}", names.join(", "))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for c in SortColumn::ALL {
            assert_eq!(c.name().parse::<SortColumn>().unwrap(), c);
        }
        assert!("nope"
            .parse::<SortColumn>()
            .unwrap_err()
            .contains("bytes_sent"));
    }
}
