//! The recording's item format (version 1), apart from the in-memory types: a close's
//! RTO counters are one `rto` object (null where the kernel lacks them), a failed
//! connect is `failed_connect: true`, folded totals count `records`. Every other
//! counter is written under its [`Counters`] name, so a new counter needs nothing here.
use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
};

use serde::{Deserialize, Serialize};

use crate::{
    attribution::{AttributedClose, AttributedFolded, AttributedLive, Attribution, Item},
    collector::{
        histogram::SrttHistogram, live::LiveDelta, CloseEvent, Counters, DropCounters,
        FoldedTotals, Gauges, Origin,
    },
};

/// RTO counters as version 1 stores them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Rto {
    timeouts: u64,
    recoveries: u64,
    time_ms: u64,
}

impl Rto {
    fn of(c: &Counters, rto: bool) -> Option<Rto> {
        rto.then_some(Rto {
            timeouts: c.rto_timeouts,
            recoveries: c.rto_recoveries,
            time_ms: c.rto_time_ms,
        })
    }

    fn into(rto: Option<Rto>, c: &mut Counters) {
        let r = rto.unwrap_or_default();
        (c.rto_timeouts, c.rto_recoveries, c.rto_time_ms) = (r.timeouts, r.recoveries, r.time_ms);
    }
}

/// A closed socket.
#[derive(Debug, Serialize, Deserialize)]
struct Event {
    local: SocketAddr,
    peer: SocketAddr,
    #[serde(flatten)]
    counters: Counters,
    srtt_us: u32,
    rto: Option<Rto>,
    failed_connect: bool,
    origin: Origin,
    lifetime_us: Option<u64>,
    /// The live-sampling tag (added in 0.2; absent before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id: Option<u64>,
    /// Its congestion state at close (added in 0.3).
    #[serde(default)]
    gauges: Gauges,
    /// The names of its cgroup (added in 0.4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cgroup: Option<Arc<str>>,
    /// The local process's name (added in 0.4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    process: Option<Arc<str>>,
}

/// Folded overflow totals.
#[derive(Debug, Serialize, Deserialize)]
struct Totals {
    local: IpAddr,
    peer: IpAddr,
    records: u64,
    failed_connects: u64,
    #[serde(flatten)]
    counters: Counters,
    rto: Option<Rto>,
    /// Connections opened (added in 0.5: a second of the daemon's history).
    #[serde(default, skip_serializing_if = "is_zero")]
    opened: u64,
    /// srtt samples (added in 0.5: a second of the daemon's history).
    #[serde(default, skip_serializing_if = "SrttHistogram::is_empty")]
    srtt: SrttHistogram,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A closed socket with its owners.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct OwnedEvent {
    event: Event,
    local: Attribution,
    peer: Attribution,
}

/// A live socket's activity since the previous pass.
#[derive(Debug, Serialize, Deserialize)]
struct Live {
    id: u64,
    local: SocketAddr,
    peer: SocketAddr,
    #[serde(flatten)]
    counters: Counters,
    #[serde(default)]
    opened: u64,
    rto: Option<Rto>,
    srtt_us: u32,
    origin: Origin,
    since_ns: u64,
    /// Its TCP state at the pass (added in 0.3).
    #[serde(default)]
    state: u8,
    /// Its congestion state at the pass (added in 0.3).
    #[serde(default)]
    gauges: Gauges,
    /// The names of its cgroup (added in 0.4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cgroup: Option<Arc<str>>,
    /// A holding process's name (added in 0.4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    process: Option<Arc<str>>,
}

/// Live activity with its owners.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct OwnedLive {
    live: Live,
    local: Attribution,
    peer: Attribution,
}

/// Folded totals with their owners.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct OwnedTotals {
    totals: Totals,
    local: Attribution,
    peer: Attribution,
}

/// One item as stored.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum WireItem {
    /// A closed socket.
    Close(OwnedEvent),
    /// Folded overflow totals.
    Folded(OwnedTotals),
    /// A live socket's activity.
    Live(OwnedLive),
    /// Live sockets gone without a close.
    Gone(Vec<u64>),
    /// A pass of the live sampler ended (nanoseconds since boot).
    Pass(u64),
    /// The collector's drop counters so far.
    Drops(DropCounters),
}

