//! Every metric of a row, described once: its `--sort` name and JSON/CSV field, its
//! column title, unit and formatter, its value (which is also its sort key), and where
//! people see it. The output formats, `--sort`, the UI's columns and its digit keys are
//! all derived from [`METRICS`], and so are the daemon's Prometheus families.
use std::{fmt, str::FromStr};

use super::{
    format::{bytes, count, micros, pct, rate},
    stats::RowStats,
};
use crate::collector::Limit;

/// What a metric's numbers are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// A count of sockets, segments or events.
    Count,
    /// Bytes.
    Bytes,
    /// Microseconds.
    Micros,
    /// Milliseconds.
    Millis,
    /// A percentage.
    Percent,
    /// How many there are now (open sockets): never per second.
    Gauge,
    /// What limited sending ([`Limit`]), by its [`Limit::code`]: shown as its name.
    Limit,
    /// Bytes per second, as measured (never divided again in rates mode).
    ByteRate,
}

impl Unit {
    /// True for sums, which rates mode shows per second.
    pub fn per_second(self) -> bool {
        matches!(self, Unit::Count | Unit::Bytes)
    }

    /// True for a unit whose values are names, not numbers (JSON and CSV write the name).
    pub fn is_text(self) -> bool {
        self == Unit::Limit
    }

    /// The name a value of a text unit stands for.
    pub fn text(self, v: Num) -> &'static str {
        match v {
            Num::Int(n) => Limit::of_code(n).map_or("", Limit::name),
            Num::Real(_) => "",
        }
    }

    /// `v` for people; `-` when missing.
    pub fn format(self, v: Option<Num>) -> String {
        let Some(v) = v else { return "-".into() };
        if self.is_text() {
            return self.text(v).into();
        }
        match (self, v) {
            (Unit::Percent, v) => pct(Some(v.as_f64())),
            (_, Num::Real(x)) => self.format_rate(x),
            (Unit::Count | Unit::Gauge | Unit::Limit, Num::Int(n)) => count(n),
            (Unit::Bytes, Num::Int(n)) => bytes(n),
            (Unit::Micros, Num::Int(n)) => micros(Some(n)),
            (Unit::Millis, Num::Int(n)) => micros(Some(n.saturating_mul(1000))),
            (Unit::ByteRate, Num::Int(n)) => format!("{}/s", bytes(n)),
        }
    }

    /// `x` per second, for people.
    pub fn format_rate(self, x: f64) -> String {
        match self {
            Unit::Bytes => bytes(x.round() as u64),
            _ => rate(x),
        }
    }
}

/// A metric's value: an exact integer, or a ratio.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Num {
    /// An integer (counts, bytes, times).
    Int(u64),
    /// A ratio, never negative.
    Real(f64),
}

impl Num {
    /// The value as a float.
    pub fn as_f64(self) -> f64 {
        match self {
            Num::Int(n) => n as f64,
            Num::Real(x) => x,
        }
    }

    /// A number that orders values of one metric as they compare. A non-negative
    /// float's bits order as the float does.
    pub fn order(self) -> u64 {
        match self {
            Num::Int(n) => n,
            Num::Real(x) => x.max(0.0).to_bits(),
        }
    }
}

/// How the UI lays out a metric's column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UiColumn {
    /// Cells are right-aligned in this many columns.
    pub width: u16,
    /// Lower stays longer: a narrow terminal drops the highest first.
    pub priority: u8,
}

