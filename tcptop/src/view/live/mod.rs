//! The live view model: everything the UI shows, kept up to date record by record.
//!
//! The [`Ledger`] keeps one [`FineAggregator`] per time span (since start, the interval
//! in progress, the last completed interval): any grouping or drill-down level rolls
//! up from them exactly. Only the focused level (one grouping and filter) is also kept
//! as [`LiveTable`]s fed on every record, so refreshing costs nothing for rows that did
//! not change. Regrouping rolls up only the table shown; the others roll up when first
//! shown. Pure logic: time is passed in.
pub mod recent;
pub mod summary;
pub mod table;

use std::time::Duration;

use std::collections::HashMap;

use crate::{
    aggregation::{project, Dimension, FineAggregator, GroupKey, KeyFilter, OpenSockets},
    attribution::Item,
    collector::DropCounters,
    view::stats::Known,
};

/// How long a pair that has gone quiet stays listed in the last interval's table.
pub const QUIET_KEPT: Duration = Duration::from_secs(60);
pub use recent::{Recent, RecentClose};
pub use summary::Summary;
pub use table::LiveTable;

/// Which period of time numbers cover.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Period {
    /// The last completed interval (shown as rates).
    Last,
    /// Everything since start.
    Total,
}

/// The live store behind the UI. Cloning it freezes what it shows (the UI's pause).
#[derive(Clone, Debug)]
pub struct Ledger {
    known: Known,
    limit: usize,
    open: OpenSockets,
    open_changed: bool,
    /// When each fine row was last active, for the quiet rows kept on screen.
    seen: HashMap<GroupKey, Duration>,
    fine_total: FineAggregator,
    fine_current: FineAggregator,
    fine_last: FineAggregator,
    dims: Vec<Dimension>,
    filter: KeyFilter,
    /// The focused tables; `None` until shown after a change of focus, when they roll
    /// up from their fine aggregator.
    total: Option<LiveTable>,
    current: Option<LiveTable>,
    last: Option<LiveTable>,
    /// What a table not rolled up yet shows: nothing.
    empty: LiveTable,
    /// The last interval's table does not list its quiet pairs yet: it will when shown.
    quiet_pending: bool,
    recent: Recent,
    sum_total: Summary,
    sum_current: Summary,
    sum_last: Summary,
    drops: DropCounters,
    drops_at_roll: DropCounters,
    drops_last: DropCounters,
    rolled_at: Duration,
    last_len: Duration,
}

impl Ledger {
    /// An empty ledger focused on `dims`, for a source that knows `known`; the
    /// connections ring keeps `recent` closes; every table keeps at most `limit` rows,
    /// idle ones folding into `other`.
    pub fn new(known: Known, dims: &[Dimension], recent: usize, limit: usize) -> Self {
        let filter = KeyFilter::all();
        Self {
            known,
            limit,
            open: OpenSockets::new(limit),
            open_changed: false,
            seen: HashMap::new(),
            fine_total: FineAggregator::with_limit(limit),
            fine_current: FineAggregator::with_limit(limit),
            fine_last: FineAggregator::with_limit(limit),
            dims: dims.to_vec(),
            total: Some(LiveTable::new(dims, &filter, limit)),
            current: Some(LiveTable::new(dims, &filter, limit)),
            last: Some(LiveTable::new(dims, &filter, limit)),
            empty: LiveTable::new(dims, &filter, 1),
            quiet_pending: false,
            filter,
            recent: Recent::new(recent),
            sum_total: Summary::default(),
            sum_current: Summary::default(),
            sum_last: Summary::default(),
            drops: DropCounters::default(),
            drops_at_roll: DropCounters::default(),
            drops_last: DropCounters::default(),
            rolled_at: Duration::ZERO,
            last_len: Duration::ZERO,
        }
    }

    /// A ledger of `items` alone, which span `span`, focused as this one is: a window
    /// of the daemon's history, shown as one completed interval.
    pub fn of_window(&self, items: Vec<Item>, span: Duration) -> Ledger {
        let mut l = Ledger::new(self.known, &self.dims, self.recent.capacity(), self.limit);
        l.set_focus(&self.dims, &self.filter);
        for item in items {
            l.add(item, Duration::ZERO);
        }
        l.roll(span);
        l
    }

    /// What the source knows.
    pub fn known(&self) -> Known {
        self.known
    }

    /// Sets what the source knows (once the collector is loaded).
    pub fn set_known(&mut self, known: Known) {
        self.known = known;
    }

    /// Takes one item that arrived at `at` on the source's clock.
    pub fn add(&mut self, item: Item, at: Duration) {
        match &item {
            Item::Drops(d) => {
                self.drops = *d;
                return;
            }
            Item::Gone(_) | Item::Pass(_) => {
                self.open.add(&item);
                self.open_changed = true;
                return;
            }
            Item::Live(_) => self.open_changed = true,
            Item::Close(c) if c.event.id.is_some() => self.open_changed = true,
            _ => {}
        }
        self.open.add(&item);
        self.sum_total.add(&item);
        self.sum_current.add(&item);
        self.fine_total.add_item(&item);
        self.fine_current.add_item(&item);
        for t in [&mut self.total, &mut self.current].into_iter().flatten() {
            t.add(&item);
        }
        if let Item::Close(c) = item {
            self.recent.push(c, at);
        }
    }

