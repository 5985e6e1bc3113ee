//! The UI's shared vocabulary: what a level shows, what is selected, rates or totals,
//! how a pair is named, and the header's facts. Every other UI module may import it;
//! it imports only the theme's levels.
use std::{net::SocketAddr, time::Duration};

use super::theme::Level;
use crate::{
    aggregation::{Dimension, GroupKey, KeyFilter, OpenSocket},
    attribution::Attribution,
    collector::{cost::Cost, Known},
    view::{
        live::{Period, RecentClose},
        sockets::{self, Socket},
    },
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
    /// A closed connection, by arrival number.
    Conn(u64),
    /// An open socket, by tag.
    Open(u64),
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
    /// The selected socket's fields are open over the connections table (Enter).
    pub inspect: bool,
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
            inspect: false,
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

/// What the header says about Kubernetes. The Kubernetes resolver's status converts
/// into this; without it, [`Kube::disabled`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Kube {
    /// E.g. `synced, 412 pods` or `unavailable: 403 Forbidden`.
    pub text: String,
    /// How it is doing.
    pub level: Level,
}

impl Kube {
    /// Kubernetes was turned off with `--no-kube`.
    pub fn disabled() -> Self {
        Self {
            text: "disabled (--no-kube)".into(),
            level: Level::Off,
        }
    }
}

/// The header's fixed facts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderInfo {
    /// tcptop's version and git revision, e.g. `0.1.0 (1a2b3c4d5e6f)`.
    pub version: String,
    /// The node's name.
    pub node: String,
    /// The kernel release.
    pub kernel: String,
    /// Kubernetes status.
    pub kube: Kube,
    /// Notes shown on the right, e.g. `REPLAY file`, `REC file`, `PAUSED`.
    pub notes: Vec<(String, Level)>,
    /// tcptop's own cost over the last interval; `None` in a replay, and until the
    /// first interval after attaching ends.
    pub cost: Option<Cost>,
}

/// The note of a replay.
const REPLAY: &str = "REPLAY ";
/// Added to the replay's note once it has played out.
const ENDED: &str = " (ended)";
/// The note of a UI attached to the daemon.
const DAEMON: &str = "DAEMON ";
/// Added to it once the daemon closed the connection.
const GONE: &str = " GONE: the daemon stopped, numbers frozen (q quits)";
/// Added instead when its last line was cut short.
const TORN: &str = " (ended, last line torn)";

impl HeaderInfo {
    /// The note saying which recording plays.
    pub fn replay_note(name: &str) -> (String, Level) {
        (format!("{REPLAY}{name}"), Level::Off)
    }

    /// The note of a UI attached to the daemon on `node`.
    pub fn daemon_note(node: &str) -> (String, Level) {
        (format!("{DAEMON}{node}"), Level::Ok)
    }

    /// Marks the replay's note as played out, its last line `torn` or not; an attached
    /// daemon's note says it is gone.
    pub fn end_replay(&mut self, torn: bool) {
        for (text, level) in &mut self.notes {
            if text.starts_with(DAEMON) && !text.ends_with(GONE) {
                text.push_str(GONE);
                *level = Level::Bad;
            }
            if text.starts_with(REPLAY) && !text.ends_with(ENDED) && !text.ends_with(TORN) {
                text.push_str(if torn { TORN } else { ENDED });
                if torn {
                    *level = Level::Warn;
                }
            }
        }
    }
}

/// One row of the connections level: an open socket or a recent close.
#[derive(Clone, Copy, Debug)]
pub enum Conn<'a> {
    /// Open now.
    Open(&'a OpenSocket),
    /// Closed recently.
    Closed(&'a RecentClose),
}

impl<'a> Conn<'a> {
    /// Local address and port.
    pub fn local(&self) -> SocketAddr {
        match self {
            Conn::Open(o) => o.last.delta.local,
            Conn::Closed(c) => c.close.event.local,
        }
    }

    /// Peer address and port.
    pub fn peer(&self) -> SocketAddr {
        match self {
            Conn::Open(o) => o.last.delta.peer,
            Conn::Closed(c) => c.close.event.peer,
        }
    }

    /// Both ends' owners.
    pub fn owners(&self) -> (&'a Attribution, &'a Attribution) {
        match self {
            Conn::Open(o) => (&o.last.local, &o.last.peer),
            Conn::Closed(c) => (&c.close.local, &c.close.peer),
        }
    }

    /// Its state as `ss` names it, or how it closed (`CLOSED`, `REFUSED`, ...).
    pub fn state(&self) -> &'static str {
        match self {
            Conn::Open(o) => sockets::state_name(o.last.delta.state),
            Conn::Closed(c) => sockets::closed_state(&c.close.event.counters),
        }
    }

    /// `out` when this side connected, `in` when it accepted, if known.
    pub fn direction(&self) -> Option<&'static str> {
        sockets::direction(match self {
            Conn::Open(o) => o.last.delta.origin,
            Conn::Closed(c) => c.close.event.origin,
        })
    }

    /// All it shows, as `--connections` lists it; `kernel_now_ns` is the kernel's
    /// clock at the latest pass.
    pub fn socket(&self, known: Known, kernel_now_ns: u64) -> Socket {
        match self {
            Conn::Open(o) => Socket::open(o, known, kernel_now_ns),
            Conn::Closed(c) => Socket::closed(&c.close, known),
        }
    }

    /// How long ago it closed, or how long it has been open (`kernel_now_ns` is the
    /// kernel's clock at the latest pass, `now` the source's clock).
    pub fn age(&self, now: Duration, kernel_now_ns: u64) -> Duration {
        match self {
            Conn::Open(o) => {
                Duration::from_nanos(kernel_now_ns.saturating_sub(o.last.delta.since_ns))
            }
            Conn::Closed(c) => now.saturating_sub(c.at),
        }
    }

    /// True when `sel` names this row, or names the open socket this close ended.
    pub fn is(&self, sel: &Selected) -> bool {
        match (self, sel) {
            (Conn::Closed(c), Selected::Open(id)) => c.close.event.id == Some(*id),
            _ => self.selected() == *sel,
        }
    }

    /// The row's identity.
    pub fn selected(&self) -> Selected {
        match self {
            Conn::Open(o) => Selected::Open(o.last.delta.id),
            Conn::Closed(c) => Selected::Conn(c.seq),
        }
    }
}
