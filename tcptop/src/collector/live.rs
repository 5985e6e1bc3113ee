//! Live sockets: each pass of the kernel's sampler reports every tagged TCP socket's
//! cumulative counters; the [`Tracker`] turns them into what each socket did since the
//! previous pass, and makes a close count only what its last pass had not.
//!
//! For any window and socket the counts add up to the counters at the window's end (or
//! at close) minus those at its start (or at open): a socket found open at start-up
//! counts from its first pass, a socket that became established in the window counts
//! from zero, and a socket's close counts its final counters minus its last pass.
use std::{collections::HashMap, net::SocketAddr, sync::Arc};

use super::{CloseEvent, Counters, Gauges, Origin};

/// One open socket, as a pass of the sampler saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SockSample {
    /// The socket's tag: unique for its life, also on its close record.
    pub id: u64,
    /// Local address and port.
    pub local: SocketAddr,
    /// Peer address and port.
    pub peer: SocketAddr,
    /// Its counters since it opened (`connections`, `failed_connects`, `opened` 0).
    pub counters: Counters,
    /// Smoothed RTT in microseconds; 0 before the first measurement.
    pub srtt_us: u32,
    /// Who opened it, where the kernel saw the open.
    pub origin: Origin,
    /// Nanoseconds since boot when it was tagged.
    pub since_ns: u64,
    /// Tagged when it became established (else: found open at start-up).
    pub seen_open: bool,
    /// Its TCP state (see `tcptop_common::tcp_state`).
    pub state: u8,
    /// Its congestion state.
    pub gauges: Gauges,
    /// Its cgroup's names (see [`super::CloseEvent::cgroup`]).
    pub cgroup: Option<Arc<str>>,
    /// The name of a process that holds it.
    pub process: Option<Arc<str>>,
}

/// What one live socket did since the previous pass.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveDelta {
    /// The socket's tag.
    pub id: u64,
    /// Local address and port.
    pub local: SocketAddr,
    /// Peer address and port.
    pub peer: SocketAddr,
    /// The growth of its counters; `opened` is 1 the first time a socket that became
    /// established in the window is seen.
    pub counters: Counters,
    /// Its latest smoothed RTT in microseconds.
    pub srtt_us: u32,
    /// Who opened it.
    pub origin: Origin,
    /// Nanoseconds since boot when it was tagged.
    pub since_ns: u64,
    /// Its TCP state at the pass.
    pub state: u8,
    /// Its congestion state at the pass.
    pub gauges: Gauges,
    /// Its cgroup's names (see [`super::CloseEvent::cgroup`]).
    pub cgroup: Option<Arc<str>>,
    /// The name of a process that holds it.
    pub process: Option<Arc<str>>,
}

/// A socket the tracker follows.
#[derive(Clone, Debug)]
struct Tracked {
    /// Counters as of the last pass (zero for a socket counted from its open).
    last: Counters,
    /// The pass that saw it last.
    pass: u64,
    /// Who holds it, and the cgroup that made it, as the passes saw them: a close
    /// record of an accepted socket has no process (it opened in softirq).
    process: Option<Arc<str>>,
    cgroup: Option<Arc<str>>,
}

/// What a pass came to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PassEnd {
    /// Sockets open now.
    pub open: usize,
    /// Sockets that were open and are gone without a close record (their storage died
    /// with them, or the record was lost): they no longer count as open.
    pub gone: Vec<u64>,
}

/// How many passes a socket that no pass finds any more is remembered: its close, if it
/// comes (a socket whose last descriptor was closed lingers in FIN_WAIT or LAST_ACK),
/// counts only what its passes had not.
pub const VANISHED_PASSES: u64 = 600;

/// The most vanished sockets remembered; beyond, the oldest are forgotten (their close
/// would count whole).
pub const VANISHED_MAX: usize = 100_000;

/// Follows live sockets across passes and closes.
#[derive(Clone, Debug, Default)]
pub struct Tracker {
    socks: HashMap<u64, Tracked>,
    /// Sockets no pass finds any more, with their last counters.
    vanished: HashMap<u64, Tracked>,
    /// Sockets closed recently: a pass that ran while they closed must not bring them
    /// back. Kept for two passes.
    closed: HashMap<u64, u64>,
    pass: u64,
}

