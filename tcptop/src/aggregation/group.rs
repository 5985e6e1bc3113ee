//! Rows keyed by the values of the grouped dimensions: [`GroupKey`] and [`Aggregator`].
use std::{collections::HashMap, net::IpAddr, sync::Arc};

use super::{dimension::Dimension, metrics::Metrics};
use crate::attribution::{AttributedClose, AttributedFolded, Attribution, Item};

/// The key of one row: the grouped dimensions' values for the local and the peer end.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupKey {
    /// Local values, one per grouped dimension.
    pub local: Box<[Arc<str>]>,
    /// Peer values, one per grouped dimension.
    pub peer: Box<[Arc<str>]>,
}

impl GroupKey {
    /// The key of a connection between `local` and `peer` under the grouping `dims`.
    pub fn new(
        dims: &[Dimension],
        local: (IpAddr, &Attribution),
        peer: (IpAddr, &Attribution),
    ) -> Self {
        Self {
            local: dims.iter().map(|d| d.value(local.0, local.1)).collect(),
            peer: dims.iter().map(|d| d.value(peer.0, peer.1)).collect(),
        }
    }
}

/// Rows keyed by the values of the grouped dimensions.
#[derive(Clone, Debug)]
pub struct Aggregator {
    group_by: Vec<Dimension>,
    groups: HashMap<GroupKey, Metrics>,
}

impl Aggregator {
    /// An empty aggregator grouping by `group_by`.
    pub fn new(group_by: Vec<Dimension>) -> Self {
        Self {
            group_by,
            groups: HashMap::new(),
        }
    }

    /// The grouped dimensions.
    pub fn group_by(&self) -> &[Dimension] {
        &self.group_by
    }

    /// The key `rec` falls under.
    pub fn key_of(&self, rec: &AttributedClose) -> GroupKey {
        GroupKey::new(
            &self.group_by,
            (rec.event.local.ip(), &rec.local),
            (rec.event.peer.ip(), &rec.peer),
        )
    }

    /// The key folded totals fall under.
    pub fn key_of_folded(&self, f: &AttributedFolded) -> GroupKey {
        GroupKey::new(
            &self.group_by,
            (f.totals.local, &f.local),
            (f.totals.peer, &f.peer),
        )
    }

    /// Adds one closed socket.
    pub fn add(&mut self, rec: &AttributedClose) {
        let key = self.key_of(rec);
        self.entry(key).add_event(&rec.event);
    }

    /// Adds the totals of records that overflowed the ring buffer.
    pub fn add_folded(&mut self, f: &AttributedFolded) {
        let key = self.key_of_folded(f);
        self.entry(key).add_counters(&f.totals.counters);
    }

    /// Adds a close or folded totals; drop counters are not rows.
    pub fn add_item(&mut self, item: &Item) {
        match item {
            Item::Close(c) => self.add(c),
            Item::Folded(f) => self.add_folded(f),
            Item::Drops(_) => {}
        }
    }

    /// The metrics of row `key`, created empty when missing. The key must be one of this
    /// grouping's (see [`Aggregator::key_of`]).
    pub fn entry(&mut self, key: GroupKey) -> &mut Metrics {
        self.groups.entry(key).or_default()
    }

    /// Adds a row's metrics under `key`, copying them when the row is new (much cheaper
    /// than merging a histogram into an empty one).
    pub fn merge_row(&mut self, key: GroupKey, m: &Metrics) {
        match self.groups.entry(key) {
            std::collections::hash_map::Entry::Occupied(mut o) => o.get_mut().merge(m),
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(m.clone());
            }
        }
    }

    /// The metrics of row `key`, if it exists.
    pub fn get(&self, key: &GroupKey) -> Option<&Metrics> {
        self.groups.get(key)
    }

    /// The rows, in no particular order.
    pub fn groups(&self) -> impl Iterator<Item = (&GroupKey, &Metrics)> {
        self.groups.iter()
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.groups.len()
    }

    /// True when nothing was added.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }
}
