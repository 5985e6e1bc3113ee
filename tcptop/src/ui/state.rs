//! The UI's state and how each [`Action`] changes it: grouping, drill-down, sorting,
//! filtering, selection and modes. Pure logic; the rows come in as a [`Listing`].
use crate::{
    aggregation::{Dimension, KeyFilter},
    collector::Known,
    view::{live::Ledger, MetricId, TableSpec},
};

use super::{
    columns::Column,
    listing::{Listing, Order},
    model::{pair_label, Depth, Mode, Selected, View},
};

/// The groupings `g` cycles through.
pub const GROUPINGS: [&[Dimension]; 10] = [
    &[Dimension::Namespace, Dimension::Az],
    &[Dimension::Namespace],
    &[Dimension::Az],
    &[Dimension::Workload],
    &[Dimension::Pod],
    &[Dimension::Ip],
    &[Dimension::Node],
    &[Dimension::Service],
    &[Dimension::Port],
    &[Dimension::Process],
];

/// Everything a key can do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Leave tcptop.
    Quit,
    /// Open or close the help screen.
    ToggleHelp,
    /// Start editing the filter.
    StartFilter,
    /// Type into the filter.
    FilterChar(char),
    /// Delete the filter's last character.
    FilterBackspace,
    /// Stop editing, keeping the filter.
    FilterDone,
    /// Close help, else clear the filter, else close a socket's fields, else go up a
    /// level.
    Escape,
    /// Sort by this column; again inverts.
    SortBy(Column),
    /// Sort by the next column to the right.
    SortNext,
    /// Sort by the next column to the left.
    SortPrev,
    /// Invert the sort order.
    Invert,
    /// Next grouping.
    CycleGrouping,
    /// Pause or resume refreshing.
    TogglePause,
    /// Show the window of the daemon's history one step further back.
    Back,
    /// Show the window one step nearer now; from the newest, live again.
    Forward,
    /// Rates or totals.
    ToggleMode,
    /// Show or hide the detail pane.
    ToggleDetail,
    /// Drill into the selected row; on a socket, open all its fields.
    DrillDown,
    /// Close a socket's fields, else back up a level.
    DrillUp,
    /// Select the row above.
    Up,
    /// Select the row below.
    Down,
    /// A page up.
    PageUp,
    /// A page down.
    PageDown,
    /// The first row.
    Home,
    /// The last row.
    End,
}

impl Action {
    /// True when applying it reads the rows shown (to select or drill into one); the
    /// others change only the state, and the next frame builds the rows.
    pub fn reads_rows(self) -> bool {
        matches!(
            self,
            Action::DrillDown
                | Action::Up
                | Action::Down
                | Action::PageUp
                | Action::PageDown
                | Action::Home
                | Action::End
        )
    }
}

/// The UI's state.
#[derive(Clone, Debug)]
pub struct App {
    /// The groupings `g` cycles through.
    pub groupings: Vec<Vec<Dimension>>,
    /// The current one.
    pub grouping: usize,
    /// The drill-down stack; never empty, `levels[0]` shows the grouping.
    pub levels: Vec<Depth>,
    /// The sort column.
    pub sort: MetricId,
    /// Largest first.
    pub descending: bool,
    /// Rows must contain this text (any key, case-insensitive).
    pub filter: String,
    /// Keys go into the filter.
    pub editing: bool,
    /// The help screen is open.
    pub help: bool,
    /// Refreshing is paused.
    pub paused: bool,
    /// Rates or totals.
    pub mode: Mode,
    /// The detail pane is shown.
    pub detail: bool,
    /// Leave at the next chance.
    pub quit: bool,
    /// What the source knows: columns it has no values for are not offered.
    pub known: Known,
    /// The source is the daemon, whose history `[` and `]` move through.
    pub history: bool,
    /// The window of history shown, in steps of [`WINDOW`] back from now; `None`:
    /// live.
    pub window: Option<u32>,
}

