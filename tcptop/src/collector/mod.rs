//! The collector: close records from the kernel, decoded into [`CloseEvent`]s, plus the
//! totals of records that overflowed the ring buffer ([`FoldedTotals`]).
//!
//! `btf` and `offsets` read the kernel's layout from BTF, `kernel` loads and drains the eBPF
//! program, `decode` turns its raw records into userspace types, `memlock` lifts the
//! locked-memory limit old kernels charge maps to.
pub mod btf;
pub mod decode;
pub mod kernel;
pub mod memlock;
pub mod misses;
pub mod offsets;

use std::net::{IpAddr, SocketAddr};

use serde::{Deserialize, Serialize};

/// Who opened a connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// The open happened before tcptop started, or was not tracked.
    #[default]
    Unknown,
    /// This side called `connect()`.
    Connect,
    /// This side accepted it.
    Accept,
}

/// RTO counters of a socket (Linux 6.7+).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RtoCounters {
    /// Retransmission timeouts.
    pub timeouts: u64,
    /// RTO recovery episodes.
    pub recoveries: u64,
    /// Milliseconds spent in RTO recovery.
    pub time_ms: u64,
}

impl std::ops::AddAssign for RtoCounters {
    fn add_assign(&mut self, o: Self) {
        self.timeouts += o.timeouts;
        self.recoveries += o.recoveries;
        self.time_ms += o.time_ms;
    }
}

/// One TCP socket that reached CLOSE, with its final counters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloseEvent {
    /// Local address and port.
    pub local: SocketAddr,
    /// Peer address and port.
    pub peer: SocketAddr,
    /// Bytes sent, retransmissions included.
    pub bytes_sent: u64,
    /// Bytes received (the peer's FIN counts as one).
    pub bytes_received: u64,
    /// Segments retransmitted.
    pub retransmits: u64,
    /// Segments marked lost over the connection's life.
    pub lost: u64,
    /// Smoothed RTT in microseconds; 0 when the socket never measured one.
    pub srtt_us: u32,
    /// RTO counters, where the kernel has them.
    pub rto: Option<RtoCounters>,
    /// True for a connect that never completed (SYN_SENT -> CLOSE).
    pub failed_connect: bool,
    /// Who opened it.
    pub origin: Origin,
    /// Open-to-close time in microseconds, where the open was seen.
    pub lifetime_us: Option<u64>,
}

/// Totals of records the ring buffer could not take, for one address pair, since the
/// previous drain. Their per-socket detail (ports, srtt) is lost; their sums are not.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FoldedTotals {
    /// Local address.
    pub local: IpAddr,
    /// Peer address.
    pub peer: IpAddr,
    /// Closed sockets folded in.
    pub records: u64,
    /// Of those, failed connects.
    pub failed_connects: u64,
    /// Sum of bytes sent.
    pub bytes_sent: u64,
    /// Sum of bytes received.
    pub bytes_received: u64,
    /// Sum of retransmits.
    pub retransmits: u64,
    /// Sum of lost segments.
    pub lost: u64,
    /// Sum of RTO counters, where the kernel has them.
    pub rto: Option<RtoCounters>,
}

/// Counters of records whose detail, or whole self, was lost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DropCounters {
    /// Records folded into the overflow aggregate: totals exact, detail lost.
    pub folded: u64,
    /// Records lost entirely: ring buffer and overflow map were both full.
    pub lost: u64,
    /// Closes the kernel never ran the program for (it was already running on that
    /// CPU, interrupted by another close). Absent from older recordings.
    #[serde(default)]
    pub missed: u64,
}

impl DropCounters {
    /// Records whose detail was lost: folded (totals kept) and lost entirely.
    pub fn dropped(&self) -> u64 {
        self.folded + self.lost + self.missed
    }

    /// Records lost entirely, totals included.
    pub fn lost_entirely(&self) -> u64 {
        self.lost + self.missed
    }
}
