//! Record types shared by the tcptop eBPF program and its userspace.
//!
//! Everything here is `#[repr(C)]` plain data: the kernel writes it into maps and the
//! ring buffer, userspace reads the same bytes back.
#![no_std]

/// Kernel TCP state numbers (`include/net/tcp_states.h`).
pub mod tcp_state {
    /// Connection established.
    pub const ESTABLISHED: u8 = 1;
    /// Active open in progress.
    pub const SYN_SENT: u8 = 2;
    /// Passive open in progress.
    pub const SYN_RECV: u8 = 3;
    /// The socket is closed.
    pub const CLOSE: u8 = 7;
    /// Listening socket.
    pub const LISTEN: u8 = 10;
}

/// Who opened a connection, as far as the program could tell.
pub mod origin {
    /// The open was not seen (the socket predates tcptop, or the tracking map was full).
    pub const UNKNOWN: u8 = 0;
    /// This side called `connect()`.
    pub const CONNECT: u8 = 1;
    /// This side accepted the connection from a listener.
    pub const ACCEPT: u8 = 2;
}

/// Sentinel offset for a field that the running kernel does not have.
pub const FIELD_MISSING: u32 = u32::MAX;

/// Kernel structure offsets resolved from BTF at start-up and handed to the program as
/// the global `CONFIG`. Rust eBPF has no CO-RE relocations, so this is how the program
/// learns the running kernel's layout.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// `sock_common.skc_family` (u16).
    pub family: u32,
    /// `sock_common.skc_daddr` (IPv4 peer, be32).
    pub daddr: u32,
    /// `sock_common.skc_rcv_saddr` (IPv4 local, be32).
    pub rcv_saddr: u32,
    /// `sock_common.skc_dport` (peer port, be16).
    pub dport: u32,
    /// `inet_sock.inet_sport` (local port, be16). Not `skc_num`: the kernel zeroes
    /// that when it releases the port, just before the socket reaches CLOSE.
    pub sport: u32,
    /// `sock_common.skc_v6_daddr` (16 bytes), or [`FIELD_MISSING`] without IPv6.
    pub v6_daddr: u32,
    /// `sock_common.skc_v6_rcv_saddr` (16 bytes), or [`FIELD_MISSING`] without IPv6.
    pub v6_rcv_saddr: u32,
    /// `sock.sk_protocol` (u16).
    pub protocol: u32,
    /// `tcp_sock.bytes_sent` (u64, 4.19+).
    pub bytes_sent: u32,
    /// `tcp_sock.bytes_received` (u64).
    pub bytes_received: u32,
    /// `tcp_sock.total_retrans` (u32).
    pub total_retrans: u32,
    /// `tcp_sock.lost` (u32).
    pub lost: u32,
    /// `tcp_sock.srtt_us` (u32, microseconds << 3).
    pub srtt_us: u32,
    /// `tcp_sock.total_rto` (u16, 6.7+), or [`FIELD_MISSING`].
    pub total_rto: u32,
    /// `tcp_sock.total_rto_recoveries` (u16, 6.7+), or [`FIELD_MISSING`].
    pub total_rto_recoveries: u32,
    /// `tcp_sock.total_rto_time` (u32 ms, 6.7+), or [`FIELD_MISSING`].
    pub total_rto_time: u32,
    /// `tcp_sock.rto_stamp` (u32 ms, 6.7+), or [`FIELD_MISSING`].
    pub rto_stamp: u32,
    /// Wake the reader only once this many bytes wait in the ring buffer; userspace
    /// also drains it on a short timer. A wakeup per record costs microseconds in a VM.
    pub wakeup_bytes: u32,
    /// `sock_common.skc_state` (u8), for the live sampler.
    pub skc_state: u32,
    /// `socket.sk` (a pointer), for the live sampler's walk of open files.
    pub socket_sk: u32,
    /// `sock_common.skc_cookie` (u64), a socket's id for the live sampler.
    pub skc_cookie: u32,
    /// 1 when the live sampler runs: the tracepoint tags sockets as they open.
    pub live: u32,
    /// `tcp_sock.data_segs_out` (u32).
    pub data_segs_out: u32,
    /// `tcp_sock.chrono_start` (u32 jiffies), or [`FIELD_MISSING`] with the other
    /// chrono fields.
    pub chrono_start: u32,
    /// `tcp_sock.chrono_stat` (u32[3] jiffies: busy, rwnd-limited, sndbuf-limited).
    pub chrono_stat: u32,
    /// The byte holding `tcp_sock.chrono_type` (a 2-bit value, a bitfield before 6.x).
    pub chrono_type: u32,
    /// The bit at which `chrono_type` starts within that byte.
    pub chrono_shift: u32,
    /// `sock.sk_err` (int): the error a socket closed with.
    pub sk_err: u32,
    /// `tcp_sock.snd_cwnd` (u32).
    pub snd_cwnd: u32,
    /// `tcp_sock.snd_ssthresh` (u32).
    pub snd_ssthresh: u32,
    /// `tcp_sock.mdev_us` (u32, the RTT variance in microseconds << 2).
    pub mdev_us: u32,
    /// `tcp_sock.packets_out` (u32): segments sent and not yet acknowledged.
    pub packets_out: u32,
    /// `tcp_sock.rate_delivered` (u32): segments delivered in the last rate sample.
    pub rate_delivered: u32,
    /// `tcp_sock.rate_interval_us` (u32): that sample's length.
    pub rate_interval_us: u32,
    /// `tcp_sock.mss_cache` (u32).
    pub mss_cache: u32,
    /// `sk_buff.head` (a pointer), to read the addresses of a packet a reset answers.
    pub skb_head: u32,
    /// `sk_buff.network_header` (u16 offset from `head`).
    pub skb_network_header: u32,
    /// `sk_buff.transport_header` (u16 offset from `head`).
    pub skb_transport_header: u32,
    /// `sock.sk_cgrp_data.cgroup` (a pointer: the cgroup v2 that made the socket), or
    /// [`FIELD_MISSING`].
    pub sk_cgroup: u32,
    /// `cgroup.kn` (a pointer to its kernfs node).
    pub cgroup_kn: u32,
    /// `kernfs_node.id` (u64, the cgroup's id, its directory's inode number).
    pub kn_id: u32,
    /// `kernfs_node.name` (a pointer to the directory's name).
    pub kn_name: u32,
    /// `kernfs_node.__parent` (`parent` before 6.15).
    pub kn_parent: u32,
    /// `task_struct.comm` (char[16]): a thread's name; read from the group leader,
    /// it is the process's.
    pub task_comm: u32,
    /// `task_struct.group_leader` (a pointer to the process's main thread).
    pub task_group_leader: u32,
}

