//! The header's totals: sums over every record of a time span, kept as records arrive,
//! and the share of bytes that crossed availability zones.
use crate::{
    attribution::{Attribution, Item, UNKNOWN},
    collector::{Counters, DropCounters},
};

/// Totals of one time span.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Summary {
    /// Length of the span in seconds.
    pub secs: f64,
    /// The summed counters.
    pub counters: Counters,
    /// Bytes between two different known zones.
    pub cross_az_bytes: u64,
    /// Bytes whose two ends both have a known zone.
    pub zoned_bytes: u64,
    /// Records whose detail or whole self was lost in the span.
    pub drops: DropCounters,
}

impl Summary {
    /// Adds a close, folded totals or live activity; the rest are not sums.
    pub fn add(&mut self, item: &Item) {
        let (counters, local, peer) = match item {
            Item::Close(c) => (&c.event.counters, &c.local, &c.peer),
            Item::Folded(f) => (&f.totals.counters, &f.local, &f.peer),
            Item::Live(l) => (&l.delta.counters, &l.local, &l.peer),
            Item::Gone(_) | Item::Pass(_) | Item::Drops(_) => return,
        };
        self.counters += counters;
        self.add_zones(local, peer, counters.bytes());
    }

    fn add_zones(&mut self, local: &Attribution, peer: &Attribution, bytes: u64) {
        let (l, p) = (&*local.az, &*peer.az);
        if l != UNKNOWN && p != UNKNOWN {
            self.zoned_bytes = self.zoned_bytes.saturating_add(bytes);
            if l != p {
                self.cross_az_bytes = self.cross_az_bytes.saturating_add(bytes);
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