/// One metric.
pub struct Metric {
    /// The `--sort` name and, when [`Metric::field`], the JSON/CSV field.
    pub name: &'static str,
    /// Whether rows carry it as a JSON/CSV field (derived sort keys do not).
    pub field: bool,
    /// The column title; `--output table` writes it upper-case, spaces as `_`.
    pub title: &'static str,
    /// What its numbers are.
    pub unit: Unit,
    /// Its value in a row (`None`: not known), which is also its sort key.
    pub value: fn(&RowStats) -> Option<Num>,
    /// Its place among the columns people see, left to right; 0: none.
    pub place: u8,
    /// Its UI column, if the UI shows it.
    pub ui: Option<UiColumn>,
    /// Whether `--output table` shows it.
    pub table: bool,
    /// Where its values become worth a look, or bad.
    pub alert: Option<Alert>,
    /// Known only where open sockets are sampled: tables without live sampling leave
    /// its column out.
    pub live: bool,
    /// Its Prometheus family, if the daemon exports it.
    pub prom: Option<Prom>,
}

/// What a Prometheus family's samples are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PromKind {
    /// Only grows; the exposition adds `_total`.
    Counter,
    /// How many there are now.
    Gauge,
}

/// A metric as a Prometheus family of tcptop's own.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Prom {
    /// The family's name after `tcptop_`, in base units (seconds, bytes).
    pub name: &'static str,
    /// `# HELP`.
    pub help: &'static str,
    /// Counter or gauge.
    pub kind: PromKind,
    /// What the metric's value is multiplied by to be in the family's unit.
    pub scale: f64,
}

const fn counter(name: &'static str, help: &'static str) -> Option<Prom> {
    Some(Prom {
        name,
        help,
        kind: PromKind::Counter,
        scale: 1.0,
    })
}

/// A counter of milliseconds, exported in seconds.
const fn seconds(name: &'static str, help: &'static str) -> Option<Prom> {
    Some(Prom {
        name,
        help,
        kind: PromKind::Counter,
        scale: 0.001,
    })
}

const fn gauge(name: &'static str, help: &'static str) -> Option<Prom> {
    Some(Prom {
        name,
        help,
        kind: PromKind::Gauge,
        scale: 1.0,
    })
}

/// Thresholds of a metric's values: from `warn` worth a look, from `bad` bad.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Alert {
    /// Worth a look from here.
    pub warn: f64,
    /// Bad from here.
    pub bad: f64,
}

fn int(n: u64) -> Option<Num> {
    Some(Num::Int(n))
}

/// Microseconds as whole milliseconds.
fn ms(us: u64) -> Option<Num> {
    int(us / 1000)
}

/// The RTO counters are known only where the kernel has them.
fn rto(s: &RowStats, n: u64) -> Option<Num> {
    s.known.rto.then_some(Num::Int(n))
}

/// Opens and open sockets are known only where live sampling runs.
fn live(s: &RowStats, n: u64) -> Option<Num> {
    s.known.live.then_some(Num::Int(n))
}

const fn ui(width: u16, priority: u8) -> Option<UiColumn> {
    Some(UiColumn { width, priority })
}

