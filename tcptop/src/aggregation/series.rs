//! Cumulative totals per label set, for a Prometheus scrape: counters that only grow,
//! and an srtt histogram with fixed buckets. At most `cap` label sets are kept; once
//! the cap is reached, new label sets fold into one [`OTHER`] set, so the series that
//! exist keep growing and never vanish, and the records folded are counted.
use std::collections::HashMap;

use super::{
    dimension::Dimension,
    group::{GroupKey, OTHER},
};
use crate::{
    attribution::{AttributedClose, Item},
    collector::Counters,
};

/// How srtt samples are bucketed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Seconds, with upper bounds from 100 us to 2.5 s ([`SECONDS_BOUNDS_US`]) and a
    /// last bucket above them.
    Seconds,
    /// ebpf_exporter's exp2 buckets 0 to 11 over whole milliseconds: a sample of `ms`
    /// milliseconds falls in bucket `floor(log2(ms))` (0 for 0 and 1), at most 11; a
    /// bucket `i` reads `le=2^i`, and the sum is of milliseconds.
    Exp2Millis,
}

/// Upper bounds of [`Layout::Seconds`], in microseconds.
pub const SECONDS_BOUNDS_US: [u64; 14] = [
    100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
    1_000_000, 2_500_000,
];

/// The highest exp2 bucket of [`Layout::Exp2Millis`].
pub const EXP2_MAX: u32 = 11;

impl Layout {
    /// Buckets kept per histogram.
    pub fn buckets(self) -> usize {
        match self {
            Layout::Seconds => SECONDS_BOUNDS_US.len() + 1,
            Layout::Exp2Millis => EXP2_MAX as usize + 1,
        }
    }

    /// The bucket of an srtt of `us` microseconds, and what it adds to the sum.
    pub fn place(self, us: u64) -> (usize, u64) {
        match self {
            Layout::Seconds => (SECONDS_BOUNDS_US.partition_point(|&b| b < us), us),
            Layout::Exp2Millis => {
                let ms = us / 1000;
                let log2 = ms.checked_ilog2().unwrap_or(0).min(EXP2_MAX);
                (log2 as usize, ms)
            }
        }
    }

    /// The upper bound of bucket `i` in the exposition's unit; `None` for the last
    /// bucket of [`Layout::Seconds`], which has none (`+Inf`).
    pub fn bound(self, i: usize) -> Option<f64> {
        match self {
            Layout::Seconds => SECONDS_BOUNDS_US.get(i).map(|&us| us as f64 / 1e6),
            Layout::Exp2Millis => Some(f64::from(1u32 << i)),
        }
    }

    /// The sum in the exposition's unit.
    pub fn sum(self, raw: u64) -> f64 {
        match self {
            Layout::Seconds => raw as f64 / 1e6,
            Layout::Exp2Millis => raw as f64,
        }
    }
}

/// srtt samples in fixed buckets: per-bucket counts, their number and their sum.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Buckets {
    /// Samples per bucket (not cumulative).
    pub counts: Box<[u64]>,
    /// Samples.
    pub count: u64,
    /// Their sum, in the layout's sum unit (us or ms).
    pub sum: u64,
}

impl Buckets {
    fn new(layout: Layout) -> Self {
        Self {
            counts: vec![0; layout.buckets()].into(),
            count: 0,
            sum: 0,
        }
    }

    fn record(&mut self, layout: Layout, us: u64) {
        let (i, add) = layout.place(us);
        self.counts[i] += 1;
        self.count += 1;
        self.sum += add;
    }
}

/// The totals of one label set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Series {
    /// Summed counters.
    pub counters: Counters,
    /// srtt of each established connection, at its close.
    pub srtt: Buckets,
}

/// Which records a store takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every record.
    All,
    /// IPv4 connections only, as ebpf_exporter's `tcp_ipv4_*` counted.
    Ipv4,
}

/// Cumulative totals keyed by the grouped dimensions, at most `cap` label sets (the
/// [`OTHER`] one included).
#[derive(Clone, Debug)]
pub struct SeriesStore {
    group_by: Vec<Dimension>,
    layout: Layout,
    scope: Scope,
    cap: usize,
    series: HashMap<GroupKey, Series>,
    folded: u64,
}

