//! One table of the focused grouping, fed record by record, whose row summaries are
//! recomputed only for rows that changed.
use std::{
    collections::HashMap,
    sync::atomic::{AtomicU64, Ordering},
};

use crate::{
    aggregation::{Aggregator, Dimension, GroupKey, KeyFilter, KeyMap, Metrics, RowKey},
    attribution::Item,
    view::stats::{Known, RowStats},
};

/// Rows of one grouping and filter, with cached [`RowStats`].
#[derive(Clone, Debug)]
pub struct LiveTable {
    agg: Aggregator,
    filter: KeyFilter,
    stats: KeyMap<Cached>,
    dirty: Vec<GroupKey>,
    all_dirty: bool,
    folded_seen: u64,
    open: HashMap<GroupKey, u64>,
    generation: Generation,
}

/// A number no other table's contents have had: taken anew whenever a table's listed
/// rows change, and by every copy, so that an order cached for one never applies to
/// another.
#[derive(Debug)]
struct Generation(u64);

/// The next [`Generation`]'s number.
static NEXT: AtomicU64 = AtomicU64::new(0);

impl Generation {
    fn next() -> Self {
        Self(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

impl Clone for Generation {
    fn clone(&self) -> Self {
        Self::next()
    }
}

/// A row's summary and whether it still matches the row's metrics.
#[derive(Clone, Debug)]
struct Cached {
    stats: RowStats,
    fresh: bool,
}

impl LiveTable {
    /// An empty table grouping by `dims`, taking only records that pass `filter`,
    /// keeping at most `limit` rows.
    pub fn new(dims: &[Dimension], filter: &KeyFilter, limit: usize) -> Self {
        let agg = Aggregator::with_limit(dims.to_vec(), limit).with_pass_srtt();
        Self::from_aggregator(agg, filter)
    }

    /// A table holding `agg`'s rows, which must already have passed `filter`.
    pub fn from_aggregator(agg: Aggregator, filter: &KeyFilter) -> Self {
        // Every row is new: the next refresh computes them all.
        Self {
            agg,
            filter: filter.clone(),
            stats: KeyMap::default(),
            dirty: Vec::new(),
            all_dirty: true,
            folded_seen: 0,
            open: HashMap::new(),
            generation: Generation::next(),
        }
    }

    /// Adds a close or folded totals, if they pass the filter.
    pub fn add(&mut self, item: &Item) {
        let passes = match item {
            Item::Close(c) => self.filter.matches(c),
            Item::Folded(f) => self.filter.matches_folded(f),
            Item::Live(l) => self.filter.matches_live(l),
            Item::Gone(_) | Item::Pass(_) | Item::Drops(_) => false,
        };
        if !passes {
            return;
        }
        // Borrowed, so that a record of an existing row allocates nothing.
        if let Some(key) = self.agg.key_ref(item) {
            let marks = Marks {
                stats: &mut self.stats,
                dirty: &mut self.dirty,
                all_dirty: &mut self.all_dirty,
            };
            marks.touch(&self.agg, &key);
        }
        self.agg.add_item(item);
    }

    /// Lists `key` with nothing in it if it is not a row: a quiet pair that stays on
    /// screen for a while.
    pub fn keep(&mut self, key: GroupKey) {
        if self.agg.get(&key).is_none() {
            self.touch(&key);
            self.agg.entry(key);
        }
    }

    /// Sets the open sockets per row (of this table's grouping; rows not passing the
    /// filter are left out): rows whose count changed are recomputed.
    pub fn set_open(&mut self, mut open: HashMap<GroupKey, u64>) {
        open.retain(|k, _| self.agg.get(k).is_some());
        for (k, n) in &open {
            if self.open.get(k) != Some(n) {
                self.touch(k);
            }
        }
        let gone: Vec<GroupKey> = self
            .open
            .keys()
            .filter(|k| !open.contains_key(*k))
            .cloned()
            .collect();
        gone.iter().for_each(|k| self.touch(k));
        self.open = open;
    }

    /// Marks `key` for recomputation, once. Its old summary stays until then, so a
    /// row never drops out of [`LiveTable::rows`] between refreshes.
    fn touch(&mut self, key: &GroupKey) {
        let marks = Marks {
            stats: &mut self.stats,
            dirty: &mut self.dirty,
            all_dirty: &mut self.all_dirty,
        };
        marks.touch(&self.agg, key);
    }

    /// Recomputes the summaries of rows that changed since the last call, for a source
    /// that knows `known`.
    pub fn refresh(&mut self, known: Known) {
        if self.all_dirty || !self.dirty.is_empty() || self.agg.folded() != self.folded_seen {
            self.generation = Generation::next();
        }
        let open = &self.open;
        let stats =
            |k: &GroupKey, m: &Metrics| RowStats::new(m, known, open.get(k).copied().unwrap_or(0));
        if self.agg.folded() != self.folded_seen {
            // Rows folded into `other` since: forget them, and refresh `other`.
            self.folded_seen = self.agg.folded();
            let agg = &self.agg;
            self.stats.retain(|k, _| agg.get(k).is_some());
            self.dirty.push(self.agg.other_key());
        }
        if std::mem::take(&mut self.all_dirty) {
            self.dirty.clear();
            self.stats = self
                .agg
                .groups()
                .map(|(k, m)| {
                    let stats = stats(k, m);
                    (k.clone(), Cached { stats, fresh: true })
                })
                .collect();
            return;
        }
        for key in self.dirty.drain(..) {
            if let Some(m) = self.agg.get(&key) {
                let stats = stats(&key, m);
                self.stats.insert(key, Cached { stats, fresh: true });
            }
        }
    }

    /// Every row with its summary as of the last [`LiveTable::refresh`]; rows new
    /// since then are not listed yet. They come in the same order while the
    /// [`LiveTable::generation`] stays the same.
    pub fn rows(&self) -> impl Iterator<Item = (&GroupKey, &RowStats)> {
        self.stats.iter().map(|(k, c)| (k, &c.stats))
    }

    /// Which contents [`LiveTable::rows`] lists: the same number means the same rows,
    /// summaries and order, in this table and in no other.
    pub fn generation(&self) -> u64 {
        self.generation.0
    }

    /// The summary of row `key`, as of the last refresh.
    pub fn stats(&self, key: &GroupKey) -> Option<&RowStats> {
        self.stats.get(key).map(|c| &c.stats)
    }

    /// The full metrics of row `key` (its srtt histogram included).
    pub fn metrics(&self, key: &GroupKey) -> Option<&Metrics> {
        self.agg.get(key)
    }

    /// The grouped dimensions.
    pub fn group_by(&self) -> &[Dimension] {
        self.agg.group_by()
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.agg.len()
    }

    /// True without rows.
    pub fn is_empty(&self) -> bool {
        self.agg.is_empty()
    }
}

/// The fields of a [`LiveTable`] that mark rows for recomputation, apart from its
/// aggregator, which a borrowed key borrows meanwhile.
struct Marks<'a> {
    stats: &'a mut KeyMap<Cached>,
    dirty: &'a mut Vec<GroupKey>,
    all_dirty: &'a mut bool,
}

impl Marks<'_> {
    /// Marks `key` of `agg` for recomputation, once.
    fn touch(self, agg: &Aggregator, key: &impl RowKey) {
        match self.stats.get_mut(key) {
            Some(c) if c.fresh => {
                c.fresh = false;
                self.dirty.push(key.owned());
            }
            Some(_) => {}
            None if !agg.contains(key) => self.dirty.push(key.owned()),
            None => {}
        }
        // A table nobody refreshes (the one not shown) must not queue keys without
        // bound: past one per row, every row is recomputed at the next refresh.
        if self.dirty.len() > agg.len().max(64) {
            self.dirty.clear();
            *self.all_dirty = true;
        }
    }
}