/// Every metric. Rows' JSON/CSV fields are those with `field`, in this order: that
/// order is the output contract.
pub static METRICS: [Metric; 26] = [
    Metric {
        name: "bytes",
        field: false,
        title: "BYTES",
        unit: Unit::Bytes,
        value: |s| int(s.counters.bytes()),
        place: 0,
        ui: None,
        table: false,
        alert: None,
        live: false,
        prom: None,
    },
    Metric {
        name: "connections",
        field: true,
        title: "CONNS",
        unit: Unit::Count,
        value: |s| int(s.counters.connections),
        place: 1,
        ui: ui(7, 2),
        table: true,
        alert: None,
        live: false,
        prom: counter(
            "connections",
            "TCP connections that closed after being established, each end on this node once.",
        ),
    },
    Metric {
        name: "failed_connects",
        field: true,
        title: "FAILED",
        unit: Unit::Count,
        value: |s| int(s.counters.failed_connects),
        place: 2,
        ui: ui(8, 5),
        table: true,
        alert: None,
        live: false,
        prom: counter(
            "failed_connects",
            "Connects that never completed (SYN_SENT to CLOSE).",
        ),
    },
    Metric {
        name: "refused",
        field: true,
        title: "REFUSED",
        unit: Unit::Count,
        value: |s| int(s.counters.refused),
        place: 13,
        ui: ui(9, 10),
        table: true,
        alert: None,
        live: false,
        prom: counter(
            "connects_refused",
            "Failed connects a reset refused (ECONNREFUSED).",
        ),
    },
    Metric {
        name: "timed_out",
        field: true,
        title: "TIMEOUT",
        unit: Unit::Count,
        value: |s| int(s.counters.timed_out),
        place: 14,
        ui: ui(9, 11),
        table: true,
        alert: None,
        live: false,
        prom: counter(
            "connects_timed_out",
            "Failed connects nothing answered (ETIMEDOUT).",
        ),
    },
    Metric {
        name: "resets_sent",
        field: true,
        title: "RST TX",
        unit: Unit::Count,
        value: |s| int(s.counters.resets_sent),
        place: 15,
        ui: ui(8, 12),
        table: true,
        alert: None,
        live: false,
        prom: counter("resets_sent", "TCP resets this node sent."),
    },
    Metric {
        name: "resets_received",
        field: true,
        title: "RST RX",
        unit: Unit::Count,
        value: |s| int(s.counters.resets_received),
        place: 16,
        ui: ui(8, 13),
        table: true,
        alert: None,
        live: false,
        prom: counter("resets_received", "TCP resets this node received."),
    },
    Metric {
        name: "bytes_sent",
        field: true,
        title: "TX",
        unit: Unit::Bytes,
        value: |s| int(s.counters.bytes_sent),
        place: 3,
        ui: ui(11, 0),
        table: true,
        alert: None,
        live: false,
        prom: counter(
            "bytes_sent",
            "Bytes sent, retransmissions included (tcpi_bytes_sent).",
        ),
    },
    Metric {
        name: "bytes_received",
        field: true,
        title: "RX",
        unit: Unit::Bytes,
        value: |s| int(s.counters.bytes_received),
        place: 4,
        ui: ui(11, 1),
        table: true,
        alert: None,
        live: false,
        prom: counter("bytes_received", "Bytes received (tcpi_bytes_received)."),
    },
    Metric {
        name: "retransmits",
        field: true,
        title: "RETRANS",
        unit: Unit::Count,
        value: |s| int(s.counters.retransmits),
        place: 5,
        ui: ui(9, 6),
        table: true,
        alert: None,
        live: false,
        prom: counter(
            "retransmits",
            "Segments retransmitted (tcpi_total_retrans).",
        ),
    },
    Metric {
        name: "data_segs_out",
        field: true,
        title: "DATA SEGS",
        unit: Unit::Count,
        value: |s| int(s.counters.data_segs_out),
        place: 0,
        ui: None,
        table: false,
        alert: None,
        live: false,
        prom: counter(
            "data_segments_sent",
            "Data segments sent, retransmissions included (tcpi_data_segs_out).",
        ),
    },
    Metric {
        name: "retrans_pct",
        field: false,
        title: "RETR%",
        unit: Unit::Percent,
        value: |s| s.counters.retrans_pct().map(Num::Real),
        place: 6,
        ui: ui(6, 3),
        table: false,
        // 1% of segments resent is worth a look, 5% is bad.
        alert: Some(Alert {
            warn: 1.0,
            bad: 5.0,
        }),
        live: false,
        prom: None,
    },
    Metric {
        name: "lost",
        field: true,
        title: "LOST",
        unit: Unit::Count,
        value: |s| int(s.counters.lost),
        place: 7,
        ui: ui(7, 8),
        table: true,
        alert: None,
        live: false,
        prom: counter("lost", "Segments marked lost (tp->lost)."),
    },
    Metric {
        name: "srtt_p50_us",
        field: true,
        title: "SRTT p50",
        unit: Unit::Micros,
        value: |s| s.srtt_p50_us.map(Num::Int),
        place: 9,
        ui: ui(8, 7),
        table: true,
        alert: None,
        live: false,
        prom: None,
    },
    Metric {
        name: "srtt_p90_us",
        field: true,
        title: "SRTT p90",
        unit: Unit::Micros,
        value: |s| s.srtt_p90_us.map(Num::Int),
        place: 0,
        ui: None,
        table: false,
        alert: None,
        live: false,
        prom: None,
    },
    Metric {
        name: "srtt_p99_us",
        field: true,
        title: "SRTT p99",
        unit: Unit::Micros,
        value: |s| s.srtt_p99_us.map(Num::Int),
        place: 10,
        ui: ui(8, 4),
        table: true,
        alert: None,
        live: false,
        prom: None,
    },
    Metric {
        name: "srtt_max_us",
        field: true,
        title: "SRTT max",
        unit: Unit::Micros,
        value: |s| s.srtt_max_us.map(Num::Int),
        place: 11,
        ui: None,
        table: true,
        alert: None,
        live: false,
        prom: None,
    },
    Metric {
        name: "rto",
        field: true,
        title: "RTO",
        unit: Unit::Count,
        value: |s| rto(s, s.counters.rto_timeouts),
        place: 8,
        ui: ui(6, 9),
        table: true,
        alert: None,
        live: false,
        prom: counter("rto", "Retransmission timeouts (tcpi_total_rto)."),
    },
    Metric {
        name: "rto_recoveries",
        field: true,
        title: "RTO RECOV",
        unit: Unit::Count,
        value: |s| rto(s, s.counters.rto_recoveries),
        place: 0,
        ui: None,
        table: false,
        alert: None,
        live: false,
        prom: counter(
            "rto_recoveries",
            "Recoveries from a retransmission timeout (tcpi_total_rto_recoveries).",
        ),
    },
    Metric {
        name: "rto_time_ms",
        field: true,
        title: "RTO TIME",
        unit: Unit::Millis,
        value: |s| rto(s, s.counters.rto_time_ms),
        place: 0,
        ui: None,
        table: false,
        alert: None,
        live: false,
        prom: seconds(
            "rto_seconds",
            "Time spent recovering from retransmission timeouts (tcpi_total_rto_time).",
        ),
    },
    Metric {
        name: "limit",
        field: true,
        title: "LIMIT",
        unit: Unit::Limit,
        value: |s| s.counters.limit().map(|l| Num::Int(l.code())),
        place: 12,
        ui: ui(7, 5),
        table: true,
        alert: None,
        live: false,
        prom: None,
    },
    Metric {
        name: "busy_ms",
        field: true,
        title: "BUSY",
        unit: Unit::Millis,
        value: |s| ms(s.counters.busy_us),
        place: 0,
        ui: None,
        table: false,
        alert: None,
        live: false,
        prom: seconds("busy_seconds", "Time busy sending data (tcpi_busy_time)."),
    },
    Metric {
        name: "rwnd_limited_ms",
        field: true,
        title: "RWND LIMITED",
        unit: Unit::Millis,
        value: |s| ms(s.counters.rwnd_limited_us),
        place: 0,
        ui: None,
        table: false,
        alert: None,
        live: false,
        prom: seconds(
            "rwnd_limited_seconds",
            "Time sending was limited by the receive window (tcpi_rwnd_limited).",
        ),
    },
    Metric {
        name: "sndbuf_limited_ms",
        field: true,
        title: "SNDBUF LIMITED",
        unit: Unit::Millis,
        value: |s| ms(s.counters.sndbuf_limited_us),
        place: 0,
        ui: None,
        table: false,
        alert: None,
        live: false,
        prom: seconds(
            "sndbuf_limited_seconds",
            "Time sending was limited by the send buffer (tcpi_sndbuf_limited).",
        ),
    },
    Metric {
        name: "opened",
        field: true,
        title: "OPENED",
        unit: Unit::Count,
        value: |s| live(s, s.counters.opened),
        place: 0,
        ui: None,
        table: false,
        alert: None,
        live: true,
        prom: counter("opened", "Connections that became established."),
    },
    Metric {
        name: "open",
        field: true,
        title: "OPEN",
        unit: Unit::Gauge,
        value: |s| live(s, s.open),
        place: 17,
        ui: ui(6, 5),
        table: true,
        alert: None,
        live: true,
        prom: gauge(
            "open_connections",
            "Connections open at the latest pass over the open sockets.",
        ),
    },
];

