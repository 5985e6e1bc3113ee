//! One socket as `--connections` lists it, `ss -ti` style: its state, direction and
//! ends, what it did in the window (the metrics of [`METRICS`](super::metric::METRICS),
//! as a row of one), and its congestion state now or at close.
use std::{net::SocketAddr, time::Duration};

use super::stats::{Known, RowStats};
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
