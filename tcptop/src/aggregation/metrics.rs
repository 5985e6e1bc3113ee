//! The counters of one row.
use crate::collector::{CloseEvent, FoldedTotals, RtoCounters};

use super::histogram::SrttHistogram;

/// Sums over the sockets of one row, and their srtt samples.
#[derive(Clone, Debug, Default)]
pub struct Metrics {
    /// Closed connections that had been established or accepted.
    pub connections: u64,
    /// Connects that never completed (SYN_SENT -> CLOSE).
    pub failed_connects: u64,
    /// Bytes sent, retransmissions included.
    pub bytes_sent: u64,
    /// Bytes received.
    pub bytes_received: u64,
    /// Segments retransmitted.
    pub retransmits: u64,
    /// Segments marked lost.
    pub lost: u64,
    /// RTO counters; `None` where the kernel lacks them.
    pub rto: Option<RtoCounters>,
    /// srtt of each connection that measured one.
    pub srtt: SrttHistogram,
}

impl Metrics {
    /// Adds one closed socket.
    pub fn add_event(&mut self, e: &CloseEvent) {
        if e.failed_connect {
            self.failed_connects += 1;
        } else {
            self.connections += 1;
            self.srtt.record(e.srtt_us);
        }
        self.add_counters(e.bytes_sent, e.bytes_received, e.retransmits, e.lost, e.rto);
    }

    /// Adds folded overflow totals (no srtt samples: that detail is lost).
    pub fn add_folded(&mut self, f: &FoldedTotals) {
        self.failed_connects += f.failed_connects;
        self.connections += f.records - f.failed_connects.min(f.records);
        self.add_counters(f.bytes_sent, f.bytes_received, f.retransmits, f.lost, f.rto);
    }

    fn add_counters(
        &mut self,
        tx: u64,
        rx: u64,
        retrans: u64,
        lost: u64,
        rto: Option<RtoCounters>,
    ) {
        self.bytes_sent += tx;
        self.bytes_received += rx;
        self.retransmits += retrans;
        self.lost += lost;
        if let Some(r) = rto {
            *self.rto.get_or_insert_with(RtoCounters::default) += r;
        }
    }

    /// Adds another row's metrics into this one.
    pub fn merge(&mut self, o: &Metrics) {
        self.connections += o.connections;
        self.failed_connects += o.failed_connects;
        self.add_counters(o.bytes_sent, o.bytes_received, o.retransmits, o.lost, o.rto);
        self.srtt.merge(&o.srtt);
    }

    /// Bytes in both directions.
    pub fn bytes(&self) -> u64 {
        self.bytes_sent + self.bytes_received
    }
}
