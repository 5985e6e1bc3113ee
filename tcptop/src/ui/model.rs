//! The UI's shared vocabulary: what a level shows, what is selected, rates or totals,
//! and how a pair is named. A leaf: every other UI module may import it.
use crate::{
    aggregation::{Dimension, GroupKey, KeyFilter},
    view::live::Period,
};

/// Numbers for the last interval, per second, or totals since start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Per second over the last interval.
    Rates,
    /// Since start.
    Totals,
}

impl Mode {
    /// The ledger period this mode reads.
    pub fn period(self) -> Period {
        match self {
            Mode::Rates => Period::Last,
            Mode::Totals => Period::Total,
        }
    }
}

/// What a level of the drill-down shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum View {
    /// Pairs grouped by these dimensions.
    Pairs(Vec<Dimension>),
    /// The most recent individual connections.
    Conns,
}

/// The row a level has selected, identified so that it survives re-sorting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selected {
    /// A pair, by key.
    Pair(GroupKey),
    /// A connection, by arrival number.
    Conn(u64),
}

/// One level of the drill-down stack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Depth {
    /// What it shows.
    pub view: View,
    /// Which connections it covers: the rows drilled into above it.
    pub filter: KeyFilter,
    /// The row drilled into to get here, as shown (empty at the top).
    pub crumb: String,
    /// The selected row's index in the listing.
    pub index: usize,
    /// The selected row.
    pub selected: Option<Selected>,
    /// The first row shown.
    pub offset: usize,
    /// The text filter this level had when a deeper one was opened; it comes back
    /// when the deeper one closes.
    pub saved_filter: String,
}

impl Depth {
    /// A level showing `view` of the connections passing `filter`, reached through the
    /// row named `crumb`.
    pub fn new(view: View, filter: KeyFilter, crumb: String) -> Self {
        Self {
            view,
            filter,
            crumb,
            index: 0,
            selected: None,
            offset: 0,
            saved_filter: String::new(),
        }
    }
}

/// A pair as the UI names it: `local → peer`, dimensions joined by `/`.
pub fn pair_label(key: &GroupKey) -> String {
    format!("{} → {}", join(&key.local), join(&key.peer))
}

/// One end's values joined by `/`.
pub fn join(values: &[std::sync::Arc<str>]) -> String {
    values.iter().map(|v| &**v).collect::<Vec<_>>().join("/")
}
