//! The numbers of one row: its [`Counters`] and its srtt samples.
use crate::{
    attribution::AttributedFolded,
    collector::{live::LiveDelta, CloseEvent, Counters},
};

use crate::collector::histogram::SrttHistogram;

/// Sums over the sockets of one row, and their srtt samples.
#[derive(Clone, Debug, Default)]
pub struct Metrics {
    /// The summed counters.
    pub counters: Counters,
    /// srtt of each established connection that measured one.
    pub srtt: SrttHistogram,
}

impl Metrics {
    /// Adds one closed socket; failed connects carry no srtt.
    pub fn add_event(&mut self, e: &CloseEvent) {
        if !e.failed_connect() {
            self.srtt.record(e.srtt_us);
        }
        self.counters += e.counters;
    }

    /// Adds folded totals and the srtt samples they kept (the kernel's overflow keeps
    /// none, the daemon's history does).
    pub fn add_folded(&mut self, f: &AttributedFolded) {
        self.counters += f.totals.counters;
        self.srtt.merge(&f.srtt);
    }

    /// Adds a live socket's activity since its previous pass, and its srtt when `srtt`
    /// is set and it moved data.
    pub fn add_live(&mut self, d: &LiveDelta, srtt: bool) {
        self.counters += d.counters;
        if srtt && d.counters.bytes() > 0 {
            self.srtt.record(d.srtt_us);
        }
    }

    /// Adds another row's metrics into this one.
    pub fn merge(&mut self, o: &Metrics) {
        self.counters += o.counters;
        self.srtt.merge(&o.srtt);
    }
}