impl Config {
    /// A configuration with every field missing; the program does nothing useful with it.
    pub const EMPTY: Config = Config {
        family: FIELD_MISSING,
        daddr: FIELD_MISSING,
        rcv_saddr: FIELD_MISSING,
        dport: FIELD_MISSING,
        sport: FIELD_MISSING,
        v6_daddr: FIELD_MISSING,
        v6_rcv_saddr: FIELD_MISSING,
        protocol: FIELD_MISSING,
        bytes_sent: FIELD_MISSING,
        bytes_received: FIELD_MISSING,
        total_retrans: FIELD_MISSING,
        lost: FIELD_MISSING,
        srtt_us: FIELD_MISSING,
        total_rto: FIELD_MISSING,
        total_rto_recoveries: FIELD_MISSING,
        total_rto_time: FIELD_MISSING,
        rto_stamp: FIELD_MISSING,
        wakeup_bytes: 0,
        skc_state: FIELD_MISSING,
        socket_sk: FIELD_MISSING,
        skc_cookie: FIELD_MISSING,
        live: 0,
        data_segs_out: FIELD_MISSING,
        chrono_start: FIELD_MISSING,
        chrono_stat: FIELD_MISSING,
        chrono_type: FIELD_MISSING,
        chrono_shift: 0,
        sk_err: FIELD_MISSING,
        snd_cwnd: FIELD_MISSING,
        snd_ssthresh: FIELD_MISSING,
        mdev_us: FIELD_MISSING,
        packets_out: FIELD_MISSING,
        rate_delivered: FIELD_MISSING,
        rate_interval_us: FIELD_MISSING,
        mss_cache: FIELD_MISSING,
        skb_head: FIELD_MISSING,
        skb_network_header: FIELD_MISSING,
        skb_transport_header: FIELD_MISSING,
        sk_cgroup: FIELD_MISSING,
        cgroup_kn: FIELD_MISSING,
        kn_id: FIELD_MISSING,
        kn_name: FIELD_MISSING,
        kn_parent: FIELD_MISSING,
        task_comm: FIELD_MISSING,
        task_group_leader: FIELD_MISSING,
    };
}

