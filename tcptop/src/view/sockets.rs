//! One socket as `--connections` lists it, `ss -ti` style: its state, direction and
//! ends, what it did in the window (the metrics of [`METRICS`](super::metric::METRICS),
//! as a row of one), and its congestion state now or at close, described once in
//! [`GAUGES`] for the JSON and the UI alike.
use std::{net::SocketAddr, time::Duration};

use super::{
    metric::{Num, Unit},
    stats::{Known, RowStats},
};
use crate::{
    aggregation::OpenSocket,
    attribution::AttributedClose,
    collector::{Counters, Gauges, Origin},
};

/// One socket of a row.
#[derive(Clone, Debug, PartialEq)]
pub struct Socket {
    /// Its state as `ss` names it (`ESTAB`, `FIN-WAIT-1`, ...), or how it closed:
    /// `CLOSED`, or for a connect that never completed `REFUSED`, `TIMEOUT` or `FAILED`.
    pub state: &'static str,
    /// `out` when this side connected, `in` when it accepted; `None` when unknown.
    pub direction: Option<&'static str>,
    /// Local address and port.
    pub local: SocketAddr,
    /// Peer address and port.
    pub peer: SocketAddr,
    /// How long it has been open, where its open was seen (open sockets).
    pub age: Option<Duration>,
    /// Open to close in microseconds, where known (closed sockets).
    pub lifetime_us: Option<u64>,
    /// What it did in the window, as a row of one socket.
    pub stats: RowStats,
    /// Its smoothed RTT in microseconds (0: none measured).
    pub srtt_us: u32,
    /// Its congestion state.
    pub gauges: Gauges,
}

/// One of a socket's own values beyond the row metrics: its JSON field, its title for
/// people, its unit and its value (`None`: not known).
pub struct Gauge {
    /// The JSON field.
    pub name: &'static str,
    /// The UI's title.
    pub title: &'static str,
    /// What its numbers are.
    pub unit: Unit,
    /// Its value.
    pub value: fn(&Socket) -> Option<Num>,
}

/// The kernel's ssthresh before the first loss (`TCP_INFINITE_SSTHRESH`): `ss` leaves
/// it out, and so does tcptop.
const INFINITE_SSTHRESH: u32 = 0x7fff_ffff;

fn int(n: impl Into<u64>) -> Option<Num> {
    Some(Num::Int(n.into()))
}

/// A socket's congestion state, in JSON order. An srtt of 0 (none measured) and an
/// infinite ssthresh are not known.
pub static GAUGES: [Gauge; 7] = [
    Gauge {
        name: "srtt_us",
        title: "SRTT",
        unit: Unit::Micros,
        value: |k| (k.srtt_us > 0).then(|| Num::Int(k.srtt_us.into())),
    },
    Gauge {
        name: "rttvar_us",
        title: "RTTVAR",
        unit: Unit::Micros,
        value: |k| int(k.gauges.rttvar_us),
    },
    Gauge {
        name: "cwnd",
        title: "CWND",
        unit: Unit::Count,
        value: |k| int(k.gauges.cwnd),
    },
    Gauge {
        name: "ssthresh",
        title: "SSTHRESH",
        unit: Unit::Count,
        value: |k| {
            (k.gauges.ssthresh < INFINITE_SSTHRESH).then(|| Num::Int(k.gauges.ssthresh.into()))
        },
    },
    Gauge {
        name: "unacked",
        title: "UNACKED",
        unit: Unit::Count,
        value: |k| int(k.gauges.unacked),
    },
    Gauge {
        name: "delivery_rate",
        title: "DELIVERY",
        unit: Unit::ByteRate,
        value: |k| int(k.gauges.delivery_rate),
    },
    Gauge {
        name: "mss",
        title: "MSS",
        // Bytes, but as `ss` shows it: 1448, not 1.41 KiB.
        unit: Unit::Count,
        value: |k| int(k.gauges.mss),
    },
];

impl Gauge {
    /// Its value for socket `k`, for people.
    pub fn format(&self, k: &Socket) -> String {
        self.unit.format((self.value)(k))
    }
}

/// The gauge named `name`.
pub fn gauge(name: &str) -> Option<&'static Gauge> {
    GAUGES.iter().find(|g| g.name == name)
}

/// `ss`'s name for the kernel's TCP state `state`.
pub fn state_name(state: u8) -> &'static str {
    match state {
        1 => "ESTAB",
        2 => "SYN-SENT",
        3 => "SYN-RECV",
        4 => "FIN-WAIT-1",
        5 => "FIN-WAIT-2",
        6 => "TIME-WAIT",
        7 => "CLOSED",
        8 => "CLOSE-WAIT",
        9 => "LAST-ACK",
        10 => "LISTEN",
        11 => "CLOSING",
        _ => "UNKNOWN",
    }
}

/// How a closed socket ended, from its counters.
pub fn closed_state(c: &Counters) -> &'static str {
    match (c.failed_connects > 0, c.refused > 0, c.timed_out > 0) {
        (false, _, _) => "CLOSED",
        (true, true, _) => "REFUSED",
        (true, false, true) => "TIMEOUT",
        (true, false, false) => "FAILED",
    }
}

/// `out`, `in` or nothing.
pub fn direction(o: Origin) -> Option<&'static str> {
    match o {
        Origin::Connect => Some("out"),
        Origin::Accept => Some("in"),
        Origin::Unknown => None,
    }
}

/// A row of one socket that did `counters` with srtt `srtt_us`.
fn one(counters: Counters, srtt_us: u32, known: Known, open: bool) -> RowStats {
    let srtt = (srtt_us > 0).then_some(u64::from(srtt_us));
    RowStats {
        counters,
        srtt_p50_us: srtt,
        srtt_p90_us: srtt,
        srtt_p99_us: srtt,
        srtt_max_us: srtt,
        open: u64::from(open),
        known,
    }
}

impl Socket {
    /// An open socket, at a pass whose kernel clock read `now_ns`.
    pub fn open(s: &OpenSocket, known: Known, now_ns: u64) -> Self {
        let d = &s.last.delta;
        Self {
            state: state_name(d.state),
            direction: direction(d.origin),
            local: d.local,
            peer: d.peer,
            age: (d.since_ns > 0).then(|| Duration::from_nanos(now_ns.saturating_sub(d.since_ns))),
            lifetime_us: None,
            stats: one(s.total, d.srtt_us, known, true),
            srtt_us: d.srtt_us,
            gauges: d.gauges,
        }
    }

    /// A socket that closed.
    pub fn closed(c: &AttributedClose, known: Known) -> Self {
        let e = &c.event;
        Self {
            state: closed_state(&e.counters),
            direction: direction(e.origin),
            local: e.local,
            peer: e.peer,
            age: None,
            lifetime_us: e.lifetime_us,
            stats: one(e.counters, e.srtt_us, known, false),
            srtt_us: e.srtt_us,
            gauges: e.gauges,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_states_as_ss_does() {
        assert_eq!(state_name(1), "ESTAB");
        assert_eq!(state_name(4), "FIN-WAIT-1");
        assert_eq!(state_name(99), "UNKNOWN");
        let failed = |refused, timed_out| Counters {
            failed_connects: 1,
            refused,
            timed_out,
            ..Counters::default()
        };
        assert_eq!(closed_state(&failed(1, 0)), "REFUSED");
        assert_eq!(closed_state(&failed(0, 1)), "TIMEOUT");
        assert_eq!(closed_state(&failed(0, 0)), "FAILED");
        assert_eq!(closed_state(&Counters::default()), "CLOSED");
        assert_eq!(direction(Origin::Accept), Some("in"));
    }
}
