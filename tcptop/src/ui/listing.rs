//! The rows a level shows: the focused table (or the connection ring), narrowed by the
//! text filter and sorted. Built afresh for every frame and key, but the pairs' sorted
//! [`Order`] is kept until their table, the sort or the text filter changes; pure.
use std::{fmt::Write, net::SocketAddr};

use super::model::{Conn, Depth, Mode, Selected, View};
use crate::{
    aggregation::{Dimension, GroupKey, OpenSocket},
    view::{
        self,
        live::{Ledger, LiveTable},
        RowStats, TableSpec,
    },
};

/// The rows of the level shown.
pub enum Listing<'a> {
    /// Pairs of a grouping.
    Pairs {
        /// The grouped dimensions.
        dims: &'a [Dimension],
        /// Sorted rows that pass the text filter.
        rows: Vec<(&'a GroupKey, &'a RowStats)>,
        /// Rows before the text filter.
        unfiltered: usize,
    },
    /// Open sockets, busiest first, then recent closes, newest first.
    Conns {
        /// Connections of this level that pass the text filter.
        rows: Vec<Conn<'a>>,
        /// Connections of this level before the text filter.
        unfiltered: usize,
    },
}

impl<'a> Listing<'a> {
    /// The rows `level` shows from `ledger` in `mode`, sorted by `spec` and narrowed by
    /// the text filter `needle`, in `order` when it still applies. The ledger must be
    /// focused on the level and refreshed.
    pub fn build(
        level: &Depth,
        mode: Mode,
        spec: &TableSpec,
        needle: &str,
        ledger: &'a Ledger,
        order: &mut Order,
    ) -> Self {
        let needle = needle.trim();
        match &level.view {
            View::Pairs(_) => {
                let table = ledger.table(mode.period());
                Listing::Pairs {
                    dims: table.group_by(),
                    rows: order.rows(table, spec, needle),
                    unfiltered: table.len(),
                }
            }
            View::Conns => {
                let mut open: Vec<&OpenSocket> = ledger
                    .open()
                    .iter()
                    .filter(|o| level.filter.matches_live(&o.last))
                    .collect();
                open.sort_unstable_by_key(|o| {
                    (std::cmp::Reverse(o.total.bytes()), o.last.delta.id)
                });
                let closed = ledger
                    .recent()
                    .newest_first()
                    .filter(|c| level.filter.matches(&c.close));
                let all: Vec<Conn> = open
                    .into_iter()
                    .map(Conn::Open)
                    .chain(closed.map(Conn::Closed))
                    .collect();
                let unfiltered = all.len();
                let mut text = String::new();
                let rows = all
                    .into_iter()
                    .filter(|c| needle.is_empty() || conn_matches(c, needle, &mut text))
                    .collect();
                Listing::Conns { rows, unfiltered }
            }
        }
    }

    /// No rows: what an action that does not read the rows is applied with.
    pub fn empty() -> Self {
        Listing::Conns {
            rows: Vec::new(),
            unfiltered: 0,
        }
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        match self {
            Listing::Pairs { rows, .. } => rows.len(),
            Listing::Conns { rows, .. } => rows.len(),
        }
    }

    /// True without rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Rows before the text filter.
    pub fn unfiltered(&self) -> usize {
        match self {
            Listing::Pairs { unfiltered, .. } | Listing::Conns { unfiltered, .. } => *unfiltered,
        }
    }

    /// The identity of row `i`.
    pub fn selected(&self, i: usize) -> Option<Selected> {
        match self {
            Listing::Pairs { rows, .. } => rows.get(i).map(|(k, _)| Selected::Pair((*k).clone())),
            Listing::Conns { rows, .. } => rows.get(i).map(Conn::selected),
        }
    }

    /// Where row `sel` is now.
    pub fn position(&self, sel: &Selected) -> Option<usize> {
        match (self, sel) {
            (Listing::Pairs { rows, .. }, Selected::Pair(key)) => {
                rows.iter().position(|(k, _)| *k == key)
            }
            (Listing::Conns { rows, .. }, sel) => rows.iter().position(|c| c.is(sel)),
            _ => None,
        }
    }

    /// The connection `sel` names, if it is shown.
    pub fn conn(&self, sel: &Selected) -> Option<Conn<'a>> {
        match self {
            Listing::Conns { rows, .. } => rows.iter().find(|c| c.is(sel)).copied(),
            Listing::Pairs { .. } => None,
        }
    }
}

/// The sorted order of the pairs last listed, as positions in their table's
/// [`LiveTable::rows`]. It is kept while the table's generation, the sort and the text
/// filter stay the same, so that an idle frame does not sort again (about 20 ms at
/// 100,000 rows); any change of data, focus, period or copy is a new generation.
#[derive(Debug, Default)]
pub struct Order {
    /// The table generation, sort and text filter the positions were sorted for.
    made_for: Option<(u64, TableSpec, String)>,
    /// Positions of the rows that pass the text filter, sorted.
    positions: Vec<usize>,
}

