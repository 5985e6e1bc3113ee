//! The rows a level shows: the focused table (or the connection ring), narrowed by the
//! text filter and sorted. Built afresh for every frame and key; pure.
use std::{fmt::Write, net::SocketAddr};

use super::model::{Conn, Depth, Mode, Selected, View};
use crate::{
    aggregation::{Dimension, GroupKey, OpenSocket},
    view::{self, live::Ledger, RowStats, TableSpec},
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
    /// the text filter `needle`. The ledger must be focused on the level and refreshed.
    pub fn build(
        level: &Depth,
        mode: Mode,
        spec: &TableSpec,
        needle: &str,
        ledger: &'a Ledger,
    ) -> Self {
        let needle = needle.trim();
        match &level.view {
            View::Pairs(_) => {
                let table = ledger.table(mode.period());
                let passing = table.rows().filter(|(k, _)| {
                    needle.is_empty()
                        || k.local
                            .iter()
                            .chain(k.peer.iter())
                            .any(|v| contains(v, needle))
                });
                Listing::Pairs {
                    dims: table.group_by(),
                    rows: view::sorted(passing, spec),
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
