//! The daemon's Prometheus exposition, in the classic text format (the `prometheus`
//! crate's encoder). [`Exported`] is what the daemon's loop fills and a scrape
//! reads: tcptop's own families, derived from the metric table
//! ([`crate::view::metric`]) and labelled `local_<dim>`/`peer_<dim>`; with
//! `--metrics-compat ebpf-exporter` the families ebpf_exporter's tcp-life config
//! produced ([`compat`]); and tcptop's own health ([`health`]).
pub mod build;
pub mod compat;
pub mod health;

use std::{collections::HashMap, sync::Mutex};

use prometheus::proto::MetricType;

use build::{family, label_names, labels, sample, srtt_family, Families, PREFIX};

pub use health::Health;

use crate::{
    aggregation::{GroupKey, OpenSockets, SeriesStore},
    attribution::Item,
    view::{
        metric::{Num, PromKind},
        Known, MetricId, RowStats,
    },
};

/// The exposition's content type: the classic text format, which ebpf_exporter served
/// and `promtool check metrics` reads.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Everything a scrape shows, filled by the daemon's loop.
#[derive(Debug)]
pub struct Exported {
    /// tcptop's own families, grouped by `--metrics-group-by`.
    pub main: SeriesStore,
    /// ebpf_exporter's families, grouped by ip, namespace and az, IPv4 only.
    pub compat: Option<SeriesStore>,
    /// The sockets open now, for `tcptop_open_connections`.
    pub open: OpenSockets,
    /// What the source knows (families it cannot know are left out).
    pub known: Known,
    /// tcptop's own state.
    pub health: Health,
}

impl Exported {
    /// Takes one attributed item.
    pub fn add(&mut self, item: &Item) {
        self.open.add(item);
        self.main.add(item);
        if let Some(c) = &mut self.compat {
            c.add(item);
        }
        if let Item::Drops(d) = item {
            self.health.drops = *d;
        }
    }
}

/// The exposition of `state` now.
pub fn scrape(state: &Mutex<Exported>) -> Result<String, prometheus::Error> {
    let mut families = Families::default();
    {
        let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
        let state = &mut *state;
        let open = state.main.gauge(state.open.count_by(state.main.group_by()));
        main_families(&mut families, &state.main, &open, state.known);
        if let Some(c) = &state.compat {
            compat::families(&mut families, c);
        }
        state.health.series = state.main.len();
        state.health.folded = state.main.folded();
        state.health.families(&mut families);
    }
    families.finish()
}

fn main_families(
    out: &mut Families,
    store: &SeriesStore,
    open: &HashMap<GroupKey, u64>,
    known: Known,
) {
    let names = label_names(store);
    let rows: Vec<(&GroupKey, RowStats)> = store
        .iter()
        .map(|(k, s)| {
            let stats = RowStats::totals(s.counters, open.get(k).copied().unwrap_or(0), known);
            (k, stats)
        })
        .collect();
    // A family the source cannot know (RTO counters before 6.7, opens without live
    // sampling) is left out rather than shown as zeros.
    let probe = RowStats::totals(Default::default(), 0, known);
    for (id, prom) in MetricId::exported() {
        if id.value(&probe).is_none() {
            continue;
        }
        let (kind, suffix) = match prom.kind {
            PromKind::Counter => (MetricType::COUNTER, "_total"),
            PromKind::Gauge => (MetricType::GAUGE, ""),
        };
        let mut f = family(format!("{PREFIX}_{}{suffix}", prom.name), prom.help, kind);
        for (key, stats) in &rows {
            if let Some(v) = id.value(stats) {
                let v = match v {
                    Num::Int(n) => n as f64 * prom.scale,
                    Num::Real(x) => x * prom.scale,
                };
                f.mut_metric().push(sample(labels(&names, key), kind, v));
            }
        }
        out.push(f);
    }
    out.push(srtt_family(
        format!("{PREFIX}_srtt_seconds"),
        "Smoothed RTT of each established connection, at its close.",
        store,
    ));
}

#[cfg(test)]
mod tests;