impl Tracker {
    /// A tracker with nothing seen yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts a pass.
    pub fn begin_pass(&mut self) {
        self.pass += 1;
    }

    /// Takes one socket of the pass in progress: what it did since its last pass, or
    /// `None` when it did nothing (or already closed).
    pub fn sample(&mut self, s: &SockSample) -> Option<LiveDelta> {
        if self.closed.contains_key(&s.id) {
            return None;
        }
        let pass = self.pass;
        let (delta, first) = match self.socks.get_mut(&s.id) {
            Some(t) => {
                let d = s.counters.since(&t.last);
                t.last = s.counters;
                t.pass = pass;
                t.process.clone_from(&s.process);
                (d, false)
            }
            None => {
                // Established in the window: all of its life counts. Found open at
                // start-up: it counts from here.
                let base = if s.seen_open {
                    Counters::default()
                } else {
                    s.counters
                };
                self.socks.insert(
                    s.id,
                    Tracked {
                        last: s.counters,
                        pass,
                        process: s.process.clone(),
                        cgroup: s.cgroup.clone(),
                    },
                );
                let mut d = s.counters.since(&base);
                d.opened = u64::from(s.seen_open);
                (d, true)
            }
        };
        let idle = delta == Counters::default();
        (!idle || first).then_some(LiveDelta {
            id: s.id,
            local: s.local,
            peer: s.peer,
            counters: delta,
            srtt_us: s.srtt_us,
            origin: s.origin,
            since_ns: s.since_ns,
            state: s.state,
            gauges: s.gauges,
            cgroup: s.cgroup.clone(),
            process: s.process.clone(),
        })
    }

    /// Ends the pass in progress: sockets it did not see are gone.
    pub fn end_pass(&mut self) -> PassEnd {
        let pass = self.pass;
        let gone: Vec<u64> = self
            .socks
            .iter()
            .filter(|(_, t)| t.pass < pass)
            .map(|(id, _)| *id)
            .collect();
        for id in &gone {
            if let Some(t) = self.socks.remove(id) {
                self.vanished.insert(*id, t);
            }
        }
        self.vanished.retain(|_, t| t.pass + VANISHED_PASSES > pass);
        if self.vanished.len() > VANISHED_MAX {
            let mut by_age: Vec<(u64, u64)> =
                self.vanished.iter().map(|(id, t)| (t.pass, *id)).collect();
            by_age.sort_unstable();
            let extra = self.vanished.len() - VANISHED_MAX;
            for (_, id) in &by_age[..extra] {
                self.vanished.remove(id);
            }
        }
        self.closed.retain(|_, at| *at + 2 > pass);
        PassEnd {
            open: self.socks.len(),
            gone,
        }
    }

    /// Makes a close count only what the socket's passes had not: its final counters
    /// minus its last pass. A socket no pass saw counts whole, and counts as opened
    /// when its open was seen (live sampling tags every socket that opens).
    pub fn close(&mut self, e: &mut CloseEvent) {
        let Some(id) = e.id else {
            return;
        };
        self.closed.insert(id, self.pass);
        match self.socks.remove(&id).or_else(|| self.vanished.remove(&id)) {
            Some(t) => {
                if e.process.is_none() {
                    e.process = t.process;
                }
                if e.cgroup.is_none() {
                    e.cgroup = t.cgroup;
                }
                let (connections, failed) = (e.counters.connections, e.counters.failed_connects);
                e.counters = e.counters.since(&t.last);
                (e.counters.connections, e.counters.failed_connects) = (connections, failed);
            }
            None => {
                e.counters.opened = u64::from(!e.failed_connect() && e.lifetime_us.is_some());
            }
        }
    }

