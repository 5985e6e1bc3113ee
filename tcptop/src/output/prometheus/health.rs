//! tcptop's own health as Prometheus families: whether it collects, what it dropped,
//! what its BPF programs and the process cost, the Kubernetes cache, conntrack, and
//! its own series cap.
use prometheus::proto::MetricType;

use super::build::{family, sample, Families, PREFIX};
use crate::{
    aggregation::history::Held,
    collector::{cost::CostSample, DropCounters},
};

/// The Kubernetes cache, as a scrape shows it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KubeHealth {
    /// Every kind listed and watched.
    pub synced: bool,
    /// Labels are IP-level or stale because requests fail.
    pub failing: bool,
    /// Pods cached.
    pub pods: u64,
}

/// tcptop's own state.
#[derive(Clone, Debug, Default)]
pub struct Health {
    /// The eBPF program is attached and collecting.
    pub attached: bool,
    /// What the kernel side dropped.
    pub drops: DropCounters,
    /// Cost counters, cumulative.
    pub cost: Option<CostSample>,
    /// The cache, unless `--no-kube`.
    pub kube: Option<KubeHealth>,
    /// Conntrack entries evicted from the Service-backend cache.
    pub nat_evicted: u64,
    /// Label sets of tcptop's own families.
    pub series: usize,
    /// The cap on them.
    pub max_series: usize,
    /// Records that went into the `other` label set.
    pub folded: u64,
    /// The flight recorder, once collecting.
    pub history: Option<Held>,
    /// UIs attached now.
    pub clients: u64,
    /// UIs cut off because they fell behind.
    pub lagged: u64,
}

/// One family without labels.
enum Value {
    Gauge(u64),
    Counter(u64),
    Seconds(f64),
}

impl Health {
    /// Appends every family.
    pub fn families(&self, out: &mut Families) {
        let cost = self.cost;
        let stats = cost.is_some_and(|c| c.stats_enabled);
        let bpf = cost.map(|c| c.bpf).unwrap_or_default();
        let mut families = vec![
            ("attached", "1 when the eBPF program is attached and collecting.", Value::Gauge(u64::from(self.attached))),
            ("events_folded", "Records the ring buffer had no room for, folded into per-pair totals in the kernel (totals exact).", Value::Counter(self.drops.folded)),
            ("events_lost", "Records lost entirely: the ring buffer and the overflow map were full.", Value::Counter(self.drops.lost)),
            ("events_missed", "Closes the kernel did not run the program for (recursion on one CPU).", Value::Counter(self.drops.missed)),
            ("open_notes_lost", "Opens whose note displaced another open socket's: that socket's lifetime and process were lost.", Value::Counter(self.drops.unnoted)),
            ("bpf_stats_enabled", "1 when kernel.bpf_stats_enabled is on, so that BPF run time is counted.", Value::Gauge(u64::from(stats))),
            ("bpf_runs", "Runs of tcptop's BPF programs (with kernel.bpf_stats_enabled).", Value::Counter(bpf.run_count)),
            ("bpf_run_seconds", "Time tcptop's BPF programs ran (with kernel.bpf_stats_enabled).", Value::Seconds(bpf.run_time_ns as f64 / 1e9)),
            ("conntrack_evicted", "Conntrack entries evicted from the bounded Service-backend cache.", Value::Counter(self.nat_evicted)),
            ("metrics_series", "Label sets of tcptop's own families.", Value::Gauge(self.series as u64)),
            ("metrics_max_series", "The cap on label sets (--metrics-max-series).", Value::Gauge(self.max_series as u64)),
            ("metrics_folded", "Records counted under the label set `other` because the cap was reached.", Value::Counter(self.folded)),
        ];
        if let Some(cpu) = cost.and_then(|c| c.cpu) {
            families.push((
                "cpu_seconds",
                "CPU time tcptop used.",
                Value::Seconds(cpu.as_secs_f64()),
            ));
        }
        if let Some(h) = self.history {
            families.push((
                "history_seconds",
                "Seconds the flight recorder holds.",
                Value::Gauge(h.seconds as u64),
            ));
            families.push((
                "history_bytes",
                "Bytes the flight recorder holds (the cap is --history-memory).",
                Value::Gauge(h.bytes as u64),
            ));
            families.push((
                "history_pairs",
                "Distinct pairs the flight recorder holds.",
                Value::Gauge(h.pairs as u64),
            ));
            families.push((
                "history_evicted_seconds",
                "Seconds dropped before their time to stay within --history-memory.",
                Value::Counter(h.evicted),
            ));
            families.push((
                "history_folded_rows",
                "Pair-seconds counted under `other`: a second had too many pairs.",
                Value::Counter(h.folded),
            ));
            families.push((
                "attached_uis",
                "UIs attached to the daemon now.",
                Value::Gauge(self.clients),
            ));
            families.push((
                "attach_lagged",
                "UIs cut off because they fell behind the live tail.",
                Value::Counter(self.lagged),
            ));
        }
        if let Some(k) = self.kube {
            families.push((
                "kube_synced",
                "1 when every watched kind is listed and watched.",
                Value::Gauge(u64::from(k.synced)),
            ));
            families.push((
                "kube_failing",
                "1 when requests to the API server fail, so labels are IP-level or stale.",
                Value::Gauge(u64::from(k.failing)),
            ));
            families.push((
                "kube_pods",
                "Pods in the watch cache.",
                Value::Gauge(k.pods),
            ));
        }
        for (name, help, value) in families {
            let (kind, suffix, v) = match value {
                Value::Gauge(n) => (MetricType::GAUGE, "", n as f64),
                Value::Counter(n) => (MetricType::COUNTER, "_total", n as f64),
                Value::Seconds(s) => (MetricType::COUNTER, "_total", s),
            };
            let mut f = family(format!("{PREFIX}_{name}{suffix}"), help, kind);
            f.mut_metric().push(sample(Vec::new(), kind, v));
            out.push(f);
        }
    }
}
