//! Rows keyed by the values of the grouped dimensions: [`GroupKey`] and [`Aggregator`].
use std::{
    hash::{Hash, Hasher},
    net::IpAddr,
    sync::Arc,
};

use hashbrown::{Equivalent, HashMap};

use super::{
    dimension::{Dimension, ValueRef},
    metrics::Metrics,
};
use crate::attribution::{AttributedClose, AttributedFolded, AttributedLive, Attribution, Item};

/// A `HashMap` keyed by [`GroupKey`]s, with foldhash: hashing the key's strings is
/// most of a row lookup, and SipHash took several times longer. hashbrown's, so that a
/// record finds its row by a borrowed [`KeyRef`], without building a key.
pub type KeyMap<V> = HashMap<GroupKey, V, foldhash::fast::RandomState>;

/// The key of one row: the grouped dimensions' values for the local and the peer end.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct GroupKey {
    /// Local values, one per grouped dimension.
    pub local: Box<[Arc<str>]>,
    /// Peer values, one per grouped dimension.
    pub peer: Box<[Arc<str>]>,
}

/// Hashes one value's text as [`GroupKey`] and [`KeyRef`] both do.
fn hash_text<H: Hasher>(s: &str, h: &mut H) {
    h.write(s.as_bytes());
    h.write_u8(0xff);
}

impl Hash for GroupKey {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.local
            .iter()
            .chain(self.peer.iter())
            .for_each(|v| hash_text(v, h));
    }
}

/// The key of a connection between two ends under a grouping, borrowed from the
/// record: equal to, and hashed as, the [`GroupKey`] [`KeyRef::to_key`] builds.
#[derive(Clone, Copy, Debug)]
pub struct KeyRef<'a> {
    dims: &'a [Dimension],
    local: (IpAddr, &'a Attribution),
    peer: (IpAddr, &'a Attribution),
}

impl<'a> KeyRef<'a> {
    /// The key of a connection between `local` and `peer` under the grouping `dims`.
    pub fn new(
        dims: &'a [Dimension],
        local: (IpAddr, &'a Attribution),
        peer: (IpAddr, &'a Attribution),
    ) -> Self {
        Self { dims, local, peer }
    }

    /// The owned key.
    pub fn to_key(&self) -> GroupKey {
        GroupKey::new(self.dims, self.local, self.peer)
    }

    /// The values of both ends, local first.
    fn values(&self) -> impl Iterator<Item = ValueRef<'_>> + '_ {
        let (l, p) = (self.local, self.peer);
        let local = self.dims.iter().map(move |d| d.value_ref(l.0, l.1));
        local.chain(self.dims.iter().map(move |d| d.value_ref(p.0, p.1)))
    }
}

impl Hash for KeyRef<'_> {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.values().for_each(|v| v.with_str(|s| hash_text(s, h)));
    }
}

impl Equivalent<GroupKey> for KeyRef<'_> {
    fn equivalent(&self, key: &GroupKey) -> bool {
        key.local.len() == self.dims.len()
            && key.peer.len() == self.dims.len()
            && self
                .values()
                .zip(key.local.iter().chain(key.peer.iter()))
                .all(|(v, k)| v.with_str(|s| s == &**k))
    }
}

/// A row's key, owned or borrowed: what a row map is looked up by.
pub trait RowKey: Hash + Equivalent<GroupKey> {
    /// The owned key, for a row map to keep.
    fn owned(&self) -> GroupKey;
}

impl RowKey for GroupKey {
    fn owned(&self) -> GroupKey {
        self.clone()
    }
}

impl RowKey for KeyRef<'_> {
    fn owned(&self) -> GroupKey {
        self.to_key()
    }
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

/// The default row limit (`--max-rows`): 50,000 rows of the finest grouping fit the
/// DaemonSet's 256 MiB with room to spare (see the README's memory figures).
pub const DEFAULT_MAX_ROWS: usize = 50_000;

/// The label of the row that folded rows go into, on both ends.
pub const OTHER: &str = "other";