/// How wide a window of the daemon's history is, and how far `[` and `]` move it.
pub const WINDOW: std::time::Duration = std::time::Duration::from_secs(60);

/// How many windows back the history reaches at most (24 hours).
const MAX_WINDOWS: u32 = 24 * 60;

impl App {
    /// Starts on grouping `group_by` (put first in the cycle when it is not one of
    /// [`GROUPINGS`]), sorted by `sort`, largest first.
    pub fn new(group_by: &[Dimension], sort: MetricId) -> Self {
        let mut groupings: Vec<Vec<Dimension>> = GROUPINGS.iter().map(|g| g.to_vec()).collect();
        let grouping = match groupings.iter().position(|g| g == group_by) {
            Some(i) => i,
            None => {
                groupings.insert(0, group_by.to_vec());
                0
            }
        };
        let top = Depth::new(
            View::Pairs(groupings[grouping].clone()),
            KeyFilter::all(),
            String::new(),
        );
        Self {
            groupings,
            grouping,
            levels: vec![top],
            sort,
            descending: true,
            filter: String::new(),
            editing: false,
            help: false,
            paused: false,
            mode: Mode::Rates,
            detail: true,
            quit: false,
            known: Known::default(),
            history: false,
            window: None,
        }
    }

    /// The level shown.
    pub fn level(&self) -> &Depth {
        self.levels.last().expect("the level stack is never empty")
    }

    fn level_mut(&mut self) -> &mut Depth {
        self.levels
            .last_mut()
            .expect("the level stack is never empty")
    }

    /// The current grouping.
    pub fn group_by(&self) -> &[Dimension] {
        &self.groupings[self.grouping]
    }

    /// How rows are ordered.
    pub fn spec(&self) -> TableSpec {
        TableSpec {
            sort: self.sort,
            descending: self.descending,
            top: None,
        }
    }