/// One TCP socket that reached CLOSE, as written to the `EVENTS` ring buffer.
///
/// Addresses are 16 bytes; IPv4 is stored IPv4-mapped (`::ffff:a.b.c.d`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CloseRecord {
    /// Local address.
    pub local_addr: [u8; 16],
    /// Peer address.
    pub peer_addr: [u8; 16],
    /// Bytes sent, retransmissions included.
    pub bytes_sent: u64,
    /// Bytes received (the peer's FIN counts as one).
    pub bytes_received: u64,
    /// Nanoseconds from the open to the close; 0 when the open was not seen.
    pub lifetime_ns: u64,
    /// The socket's live-sampling id: its cookie, or its address where it never had
    /// one; 0 without live sampling.
    pub sock_id: u64,
    /// The id of the cgroup (v2) that made the socket; its names are in
    /// `CGROUP_NAMES`. 0 when unknown.
    pub cgroup_id: u64,
    /// The local process's name, NUL-padded: the one that connected, or for a sample,
    /// one that holds the socket; zeros where unknown.
    pub comm: [u8; 16],
    /// Segments retransmitted.
    pub total_retrans: u32,
    /// Segments marked lost over the socket's life.
    pub lost: u32,
    /// Smoothed RTT in microseconds.
    pub srtt_us: u32,
    /// RTO timeouts (0 where the kernel lacks the field: userspace knows which).
    pub total_rto: u32,
    /// RTO recovery episodes.
    pub total_rto_recoveries: u32,
    /// Milliseconds spent in RTO recovery, an episode still open at close included.
    pub total_rto_time_ms: u32,
    /// Data segments sent, retransmissions included (`tcpi_data_segs_out`).
    pub data_segs_out: u32,
    /// Jiffies the socket was busy sending, limited by neither window nor buffer;
    /// limited by the receiver's window; limited by its own send buffer (the kernel's
    /// `chrono_stat`, the interval still running included, as TCP_INFO adds it).
    pub chrono: [u32; 3],
    /// Congestion window in segments.
    pub snd_cwnd: u32,
    /// Slow-start threshold in segments.
    pub snd_ssthresh: u32,
    /// RTT variance in microseconds (`tcpi_rttvar`).
    pub rttvar_us: u32,
    /// Segments sent and not yet acknowledged (`tcpi_unacked`).
    pub packets_out: u32,
    /// Segments delivered in the last delivery-rate sample.
    pub rate_delivered: u32,
    /// That sample's length in microseconds; 0 without a sample.
    pub rate_interval_us: u32,
    /// The send MSS in bytes.
    pub mss_cache: u32,
    /// Local port.
    pub local_port: u16,
    /// Peer port.
    pub peer_port: u16,
    /// The state the socket closed from (see [`tcp_state`]).
    pub old_state: u8,
    /// Who opened the connection (see [`origin`]).
    pub origin: u8,
    /// The socket's error (`sk_err`, an errno) at close: ECONNREFUSED for a connect a
    /// reset answered, ETIMEDOUT for one nothing answered.
    pub error: u8,
    /// Padding; always zero.
    pub _pad: [u8; 5],
}

const _: () = assert!(size_of::<CloseRecord>() == 168);

/// The `CGROUP_NAMES` map's size: distinct socket-making cgroups whose names are kept
/// (least recently used go first).
pub const CGROUP_NAMES: u32 = 4096;

/// Bytes kept of a cgroup directory's name (a containerd container's is 85).
pub const CGROUP_NAME_BYTES: usize = 128;

/// The names of a cgroup and of its parent, NUL-terminated, as the program read them
/// when it first saw a socket of that cgroup: for a pod's container, its scope
/// (`cri-containerd-<id>.scope`) and the pod's slice (`kubepods-...-pod<uid>.slice`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CgroupName {
    /// The cgroup's own directory name.
    pub leaf: [u8; CGROUP_NAME_BYTES],
    /// Its parent's.
    pub parent: [u8; CGROUP_NAME_BYTES],
}