/// A row and when it was last added to.
#[derive(Clone, Debug, Default)]
struct Slot {
    metrics: Metrics,
    touched: u64,
}

/// Rows keyed by the values of the grouped dimensions, at most `limit` of them: beyond
/// it, the rows idle longest fold into one row keyed [`OTHER`] on both ends, exactly
/// (their counters and samples move there), and are counted.
#[derive(Clone, Debug)]
pub struct Aggregator {
    group_by: Vec<Dimension>,
    groups: KeyMap<Slot>,
    limit: usize,
    clock: u64,
    folded: u64,
    pass_srtt: bool,
}

impl Aggregator {
    /// An empty aggregator grouping by `group_by`, without a row limit.
    pub fn new(group_by: Vec<Dimension>) -> Self {
        Self::with_limit(group_by, usize::MAX)
    }

    /// An empty aggregator grouping by `group_by` that keeps at most `limit` rows
    /// (at least 2: one of them is the [`OTHER`] row).
    pub fn with_limit(group_by: Vec<Dimension>, limit: usize) -> Self {
        Self {
            group_by,
            groups: KeyMap::default(),
            limit: limit.max(2),
            clock: 0,
            folded: 0,
            pass_srtt: false,
        }
    }

    /// This aggregator, recording the srtt of a live socket at every pass it was
    /// active in (the UI's per-interval view), instead of leaving live srtt to the
    /// caller (`--once` counts each socket once, with its latest srtt).
    pub fn with_pass_srtt(mut self) -> Self {
        self.pass_srtt = true;
        self
    }

    /// Whether live srtt is recorded at every active pass.
    pub fn pass_srtt(&self) -> bool {
        self.pass_srtt
    }

    /// The grouped dimensions.
    pub fn group_by(&self) -> &[Dimension] {
        &self.group_by
    }