    /// Sockets open as of the last pass.
    pub fn open(&self) -> usize {
        self.socks.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(id: u64, sent: u64, seen_open: bool) -> SockSample {
        SockSample {
            id,
            local: "10.0.0.1:40000".parse().unwrap(),
            peer: "10.0.0.2:5432".parse().unwrap(),
            counters: Counters {
                bytes_sent: sent,
                bytes_received: sent / 2,
                retransmits: sent / 1000,
                ..Counters::default()
            },
            srtt_us: 100,
            origin: Origin::Connect,
            since_ns: 1,
            seen_open,
            state: 1,
            gauges: Gauges::default(),
            cgroup: None,
            process: None,
        }
    }

    fn close(id: u64, sent: u64) -> CloseEvent {
        CloseEvent {
            local: "10.0.0.1:40000".parse().unwrap(),
            peer: "10.0.0.2:5432".parse().unwrap(),
            counters: Counters {
                connections: 1,
                bytes_sent: sent,
                bytes_received: sent / 2 + 1,
                retransmits: sent / 1000,
                ..Counters::default()
            },
            srtt_us: 120,
            origin: Origin::Connect,
            lifetime_us: Some(5),
            id: Some(id),
            gauges: Gauges::default(),
            cgroup: None,
            process: None,
        }
    }

    /// Runs one pass over `samples`, returning the bytes sent it counted.
    fn pass(t: &mut Tracker, samples: &[SockSample]) -> (u64, PassEnd) {
        t.begin_pass();
        let sent = samples
            .iter()
            .filter_map(|s| t.sample(s))
            .map(|d| d.counters.bytes_sent)
            .sum();
        (sent, t.end_pass())
    }

    #[test]
    fn a_socket_found_open_counts_from_its_first_pass() {
        let mut t = Tracker::new();
        let (sent, end) = pass(&mut t, &[sample(1, 5_000, false)]);
        assert_eq!((sent, end.open), (0, 1), "the first pass is the baseline");
        assert_eq!(pass(&mut t, &[sample(1, 7_000, false)]).0, 2_000);
        assert_eq!(pass(&mut t, &[sample(1, 7_000, false)]).0, 0, "idle");
        let mut c = close(1, 9_000);
        t.close(&mut c);
        assert_eq!(
            c.counters.bytes_sent, 2_000,
            "the close counts the rest only"
        );
        assert_eq!((c.counters.connections, c.counters.opened), (1, 0));
        assert_eq!(t.open(), 0);
    }

    #[test]
    fn a_socket_opened_in_the_window_counts_whole_and_once() {
        let mut t = Tracker::new();
        t.begin_pass();
        let d = t.sample(&sample(2, 3_000, true)).unwrap();
        assert_eq!((d.counters.bytes_sent, d.counters.opened), (3_000, 1));
        t.end_pass();
        assert_eq!(pass(&mut t, &[sample(2, 4_000, true)]).0, 1_000);
        let mut c = close(2, 4_500);
        t.close(&mut c);
        assert_eq!((c.counters.bytes_sent, c.counters.opened), (500, 0));
        // Sampled once more by a pass that ran while it closed: ignored.
        assert_eq!(
            pass(&mut t, &[sample(2, 4_500, true)]),
            (0, PassEnd::default())
        );
    }

    #[test]
    fn a_socket_no_pass_saw_counts_whole_at_close() {
        let mut t = Tracker::new();
        let mut c = close(3, 800);
        t.close(&mut c);
        assert_eq!((c.counters.bytes_sent, c.counters.opened), (800, 1));
        let mut untagged = close(9, 800);
        untagged.id = None;
        Tracker::new().close(&mut untagged);
        assert_eq!(
            (untagged.counters.bytes_sent, untagged.counters.opened),
            (800, 0)
        );
    }

    #[test]
    fn a_socket_that_vanishes_is_gone_but_its_close_still_subtracts() {
        let mut t = Tracker::new();
        pass(&mut t, &[sample(4, 1_000, false), sample(5, 1, false)]);
        pass(&mut t, &[sample(4, 3_000, false), sample(5, 1, false)]);
        let (_, end) = pass(&mut t, &[sample(5, 1, false)]);
        assert_eq!((end.open, end.gone), (1, vec![4]));
        // Its last descriptor closed, it lingered, then closed: only the rest counts.
        let mut c = close(4, 3_500);
        t.close(&mut c);
        assert_eq!(c.counters.bytes_sent, 500);
    }
}