    /// Completes the interval in progress at `now`: it becomes the last interval.
    /// Pairs active within [`QUIET_KEPT`] stay listed in it, with nothing in them.
    pub fn roll(&mut self, now: Duration) {
        self.fine_last = std::mem::replace(
            &mut self.fine_current,
            FineAggregator::with_limit(self.limit),
        );
        for k in self.fine_last.keys() {
            self.seen.insert(k.clone(), now);
        }
        self.seen
            .retain(|_, at| now.saturating_sub(*at) <= QUIET_KEPT);
        self.sum_last = std::mem::take(&mut self.sum_current);
        let fresh = LiveTable::new(&self.dims, &self.filter, self.limit);
        self.last = self.current.replace(fresh);
        self.last_len = now.saturating_sub(self.rolled_at);
        self.rolled_at = now;
        self.drops_last = self.drops.since(&self.drops_at_roll);
        self.drops_at_roll = self.drops;
        self.quiet_pending = true;
        self.open_changed = true;
    }

    /// Lists, in the last interval's table, the pairs seen recently but quiet in it.
    fn keep_quiet(&mut self) {
        let Some(last) = &mut self.last else {
            return;
        };
        for k in self.seen.keys() {
            if let Some(key) = project(k, &self.dims, &self.filter) {
                last.keep(key);
            }
        }
    }

    /// Focuses the tables on grouping `dims`, narrowed by `filter`. Rolls up from the
    /// fine aggregators only when the focus changes.
    pub fn set_focus(&mut self, dims: &[Dimension], filter: &KeyFilter) {
        if self.dims == dims && self.filter == *filter {
            return;
        }
        self.dims = dims.to_vec();
        self.filter = filter.clone();
        self.total = None;
        self.current = None;
        self.last = None;
        self.empty = LiveTable::new(dims, filter, 1);
    }

    /// Rolls up the table of `period` and the one in progress, where they are not yet.
    fn roll_up(&mut self, period: Period) {
        let (dims, filter) = (&self.dims, &self.filter);
        let table =
            |fine: &FineAggregator| LiveTable::from_aggregator(fine.roll_up(dims, filter), filter);
        let built = match period {
            Period::Total if self.total.is_none() => {
                self.total = Some(table(&self.fine_total));
                true
            }
            Period::Last if self.last.is_none() => {
                self.last = Some(table(&self.fine_last));
                true
            }
            _ => false,
        };
        // Rates show the interval in progress once it completes: it rolls up now, and
        // then takes the records as they come.
        if period == Period::Last && self.current.is_none() {
            self.current = Some(table(&self.fine_current));
        }
        if period == Period::Last && (built || self.quiet_pending) {
            self.quiet_pending = false;
            self.keep_quiet();
        }
        self.open_changed |= built;
    }

    /// Brings the row summaries of `period`'s table up to date. The other table waits
    /// until it is shown: after a roll-over or a regrouping every row needs it.
    pub fn refresh(&mut self, period: Period) {
        self.roll_up(period);
        if std::mem::take(&mut self.open_changed) && self.known.live {
            let open = self.open.count_by(&self.dims);
            for t in [&mut self.last, &mut self.total].into_iter().flatten() {
                t.set_open(open.clone());
            }
        }
        let table = match period {
            Period::Last => &mut self.last,
            Period::Total => &mut self.total,
        };
        if let Some(t) = table {
            t.refresh(self.known);
        }
    }

    /// The focused table of `period`, as of its last [`Ledger::refresh`].
    pub fn table(&self, period: Period) -> &LiveTable {
        let table = match period {
            Period::Last => &self.last,
            Period::Total => &self.total,
        };
        table.as_ref().unwrap_or(&self.empty)
    }

    /// Header totals of `period`; `now` is the time on the source's clock.
    pub fn summary(&self, period: Period, now: Duration) -> Summary {
        let (sum, drops, len) = match period {
            Period::Last => (&self.sum_last, self.drops_last, self.last_len),
            Period::Total => (&self.sum_total, self.drops, now),
        };
        Summary {
            secs: len.as_secs_f64(),
            drops,
            ..sum.clone()
        }
    }

    /// Pairs folded into `other` since start, because of the row limit.
    pub fn folded(&self) -> u64 {
        self.fine_total.folded()
    }

    /// Length of the last completed interval.
    pub fn last_interval(&self) -> Duration {
        self.last_len
    }

    /// The sockets open now.
    pub fn open(&self) -> &OpenSockets {
        &self.open
    }

    /// The most recent closes.
    pub fn recent(&self) -> &Recent {
        &self.recent
    }
}

#[cfg(test)]
mod tests;