    /// The most rows kept.
    pub fn limit(&self) -> usize {
        self.limit
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

    /// The key of the row folded rows go into.
    pub fn other_key(&self) -> GroupKey {
        let other: Arc<str> = Arc::from(OTHER);
        let n = self.group_by.len();
        GroupKey {
            local: vec![other.clone(); n].into(),
            peer: vec![other; n].into(),
        }
    }

    /// `f` of the row of a connection between `local` and `peer`: found without
    /// allocating where it exists, made (see [`Aggregator::entry`]) where not.
    fn with_row(
        &mut self,
        local: (IpAddr, &Attribution),
        peer: (IpAddr, &Attribution),
        f: impl FnOnce(&mut Metrics),
    ) {
        let r = KeyRef::new(&self.group_by, local, peer);
        if let Some(slot) = self.groups.get_mut(&r) {
            self.clock += 1;
            slot.touched = self.clock;
            return f(&mut slot.metrics);
        }
        let key = r.to_key();
        f(self.entry(key));
    }

    /// Adds one closed socket.
    pub fn add(&mut self, rec: &AttributedClose) {
        let (local, peer) = (rec.event.local.ip(), rec.event.peer.ip());
        self.with_row((local, &rec.local), (peer, &rec.peer), |m| {
            m.add_event(&rec.event)
        });
    }

    /// Adds the totals of records that overflowed the ring buffer.
    pub fn add_folded(&mut self, f: &AttributedFolded) {
        let (local, peer) = ((f.totals.local, &f.local), (f.totals.peer, &f.peer));
        self.with_row(local, peer, |m| m.add_folded(f));
    }

    /// The key a live socket's activity falls under.
    pub fn key_of_live(&self, l: &AttributedLive) -> GroupKey {
        GroupKey::new(
            &self.group_by,
            (l.delta.local.ip(), &l.local),
            (l.delta.peer.ip(), &l.peer),
        )
    }

    /// Adds a live socket's activity: its counters, and its srtt when it moved data
    /// and this aggregator records srtt at every pass ([`Aggregator::with_pass_srtt`]).
    pub fn add_live(&mut self, l: &AttributedLive) {
        let srtt = self.pass_srtt;
        let (local, peer) = (l.delta.local.ip(), l.delta.peer.ip());
        self.with_row((local, &l.local), (peer, &l.peer), |m| {
            m.add_live(&l.delta, srtt)
        });
    }

    /// Adds a close, folded totals or live activity; the rest are not rows.
    pub fn add_item(&mut self, item: &Item) {
        match item {
            Item::Close(c) => self.add(c),
            Item::Folded(f) => self.add_folded(f),
            Item::Live(l) => self.add_live(l),
            Item::Gone(_) | Item::Pass(_) | Item::Drops(_) => {}
        }
    }

    /// The metrics of row `key`, created empty when missing (folding idle rows first
    /// when the limit is reached). The key must be one of this grouping's (see
    /// [`Aggregator::key_of`]).
    pub fn entry(&mut self, key: GroupKey) -> &mut Metrics {
        self.clock += 1;
        if self.groups.len() >= self.limit && !self.groups.contains_key(&key) {
            self.fold_idle();
        }
        let slot = self.groups.entry(key).or_default();
        slot.touched = self.clock;
        &mut slot.metrics
    }

    /// Folds the eighth of the rows idle longest (at least one) into the [`OTHER`] row.
    fn fold_idle(&mut self) {
        let other = self.other_key();
        let mut ages: Vec<(u64, &GroupKey)> = self
            .groups
            .iter()
            .filter(|(k, _)| **k != other)
            .map(|(k, s)| (s.touched, k))
            .collect();
        // Room for the other row too, when it is new.
        let spare = usize::from(!self.groups.contains_key(&other));
        let n = (ages.len() / 8).max(1 + spare).min(ages.len());
        if n == 0 {
            return;
        }
        ages.select_nth_unstable(n - 1);
        let idle: Vec<GroupKey> = ages[..n].iter().map(|(_, k)| (*k).clone()).collect();
        let mut sum = Metrics::default();
        for k in &idle {
            if let Some(slot) = self.groups.remove(k) {
                sum.merge(&slot.metrics);
            }
        }
        self.folded += idle.len() as u64;
        self.groups.entry(other).or_default().metrics.merge(&sum);
    }

    /// Rows folded into the [`OTHER`] row so far (a row that comes back and is folded
    /// again counts again).
    pub fn folded(&self) -> u64 {
        self.folded
    }

    /// Adds a row's metrics under `key`.
    pub fn merge_row(&mut self, key: GroupKey, m: &Metrics) {
        self.entry(key).merge(m);
    }

    /// The metrics of row `key`, if it exists.
    pub fn get(&self, key: &GroupKey) -> Option<&Metrics> {
        self.groups.get(key).map(|s| &s.metrics)
    }

    /// Whether row `key` exists.
    pub fn contains(&self, key: &impl RowKey) -> bool {
        self.groups.contains_key(key)
    }

    /// The borrowed key of the row `item` falls under; `None` for items that are not
    /// rows.
    pub fn key_ref<'a>(&'a self, item: &'a Item) -> Option<KeyRef<'a>> {
        let dims = &self.group_by;
        Some(match item {
            Item::Close(c) => KeyRef::new(
                dims,
                (c.event.local.ip(), &c.local),
                (c.event.peer.ip(), &c.peer),
            ),
            Item::Folded(f) => {
                KeyRef::new(dims, (f.totals.local, &f.local), (f.totals.peer, &f.peer))
            }
            Item::Live(l) => KeyRef::new(
                dims,
                (l.delta.local.ip(), &l.local),
                (l.delta.peer.ip(), &l.peer),
            ),
            Item::Gone(_) | Item::Pass(_) | Item::Drops(_) => return None,
        })
    }

    /// The rows, in no particular order.
    pub fn groups(&self) -> impl Iterator<Item = (&GroupKey, &Metrics)> {
        self.groups.iter().map(|(k, s)| (k, &s.metrics))
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