/// Which way a reset went (see [`ResetRecord`]).
pub mod reset {
    /// This node sent it.
    pub const SENT: u8 = 1;
    /// This node received it.
    pub const RECEIVED: u8 = 2;
}

/// One TCP reset sent or received, as written to the `EVENTS` ring buffer; told apart
/// from a [`CloseRecord`] by its size.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ResetRecord {
    /// Local address, 16 bytes as in [`CloseRecord`].
    pub local_addr: [u8; 16],
    /// Peer address.
    pub peer_addr: [u8; 16],
    /// Local port.
    pub local_port: u16,
    /// Peer port.
    pub peer_port: u16,
    /// See [`reset`].
    pub kind: u8,
    /// Padding; always zero.
    pub _pad: [u8; 3],
}

const _: () = assert!(size_of::<ResetRecord>() == 40);

/// Key of the overflow maps: the address pair of a socket whose record did not fit
/// into the ring buffer.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PairKey {
    /// Local address, 16 bytes as in [`CloseRecord`].
    pub local_addr: [u8; 16],
    /// Peer address.
    pub peer_addr: [u8; 16],
}

/// Totals of the records folded into an overflow map for one address pair since
/// userspace last emptied that map: each drained value is a delta.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PairTotals {
    /// Records folded in (closes of established connections and failed connects).
    pub records: u64,
    /// Of those, failed connects (SYN_SENT -> CLOSE).
    pub failed_connects: u64,
    /// Sum of bytes_sent.
    pub bytes_sent: u64,
    /// Sum of bytes_received.
    pub bytes_received: u64,
    /// Sum of total_retrans.
    pub retrans: u64,
    /// Sum of lost.
    pub lost: u64,
    /// Sum of total_rto.
    pub rto: u64,
    /// Sum of total_rto_recoveries.
    pub rto_recoveries: u64,
    /// Sum of total_rto_time in milliseconds.
    pub rto_time_ms: u64,
    /// Of the failed connects, those a reset refused (ECONNREFUSED).
    pub refused: u64,
    /// Of the failed connects, those nothing answered (ETIMEDOUT).
    pub timed_out: u64,
    /// Resets sent (not records: they count nothing else).
    pub resets_sent: u64,
    /// Resets received.
    pub resets_received: u64,
    /// Sum of data_segs_out.
    pub data_segs_out: u64,
    /// Sums of the three chrono times, in jiffies.
    pub chrono: [u64; 3],
}

/// Address pairs each of the two overflow maps holds. Userspace empties one map on every
/// drain (every 100 ms), so this many distinct pairs may overflow between two drains
/// before a record is lost.
pub const OVERFLOW_PAIRS: u32 = 16_384;

/// Indexes into the per-CPU `STATS` array.
pub mod stat {
    /// Records that did not fit into the ring buffer and were folded into an overflow map.
    pub const FOLDED: u32 = 0;
    /// Records that fit nowhere: the ring buffer was full, and so was the overflow map.
    pub const LOST: u32 = 1;
    /// Opens that found both of their `OPENS` slots held by open sockets and took the
    /// first: that socket's close lost its lifetime and process, and the live sampler
    /// counts it from its next pass rather than from its open.
    pub const UNNOTED: u32 = 2;
    /// Number of slots in `STATS`.
    pub const COUNT: u32 = 3;
}

/// Number of slots of `OPENS` (a power of two).
pub const OPEN_SLOTS: u32 = 1 << 17;

const _: () = assert!(OPEN_SLOTS.is_power_of_two() && OPEN_SLOTS > 1);

/// Open-time facts about a socket, in one of the two `OPENS` slots its key indexes
/// ([`OpenSlot::index`], [`OpenSlot::other`]). The key is the socket's cookie, made at
/// the open (the compatibility program, for kernels without cookies in tracing
/// programs, keys by [`OpenSlot::address_key`]). Cookies count up, so sockets opened
/// one after another take slots one after another: two live sockets meet in a slot
/// only when one outlives [`OPEN_SLOTS`] later opens, and then the other slot is
/// tried; an open that finds both taken takes the first and counts
/// [`stat::UNNOTED`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct OpenSlot {
    /// The socket's key; 0 for an empty slot.
    pub key: u64,
    /// `bpf_ktime_get_ns()` at the open.
    pub start_ns: u64,
    /// `key ^ start_ns ^ origin`: a torn write by two CPUs at once fails this check.
    pub check: u64,
    /// See [`origin`].
    pub origin: u64,
    /// The name of the process that called `connect()` (the open runs in its
    /// context: its main thread's name); zeros for an accepted socket, opened in
    /// softirq.
    pub comm: [u8; 16],
}