impl Order {
    /// The rows of `table` that pass `needle`, sorted by `spec`: sorted again only when
    /// what the order was made for changed.
    fn rows<'a>(
        &mut self,
        table: &'a LiveTable,
        spec: &TableSpec,
        needle: &str,
    ) -> Vec<(&'a GroupKey, &'a RowStats)> {
        let all: Vec<_> = table.rows().collect();
        let generation = table.generation();
        let fresh = matches!(&self.made_for,
            Some((g, s, n)) if *g == generation && s == spec && n == needle);
        if !fresh {
            let passing = all
                .iter()
                .enumerate()
                .filter(|(_, (k, _))| key_matches(k, needle))
                .map(|(i, (k, s))| (*k, *s, i));
            self.positions = view::order(passing, spec);
            self.made_for = Some((generation, spec.clone(), needle.to_owned()));
        }
        self.positions
            .iter()
            .filter_map(|&i| all.get(i).copied())
            .collect()
    }
}

/// True when `needle` is empty or any of `key`'s values contains it.
fn key_matches(key: &GroupKey, needle: &str) -> bool {
    needle.is_empty()
        || key
            .local
            .iter()
            .chain(key.peer.iter())
            .any(|v| contains(v, needle))
}

/// Case-insensitive substring test without allocating.
pub fn contains(hay: &str, needle: &str) -> bool {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    n.len() <= h.len() && h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
}

/// True when any of a connection's texts (addresses, owners, state) contains `needle`.
fn conn_matches(c: &Conn, needle: &str, text: &mut String) -> bool {
    let addr = |text: &mut String, a: SocketAddr| {
        text.clear();
        let _ = write!(text, "{a}");
        contains(text, needle)
    };
    let (local, peer) = c.owners();
    addr(text, c.local())
        || addr(text, c.peer())
        || contains(c.state(), needle)
        || c.direction().is_some_and(|d| contains(d, needle))
        || [local, peer].iter().any(|o| {
            [&o.namespace, &o.pod, &o.node, &o.az]
                .iter()
                .any(|v| contains(v, needle))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{aggregation::KeyFilter, testdata::fixture, view::MetricId};

    /// The pairs listed, owned.
    fn owned(l: &Listing) -> Vec<(GroupKey, RowStats)> {
        match l {
            Listing::Pairs { rows, .. } => rows
                .iter()
                .map(|(k, s)| ((*k).clone(), (*s).clone()))
                .collect(),
            Listing::Conns { .. } => Vec::new(),
        }
    }

    #[test]
    fn the_kept_order_follows_new_data_sort_and_filter() {
        let (header, items) = fixture();
        let dims = [Dimension::Namespace, Dimension::Az];
        let level = Depth::new(View::Pairs(dims.to_vec()), KeyFilter::all(), String::new());
        let mut ledger = Ledger::new(header.known(), &dims, 100, usize::MAX);
        let (first, rest) = items.split_at(items.len() / 2);
        let feed = |ledger: &mut Ledger,
                    items: &[(std::time::Duration, crate::attribution::Item)]| {
            for (t, item) in items {
                ledger.add(item.clone(), *t);
            }
            ledger.refresh(Mode::Totals.period());
        };
        feed(&mut ledger, first);
        let mut spec = TableSpec::default();
        let mut kept = Order::default();
        let build = |l: &Ledger, spec: &TableSpec, needle: &str, order: &mut Order| {
            owned(&Listing::build(
                &level,
                Mode::Totals,
                spec,
                needle,
                l,
                order,
            ))
        };
        let before = build(&ledger, &spec, "", &mut kept);
        assert_eq!(build(&ledger, &spec, "", &mut kept), before);
        feed(&mut ledger, rest);
        let after = build(&ledger, &spec, "", &mut kept);
        assert_ne!(after, before, "new data must show");
        assert_eq!(after, build(&ledger, &spec, "", &mut Order::default()));
        spec.sort = MetricId::all().nth(1).unwrap_or(MetricId::BYTES);
        spec.descending = false;
        let resorted = build(&ledger, &spec, "", &mut kept);
        assert_ne!(resorted, after);
        assert_eq!(resorted, build(&ledger, &spec, "", &mut Order::default()));
        let filtered = build(&ledger, &spec, "a", &mut kept);
        assert_eq!(filtered, build(&ledger, &spec, "a", &mut Order::default()));
        // A copy (the pause's) lists the same rows.
        let copy = ledger.clone();
        assert_eq!(build(&copy, &spec, "a", &mut kept), filtered);
    }
}