impl SeriesStore {
    /// An empty store grouping by `group_by`, bucketing srtt by `layout`, taking the
    /// records of `scope`, keeping at most `cap` label sets (at least 2).
    pub fn new(group_by: Vec<Dimension>, layout: Layout, scope: Scope, cap: usize) -> Self {
        Self {
            group_by,
            layout,
            scope,
            cap: cap.max(2),
            series: HashMap::new(),
            folded: 0,
        }
    }

    /// The grouped dimensions.
    pub fn group_by(&self) -> &[Dimension] {
        &self.group_by
    }

    /// The srtt layout.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// Takes an item: a close, folded totals or live activity adds to its label set.
    pub fn add(&mut self, item: &Item) {
        let (key, counters, srtt) = match item {
            Item::Close(c) => (self.key_of_close(c), c.event.counters, close_srtt(c)),
            Item::Folded(f) => (
                self.in_scope(f.totals.local.is_ipv4()).then(|| {
                    GroupKey::new(
                        &self.group_by,
                        (f.totals.local, &f.local),
                        (f.totals.peer, &f.peer),
                    )
                }),
                f.totals.counters,
                None,
            ),
            Item::Live(l) => (
                self.in_scope(l.delta.local.is_ipv4()).then(|| {
                    GroupKey::new(
                        &self.group_by,
                        (l.delta.local.ip(), &l.local),
                        (l.delta.peer.ip(), &l.peer),
                    )
                }),
                l.delta.counters,
                None,
            ),
            Item::Gone(_) | Item::Pass(_) | Item::Drops(_) => return,
        };
        let Some(key) = key else { return };
        let layout = self.layout;
        let s = self.entry(key);
        s.counters += counters;
        if let Some(us) = srtt {
            s.srtt.record(layout, us);
        }
    }

    fn in_scope(&self, ipv4: bool) -> bool {
        self.scope == Scope::All || ipv4
    }

    fn key_of_close(&self, c: &AttributedClose) -> Option<GroupKey> {
        self.in_scope(c.event.local.is_ipv4()).then(|| {
            GroupKey::new(
                &self.group_by,
                (c.event.local.ip(), &c.local),
                (c.event.peer.ip(), &c.peer),
            )
        })
    }

    /// Whether `key` has, or may have, a label set of its own.
    fn kept(&self, key: &GroupKey) -> bool {
        self.series.contains_key(key) || self.series.len() + 1 < self.cap
    }

    fn entry(&mut self, key: GroupKey) -> &mut Series {
        let key = if self.kept(&key) {
            key
        } else {
            self.folded += 1;
            self.other_key()
        };
        self.slot(key)
    }

    fn slot(&mut self, key: GroupKey) -> &mut Series {
        let layout = self.layout;
        self.series.entry(key).or_insert_with(|| Series {
            counters: Counters::default(),
            srtt: Buckets::new(layout),
        })
    }

    /// The key every end of which reads [`OTHER`].
    pub fn other_key(&self) -> GroupKey {
        let other: std::sync::Arc<str> = OTHER.into();
        let n = self.group_by.len();
        GroupKey {
            local: vec![other.clone(); n].into(),
            peer: vec![other; n].into(),
        }
    }

    /// Records that went into the [`OTHER`] set because the cap was reached.
    pub fn folded(&self) -> u64 {
        self.folded
    }

    /// The most label sets kept.
    pub fn cap(&self) -> usize {
        self.cap
    }

    /// The label sets, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&GroupKey, &Series)> {
        self.series.iter()
    }

    /// Number of label sets.
    pub fn len(&self) -> usize {
        self.series.len()
    }

    /// True when nothing was added.
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// Open sockets per label set, from `counts` per row of this grouping: a row
    /// with room gets a label set of its own, the rest are summed under [`OTHER`].
    pub fn gauge(&mut self, counts: HashMap<GroupKey, u64>) -> HashMap<GroupKey, u64> {
        let mut out = HashMap::new();
        for (k, n) in counts {
            let k = if self.kept(&k) {
                self.slot(k.clone());
                k
            } else {
                self.other_key()
            };
            *out.entry(k).or_default() += n;
        }
        out
    }
}

/// The srtt a close adds to the histogram: an established connection's, when it
/// measured one.
fn close_srtt(c: &AttributedClose) -> Option<u64> {
    (!c.event.failed_connect() && c.event.srtt_us > 0).then_some(u64::from(c.event.srtt_us))
}

#[cfg(test)]
mod tests;