    /// The rows of the level shown, from `ledger`, which must be focused on
    /// [`App::focus`] and refreshed; sorted in `order` when it still applies.
    pub fn listing<'a>(&self, ledger: &'a Ledger, order: &mut Order) -> Listing<'a> {
        let (level, spec) = (self.level(), self.spec());
        Listing::build(level, self.mode, &spec, &self.filter, ledger, order)
    }

    /// The grouping and filter the ledger must focus on; `None` for connections.
    pub fn focus(&self) -> Option<(&[Dimension], &KeyFilter)> {
        match &self.level().view {
            View::Pairs(dims) => Some((dims, &self.level().filter)),
            View::Conns => None,
        }
    }

    /// Follows the selected row into a fresh `listing`, and scrolls so that it shows
    /// in a table of `page` rows.
    pub fn sync(&mut self, listing: &Listing, page: usize) {
        let level = self.level_mut();
        if let Some(i) = level.selected.as_ref().and_then(|s| listing.position(s)) {
            level.index = i;
        }
        level.index = level.index.min(listing.len().saturating_sub(1));
        level.selected = listing.selected(level.index);
        let page = page.max(1);
        if level.index < level.offset {
            level.offset = level.index;
        } else if level.index >= level.offset + page {
            level.offset = level.index + 1 - page;
        }
        level.offset = level.offset.min(listing.len().saturating_sub(page));
    }

    /// Applies `action` to the state; `listing` holds the rows shown, in a table of
    /// `page` rows.
    pub fn apply(&mut self, action: Action, listing: &Listing, page: usize) {
        let page = page.max(1);
        match action {
            Action::Quit => self.quit = true,
            Action::ToggleHelp => self.help = !self.help,
            Action::StartFilter => self.editing = true,
            Action::FilterChar(c) => self.filter.push(c),
            Action::FilterBackspace => {
                self.filter.pop();
            }
            Action::FilterDone => self.editing = false,
            Action::Escape => {
                if self.help {
                    self.help = false;
                } else if self.editing || !self.filter.is_empty() {
                    self.editing = false;
                    self.filter.clear();
                } else {
                    self.drill_up();
                }
            }
            Action::SortBy(c) => {
                if self.sort == c.sort() {
                    self.descending = !self.descending;
                } else {
                    self.sort = c.sort();
                    self.descending = true;
                }
            }
            Action::SortNext | Action::SortPrev => {
                let known = self.known;
                let all: Vec<Column> = Column::all()
                    .into_iter()
                    .filter(|c| c.known(known))
                    .collect();
                let n = all.len();
                let next = match all.iter().position(|c| c.sort() == self.sort) {
                    Some(i) if action == Action::SortNext => (i + 1) % n,
                    Some(i) => (i + n - 1) % n,
                    None => 0,
                };
                self.sort = all[next].sort();
            }
            Action::Invert => self.descending = !self.descending,
            Action::CycleGrouping => {
                self.grouping = (self.grouping + 1) % self.groupings.len();
                let view = View::Pairs(self.groupings[self.grouping].clone());
                self.levels = vec![Depth::new(view, KeyFilter::all(), String::new())];
            }
            Action::TogglePause => self.paused = !self.paused,
            Action::Back if self.history => {
                self.window = Some(self.window.map_or(0, |w| (w + 1).min(MAX_WINDOWS)));
            }
            Action::Forward => self.window = self.window.and_then(|w| w.checked_sub(1)),
            Action::Back => {}
            Action::ToggleMode => {
                self.mode = match self.mode {
                    Mode::Rates => Mode::Totals,
                    Mode::Totals => Mode::Rates,
                }
            }
            Action::ToggleDetail => self.detail = !self.detail,
            Action::DrillDown => self.drill_down(listing),
            Action::DrillUp => self.drill_up(),
            Action::Up => self.select(listing, |i| i.saturating_sub(1)),
            Action::Down => self.select(listing, |i| i + 1),
            Action::PageUp => self.select(listing, |i| i.saturating_sub(page)),
            Action::PageDown => self.select(listing, |i| i + page),
            Action::Home => self.select(listing, |_| 0),
            Action::End => self.select(listing, |_| usize::MAX),
        }
    }

    fn select(&mut self, listing: &Listing, to: impl Fn(usize) -> usize) {
        let level = self.level_mut();
        level.index = to(level.index).min(listing.len().saturating_sub(1));
        level.selected = listing.selected(level.index);
    }

    /// True while a socket's fields are open.
    pub fn inspecting(&self) -> bool {
        self.level().inspect
    }

    /// Pairs go to workload pairs, then pod pairs, then IP pairs, then connections,
    /// then one socket's fields.
    fn drill_down(&mut self, listing: &Listing) {
        let level = self.level();
        let View::Pairs(dims) = &level.view else {
            let open = listing.selected(level.index).is_some();
            self.level_mut().inspect = open;
            return;
        };
        let Some(Selected::Pair(key)) = listing.selected(level.index) else {
            return;
        };
        let view = if dims.contains(&Dimension::Ip) {
            View::Conns
        } else if dims.contains(&Dimension::Pod) {
            View::Pairs(vec![Dimension::Ip])
        } else if dims.contains(&Dimension::Workload) {
            View::Pairs(vec![Dimension::Pod])
        } else {
            View::Pairs(vec![Dimension::Workload])
        };
        let filter = level.filter.clone().and_key(dims, &key);
        let crumb = pair_label(&key);
        // The text filter found the row; the level below starts unfiltered.
        self.level_mut().saved_filter = std::mem::take(&mut self.filter);
        self.editing = false;
        self.levels.push(Depth::new(view, filter, crumb));
    }

    /// Closes a socket's fields, else backs up a level.
    fn drill_up(&mut self) {
        if self.level().inspect {
            self.level_mut().inspect = false;
        } else if self.levels.len() > 1 {
            self.levels.pop();
            self.filter = std::mem::take(&mut self.level_mut().saved_filter);
            self.editing = false;
        }
    }
}