/// A metric, by its index in [`METRICS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MetricId(u8);

impl MetricId {
    /// Bytes sent plus received: the default sort.
    pub const BYTES: MetricId = MetricId(0);

    /// Every metric, in [`METRICS`] order.
    pub fn all() -> impl Iterator<Item = MetricId> {
        (0..METRICS.len() as u8).map(MetricId)
    }

    /// The metric named `name`.
    pub fn named(name: &str) -> Option<MetricId> {
        MetricId::all().find(|m| m.metric().name == name)
    }

    /// Its description.
    pub fn metric(self) -> &'static Metric {
        &METRICS[usize::from(self.0)]
    }

    /// The metric's name.
    pub fn name(self) -> &'static str {
        self.metric().name
    }

    /// Its value in row `s`.
    pub fn value(self, s: &RowStats) -> Option<Num> {
        (self.metric().value)(s)
    }

    /// Its value in row `s`, for people (totals: never per second).
    pub fn format(self, s: &RowStats) -> String {
        self.metric().unit.format(self.value(s))
    }

    /// The metrics people see with `keep`, by place, left to right.
    pub fn shown(keep: impl Fn(&Metric) -> bool) -> Vec<MetricId> {
        let mut ids: Vec<MetricId> = MetricId::all()
            .filter(|m| m.metric().place > 0 && keep(m.metric()))
            .collect();
        ids.sort_by_key(|m| m.metric().place);
        ids
    }

    /// The metrics the daemon exports to Prometheus, with their families.
    pub fn exported() -> impl Iterator<Item = (MetricId, &'static Prom)> {
        MetricId::all().filter_map(|m| m.metric().prom.as_ref().map(|p| (m, p)))
    }

    /// The JSON/CSV fields, in contract order.
    pub fn fields() -> impl Iterator<Item = MetricId> {
        MetricId::all().filter(|m| m.metric().field)
    }
}