impl WireItem {
    /// `item` as stored by a recording whose kernel has (`rto`) RTO counters or not.
    pub(super) fn new(item: &Item, rto: bool) -> Self {
        match item {
            Item::Close(c) => {
                let e = &c.event;
                WireItem::Close(OwnedEvent {
                    event: Event {
                        local: e.local,
                        peer: e.peer,
                        counters: e.counters,
                        srtt_us: e.srtt_us,
                        rto: Rto::of(&e.counters, rto),
                        failed_connect: e.failed_connect(),
                        origin: e.origin,
                        lifetime_us: e.lifetime_us,
                        id: e.id,
                        gauges: e.gauges,
                        cgroup: e.cgroup.clone(),
                        process: e.process.clone(),
                    },
                    local: c.local.clone(),
                    peer: c.peer.clone(),
                })
            }
            Item::Folded(f) => {
                let t = &f.totals;
                WireItem::Folded(OwnedTotals {
                    totals: Totals {
                        local: t.local,
                        peer: t.peer,
                        records: t.counters.closes(),
                        failed_connects: t.counters.failed_connects,
                        counters: t.counters,
                        rto: Rto::of(&t.counters, rto),
                        opened: t.counters.opened,
                        srtt: f.srtt.clone(),
                    },
                    local: f.local.clone(),
                    peer: f.peer.clone(),
                })
            }
            Item::Live(l) => {
                let d = &l.delta;
                WireItem::Live(OwnedLive {
                    live: Live {
                        id: d.id,
                        local: d.local,
                        peer: d.peer,
                        counters: d.counters,
                        opened: d.counters.opened,
                        rto: Rto::of(&d.counters, rto),
                        srtt_us: d.srtt_us,
                        origin: d.origin,
                        since_ns: d.since_ns,
                        state: d.state,
                        gauges: d.gauges,
                        cgroup: d.cgroup.clone(),
                        process: d.process.clone(),
                    },
                    local: l.local.clone(),
                    peer: l.peer.clone(),
                })
            }
            Item::Gone(ids) => WireItem::Gone(ids.clone()),
            Item::Pass(ns) => WireItem::Pass(*ns),
            Item::Drops(d) => WireItem::Drops(*d),
        }
    }

    /// The item stored, or why it cannot be one.
    pub(super) fn item(self) -> Result<Item, String> {
        Ok(match self {
            WireItem::Close(c) => {
                let e = c.event;
                let mut counters = e.counters;
                counters.connections = u64::from(!e.failed_connect);
                counters.failed_connects = u64::from(e.failed_connect);
                Rto::into(e.rto, &mut counters);
                Item::Close(AttributedClose {
                    event: CloseEvent {
                        local: e.local,
                        peer: e.peer,
                        counters,
                        srtt_us: e.srtt_us,
                        origin: e.origin,
                        lifetime_us: e.lifetime_us,
                        id: e.id,
                        gauges: e.gauges,
                        cgroup: e.cgroup.clone(),
                        process: e.process.clone(),
                    },
                    local: c.local,
                    peer: c.peer,
                })
            }
            WireItem::Folded(f) => {
                let t = f.totals;
                if t.failed_connects > t.records {
                    return Err(format!(
                        "failed_connects {} exceeds records {}",
                        t.failed_connects, t.records
                    ));
                }
                let mut counters = t.counters;
                counters.failed_connects = t.failed_connects.min(t.records);
                counters.connections = t.records - counters.failed_connects;
                Rto::into(t.rto, &mut counters);
                counters.opened = t.opened;
                Item::Folded(AttributedFolded {
                    totals: FoldedTotals {
                        local: t.local,
                        peer: t.peer,
                        counters,
                    },
                    local: f.local,
                    peer: f.peer,
                    srtt: t.srtt,
                })
            }
            WireItem::Live(l) => {
                let w = l.live;
                let mut counters = w.counters;
                counters.opened = w.opened;
                Rto::into(w.rto, &mut counters);
                Item::Live(AttributedLive {
                    delta: LiveDelta {
                        id: w.id,
                        local: w.local,
                        peer: w.peer,
                        counters,
                        srtt_us: w.srtt_us,
                        origin: w.origin,
                        since_ns: w.since_ns,
                        state: w.state,
                        gauges: w.gauges,
                        cgroup: w.cgroup,
                        process: w.process,
                    },
                    local: l.local,
                    peer: l.peer,
                })
            }
            WireItem::Gone(ids) => Item::Gone(ids),
            WireItem::Pass(ns) => Item::Pass(ns),
            WireItem::Drops(d) => Item::Drops(d),
        })
    }
}
