//! The header's totals: sums over every row of a time span, and the share of bytes that
//! crossed availability zones.
use crate::{
    aggregation::{Dimension, FineAggregator},
    attribution::UNKNOWN,
    collector::{DropCounters, RtoCounters},
};

/// Totals of one time span.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Summary {
    /// Length of the span in seconds.
    pub secs: f64,
    /// Closed sockets: established connections and failed connects.
    pub closes: u64,
    /// Of those, failed connects.
    pub failed_connects: u64,
    /// Bytes sent plus received.
    pub bytes: u64,
    /// Segments retransmitted.
    pub retransmits: u64,
    /// Segments marked lost.
    pub lost: u64,
    /// RTO counters; `None` where the kernel lacks them.
    pub rto: Option<RtoCounters>,
    /// Bytes between two different known zones.
    pub cross_az_bytes: u64,
    /// Bytes whose two ends both have a known zone.
    pub zoned_bytes: u64,
    /// Records whose detail or whole self was lost in the span.
    pub drops: DropCounters,
}

impl Summary {
    /// Sums every row of `fine`. `rto` says whether the kernel has RTO counters.
    pub fn of(fine: &FineAggregator, drops: DropCounters, secs: f64, rto: bool) -> Self {
        let az = Dimension::Az.index();
        let mut s = Summary {
            secs,
            drops,
            rto: rto.then(RtoCounters::default),
            ..Default::default()
        };
        for (k, m) in fine.groups() {
            s.closes += m.connections + m.failed_connects;
            s.failed_connects += m.failed_connects;
            s.bytes += m.bytes();
            s.retransmits += m.retransmits;
            s.lost += m.lost;
            if let (Some(total), Some(r)) = (s.rto.as_mut(), m.rto) {
                *total += r;
            }
            let (l, p) = (&*k.local[az], &*k.peer[az]);
            if l != UNKNOWN && p != UNKNOWN {
                s.zoned_bytes += m.bytes();
                if l != p {
                    s.cross_az_bytes += m.bytes();
                }
            }
        }
        s
    }

    /// Percent of zoned bytes that crossed zones; `None` when no bytes had both zones.
    pub fn cross_az_pct(&self) -> Option<f64> {
        (self.zoned_bytes > 0).then(|| self.cross_az_bytes as f64 * 100.0 / self.zoned_bytes as f64)
    }

    /// `n` per second over the span.
    pub fn per_sec(&self, n: u64) -> f64 {
        if self.secs > 0.0 {
            n as f64 / self.secs
        } else {
            0.0
        }
    }
}