impl OpenSlot {
    /// The first slot of key `key`.
    #[inline(always)]
    pub fn index(key: u64) -> u32 {
        (key & u64::from(OPEN_SLOTS - 1)) as u32
    }

    /// The other slot of the key whose first slot is `index`.
    #[inline(always)]
    pub fn other(index: u32) -> u32 {
        index ^ (OPEN_SLOTS >> 1)
    }

    /// The key of the socket at address `sk`: Fibonacci hashing, with the product's
    /// top bits, the well-mixed ones, rotated down into the slot bits (a bijection, so
    /// distinct sockets keep distinct keys).
    #[inline(always)]
    pub fn address_key(sk: u64) -> u64 {
        sk.wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_left(OPEN_SLOTS.trailing_zeros())
    }

    /// Whether this slot holds a whole note of `key`.
    #[inline(always)]
    pub fn holds(&self, key: u64) -> bool {
        key != 0 && self.key == key && self.check == self.key ^ self.start_ns ^ self.origin
    }
}

/// One open socket as a pass of the sampler writes it: its counters now, in the layout
/// of a close record, and what was noted of its open.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SampleRecord {
    /// Counters, addresses and ports now; `sock_id` is its id, `old_state` the state
    /// now, `lifetime_ns` 0.
    pub sock: CloseRecord,
    /// When it opened; 0 when the open was not seen.
    pub since_ns: u64,
    /// The socket's address in the kernel.
    pub sk_addr: u64,
    /// 1 when its open was seen.
    pub seen_open: u8,
    /// Padding; always zero.
    pub _pad: [u8; 7],
}

#[cfg(feature = "user")]
mod pod {
    // SAFETY: repr(C) integers and byte arrays with explicit padding (each below too).
    unsafe impl aya::Pod for super::Config {}
    // SAFETY: as above.
    unsafe impl aya::Pod for super::CloseRecord {}
    // SAFETY: as above.
    unsafe impl aya::Pod for super::ResetRecord {}
    // SAFETY: as above.
    unsafe impl aya::Pod for super::PairKey {}
    // SAFETY: as above.
    unsafe impl aya::Pod for super::PairTotals {}
    // SAFETY: as above.
    unsafe impl aya::Pod for super::SampleRecord {}
    // SAFETY: as above.
    unsafe impl aya::Pod for super::CgroupName {}
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::{collections::HashSet, vec::Vec};

    use super::*;

    #[test]
    fn address_keys_spread_over_the_whole_table() {
        // 100,000 socket-like addresses, 2 KiB apart (tcp_sock slab objects).
        let keys: Vec<u64> = (0..100_000u64)
            .map(|i| OpenSlot::address_key(0xffff_8880_0000_0000 + i * 2048))
            .collect();
        assert_eq!(keys.iter().collect::<HashSet<_>>().len(), keys.len());
        let slots: HashSet<u32> = keys.iter().map(|&k| OpenSlot::index(k)).collect();
        // Random placement of 100,000 keys in 131,072 slots would reach about 70,000.
        assert!(slots.len() > 70_000, "only {} slots reached", slots.len());
        assert!(slots.iter().all(|&i| i < OPEN_SLOTS));
    }

    #[test]
    fn consecutive_cookies_take_consecutive_slots() {
        let slots: HashSet<u32> = (1..=u64::from(OPEN_SLOTS)).map(OpenSlot::index).collect();
        assert_eq!(slots.len(), OPEN_SLOTS as usize);
        let i = OpenSlot::index(12_345);
        assert_ne!(OpenSlot::other(i), i);
        assert_eq!(OpenSlot::other(OpenSlot::other(i)), i);
        assert!(OpenSlot::other(i) < OPEN_SLOTS);
    }
}
