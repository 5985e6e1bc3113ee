//! The collector: close records from the kernel, decoded into [`CloseEvent`]s, plus the
//! totals of records that overflowed the ring buffer ([`FoldedTotals`]). Both carry
//! [`Counters`], the one counter set every later layer sums.
//!
//! `btf` and `offsets` read the kernel's layout from BTF, `hz` its tick rate, `kernel`
//! loads and drains the eBPF program, `decode` turns its raw records into userspace
//! types, `memlock` lifts the locked-memory limit old kernels charge maps to, `cost`
//! measures what tcptop itself costs.
pub mod btf;
pub mod cgroups;
pub mod cost;
pub mod counters;
pub mod decode;
pub mod histogram;
pub mod hz;
pub mod kernel;
pub mod live;
pub mod memlock;
pub mod misses;
pub mod offsets;
pub mod sampler;

use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
};

use serde::{Deserialize, Serialize};

pub use counters::{Counters, Limit};

/// Which counters the source knows. A kernel without RTO counters, or without live
/// sampling, leaves those values unknown (null), never 0.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Known {
    /// The RTO counters (Linux 6.7+).
    pub rto: bool,
    /// Live sampling of open sockets: `opened` and `open`.
    pub live: bool,
}

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

/// One TCP socket that reached CLOSE, with its final counters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloseEvent {
    /// Local address and port.
    pub local: SocketAddr,
    /// Peer address and port.
    pub peer: SocketAddr,
    /// Its final counters; `connections` or `failed_connects` is 1.
    pub counters: Counters,
    /// Smoothed RTT in microseconds; 0 when the socket never measured one.
    pub srtt_us: u32,
    /// Who opened it.
    pub origin: Origin,
    /// Open-to-close time in microseconds, where the open was seen.
    pub lifetime_us: Option<u64>,
    /// The socket's live-sampling tag, where live sampling tagged it.
    pub id: Option<u64>,
    /// Its congestion state at close.
    pub gauges: Gauges,
    /// The names of the cgroup that made it, `parent/leaf` (for a pod's container:
    /// the pod's slice and the container's scope), where the kernel gave them.
    pub cgroup: Option<Arc<str>>,
    /// The local process's name, where known: the one that connected.
    pub process: Option<Arc<str>>,
}

/// A socket's state at one moment, as `ss -ti` shows it: values, not sums.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Gauges {
    /// RTT variance in microseconds (`tcpi_rttvar`).
    pub rttvar_us: u32,
    /// Congestion window in segments (`tcpi_snd_cwnd`).
    pub cwnd: u32,
    /// Slow-start threshold in segments (`tcpi_snd_ssthresh`; very large before the
    /// first loss).
    pub ssthresh: u32,
    /// Segments sent and not yet acknowledged (`tcpi_unacked`).
    pub unacked: u32,
    /// Delivery rate of the last sample, bytes per second (`tcpi_delivery_rate`).
    pub delivery_rate: u64,
    /// The send MSS in bytes.
    pub mss: u32,
}

/// One record from the kernel's ring buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    /// A socket closed.
    Close(CloseEvent),
    /// A reset sent or received: totals of one pair with no socket behind them.
    Reset(FoldedTotals),
}

impl CloseEvent {
    /// True for a connect that never completed (SYN_SENT -> CLOSE).
    pub fn failed_connect(&self) -> bool {
        self.counters.failed_connects > 0
    }
}

/// Totals of one address pair without per-socket detail: the records the ring buffer
/// could not take since the previous drain (their ports and srtt are lost, their sums
/// are not), or one reset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FoldedTotals {
    /// Local address.
    pub local: IpAddr,
    /// Peer address.
    pub peer: IpAddr,
    /// The sums of the records folded in.
    pub counters: Counters,
}

/// Counters of records whose detail, or whole self, was lost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DropCounters {
    /// Records folded into an overflow map: totals exact, detail lost.
    pub folded: u64,
    /// Records lost entirely: the ring buffer was full and the overflow map had no room
    /// for a new pair.
    pub lost: u64,
    /// Closes the kernel never ran the program for (it was already running on that
    /// CPU, interrupted by another close). Absent from older recordings.
    #[serde(default)]
    pub missed: u64,
    /// Opens whose note found no free slot and displaced another open socket's: that
    /// socket's close lost its lifetime and process, and the live sampler counted it
    /// from its next pass. Absent from older recordings.
    #[serde(default)]
    pub unnoted: u64,
}

impl DropCounters {
    /// Records whose detail was lost: folded (totals kept), lost entirely, and
    /// displaced open notes.
    pub fn dropped(&self) -> u64 {
        self.folded + self.lost + self.missed + self.unnoted
    }

    /// Records lost entirely, totals included.
    pub fn lost_entirely(&self) -> u64 {
        self.lost + self.missed
    }

    /// The growth from `before` to `self`.
    pub fn since(&self, before: &DropCounters) -> DropCounters {
        DropCounters {
            folded: self.folded.saturating_sub(before.folded),
            lost: self.lost.saturating_sub(before.lost),
            missed: self.missed.saturating_sub(before.missed),
            unnoted: self.unnoted.saturating_sub(before.unnoted),
        }
    }
}