impl fmt::Display for MetricId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for MetricId {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MetricId::named(s.trim()).ok_or_else(|| {
            let names: Vec<_> = METRICS.iter().map(|m| m.name).collect();
            format!("unknown sort column '{s}': use one of {}", names.join(", "))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        for m in MetricId::all() {
            assert_eq!(m.name().parse::<MetricId>().unwrap(), m);
        }
        assert_eq!(MetricId::BYTES.name(), "bytes");
        assert!("nope"
            .parse::<MetricId>()
            .unwrap_err()
            .contains("bytes_sent"));
        let mut places: Vec<u8> = METRICS.iter().map(|m| m.place).filter(|p| *p > 0).collect();
        places.sort_unstable();
        places.dedup();
        assert_eq!(places.len(), METRICS.iter().filter(|m| m.place > 0).count());
    }

    #[test]
    fn units_format_values() {
        assert_eq!(Unit::Bytes.format(Some(Num::Int(2048))), "2 KiB");
        assert_eq!(Unit::Millis.format(Some(Num::Int(5))), "5.0ms");
        assert_eq!(Unit::Percent.format(Some(Num::Real(1.0))), "1.00%");
        assert_eq!(Unit::Count.format(None), "-");
        assert_eq!(Unit::ByteRate.format(Some(Num::Int(3 << 20))), "3 MiB/s");
        assert!(Num::Real(0.5).order() < Num::Real(2.0).order());
    }
}
