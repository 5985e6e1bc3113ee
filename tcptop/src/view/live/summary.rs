//! The header's totals: sums over every record of a time span, kept as records arrive,
//! and the share of bytes that crossed availability zones.
use crate::{
    attribution::{AttributedClose, AttributedFolded, Attribution, UNKNOWN},
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
    /// Adds one closed socket.
    pub fn add_close(&mut self, c: &AttributedClose) {
        let e = &c.event;
        self.closes += 1;
        self.failed_connects += u64::from(e.failed_connect);
        self.add(
            e.bytes_sent + e.bytes_received,
            e.retransmits,
            e.lost,
            e.rto,
        );
        self.add_zones(&c.local, &c.peer, e.bytes_sent + e.bytes_received);
    }

    /// Adds folded overflow totals.
    pub fn add_folded(&mut self, f: &AttributedFolded) {
        let t = &f.totals;
        self.closes += t.records;
        self.failed_connects += t.failed_connects;
        self.add(
            t.bytes_sent + t.bytes_received,
            t.retransmits,
            t.lost,
            t.rto,
        );
        self.add_zones(&f.local, &f.peer, t.bytes_sent + t.bytes_received);
    }

    fn add(&mut self, bytes: u64, retransmits: u64, lost: u64, rto: Option<RtoCounters>) {
        self.bytes += bytes;
        self.retransmits += retransmits;
        self.lost += lost;
        if let Some(r) = rto {
            *self.rto.get_or_insert_with(RtoCounters::default) += r;
        }
    }

    fn add_zones(&mut self, local: &Attribution, peer: &Attribution, bytes: u64) {
        let (l, p) = (&*local.az, &*peer.az);
        if l != UNKNOWN && p != UNKNOWN {
            self.zoned_bytes += bytes;
            if l != p {
                self.cross_az_bytes += bytes;
            }
        }
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
