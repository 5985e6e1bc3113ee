//! The overflow path: records the ring buffer could not take, added to their address
//! pair's totals in the overflow map `OVERFLOW_SIDE` names, and the `STATS` counters.
//!
//! Every counter here is added with a BPF atomic add, never a plain `+=`: before Linux
//! 6.0 (`__bpf_trace_run` in kernel/trace/bpf_trace.c had no `prog->active` guard then,
//! only `cant_sleep(); rcu_read_lock(); BPF_PROG_RUN()`), a close in softirq could run
//! this program on a CPU where it was already running for a close in process context,
//! and a plain read-add-write would lose one of the two updates. The rest of the program
//! needs nothing more: the ring buffer takes its lock with interrupts off, and the open
//! table detects torn slots.
use aya_ebpf::{
    macros::map,
    maps::{Array, HashMap, PerCpuArray},
};
use tcptop_common::{
    reset, stat, tcp_state, CloseRecord, PairKey, PairTotals, ResetRecord, OVERFLOW_PAIRS,
};

const BPF_NOEXIST: u64 = 1;
const BPF_F_NO_PREALLOC: u32 = 1;

/// Records that did not fit into `EVENTS`, summed per address pair, while
/// `OVERFLOW_SIDE` is 0. Not preallocated: it takes memory only while it holds pairs,
/// and an element userspace deletes is freed only after running programs are done.
#[map]
static OVERFLOW_0: HashMap<PairKey, PairTotals> =
    HashMap::with_max_entries(OVERFLOW_PAIRS, BPF_F_NO_PREALLOC);

/// The same while `OVERFLOW_SIDE` is 1.
#[map]
static OVERFLOW_1: HashMap<PairKey, PairTotals> =
    HashMap::with_max_entries(OVERFLOW_PAIRS, BPF_F_NO_PREALLOC);

/// Which `OVERFLOW_*` map the program adds to; userspace flips it before it empties the
/// other one.
#[map]
static OVERFLOW_SIDE: Array<u32> = Array::with_max_entries(1, 0);

/// Counters indexed by [`stat`].
#[map]
static STATS: PerCpuArray<u64> = PerCpuArray::with_max_entries(stat::COUNT, 0);

/// Adds a record that did not fit into the ring buffer to its address pair's totals in
/// the overflow map `OVERFLOW_SIDE` names.
#[inline(always)]
pub fn fold_overflow(rec: &CloseRecord) {
    let Some(t) = pair_totals(rec.local_addr, rec.peer_addr) else {
        return;
    };
    atomic_add(&mut t.records, 1);
    if rec.old_state == tcp_state::SYN_SENT {
        atomic_add(&mut t.failed_connects, 1);
        match i32::from(rec.error) {
            ECONNREFUSED => atomic_add(&mut t.refused, 1),
            ETIMEDOUT => atomic_add(&mut t.timed_out, 1),
            _ => {}
        }
    }
    atomic_add(&mut t.data_segs_out, u64::from(rec.data_segs_out));
    atomic_add(&mut t.chrono[0], u64::from(rec.chrono[0]));
    atomic_add(&mut t.chrono[1], u64::from(rec.chrono[1]));
    atomic_add(&mut t.chrono[2], u64::from(rec.chrono[2]));
    atomic_add(&mut t.bytes_sent, rec.bytes_sent);
    atomic_add(&mut t.bytes_received, rec.bytes_received);
    atomic_add(&mut t.retrans, u64::from(rec.total_retrans));
    atomic_add(&mut t.lost, u64::from(rec.lost));
    atomic_add(&mut t.rto, u64::from(rec.total_rto));
    atomic_add(&mut t.rto_recoveries, u64::from(rec.total_rto_recoveries));
    atomic_add(&mut t.rto_time_ms, u64::from(rec.total_rto_time_ms));
    bump(stat::FOLDED);
}

/// errno values (the same on every Linux architecture tcptop runs on).
const ETIMEDOUT: i32 = 110;
const ECONNREFUSED: i32 = 111;

/// Adds a reset that did not fit into the ring buffer to its pair's totals.
#[inline(always)]
pub fn fold_reset(rec: &ResetRecord) {
    let Some(t) = pair_totals(rec.local_addr, rec.peer_addr) else {
        return;
    };
    if rec.kind == reset::SENT {
        atomic_add(&mut t.resets_sent, 1);
    } else {
        atomic_add(&mut t.resets_received, 1);
    }
    bump(stat::FOLDED);
}

/// The totals of a pair in the overflow map `OVERFLOW_SIDE` names; `None` (counted as
/// lost) when that map is full.
#[inline(always)]
fn pair_totals(local_addr: [u8; 16], peer_addr: [u8; 16]) -> Option<&'static mut PairTotals> {
    let key = PairKey {
        local_addr,
        peer_addr,
    };
    // SAFETY: an array slot userspace writes whole; a 0 or a 1 either way.
    let side = OVERFLOW_SIDE
        .get_ptr(0)
        .map_or(0, |p| unsafe { core::ptr::read_volatile(p) });
    let totals = if side == 0 {
        totals_of(&OVERFLOW_0, &key)
    } else {
        totals_of(&OVERFLOW_1, &key)
    };
    let Some(t) = totals else {
        bump(stat::LOST);
        return None;
    };
    // SAFETY: an element of the map; userspace deletes it only once no program that
    // could have found it is still running.
    Some(unsafe { &mut *t })
}

/// The totals of `key` in `map`, created as zeros when missing; `None` when the map is
/// full. Two CPUs may create the same key at once: one insert fails, both then add to
/// the element that won.
#[inline(always)]
fn totals_of(map: &HashMap<PairKey, PairTotals>, key: &PairKey) -> Option<*mut PairTotals> {
    if let Some(t) = map.get_ptr_mut(key) {
        return Some(t);
    }
    // By reference: by value the static would be copied to the stack first.
    #[allow(clippy::needless_borrows_for_generic_args)]
    let _ = map.insert(key, &ZERO_TOTALS, BPF_NOEXIST);
    map.get_ptr_mut(key)
}

/// The first value of a pair, as global data: zeroing its 144 bytes of stack instead is a
/// byte-wise `memset` loop the verifier walks on every path (the compat program took
/// 130,318 verified instructions that way, 39,824 this way).
static ZERO_TOTALS: PairTotals = PairTotals {
    records: 0,
    failed_connects: 0,
    bytes_sent: 0,
    bytes_received: 0,
    retrans: 0,
    lost: 0,
    rto: 0,
    rto_recoveries: 0,
    rto_time_ms: 0,
    refused: 0,
    timed_out: 0,
    resets_sent: 0,
    resets_received: 0,
    data_segs_out: 0,
    chrono: [0; 3],
};

/// Adds one to `STATS` slot `index` (a [`stat`] constant).
#[inline(always)]
pub fn bump(index: u32) {
    if let Some(slot) = STATS.get_ptr_mut(index) {
        atomic_add(slot, 1);
    }
}

/// `*dst += v` as one BPF atomic add, `lock *(u64 *)(dst + 0) += v` (BPF_STX |
/// BPF_ATOMIC | BPF_DW with imm BPF_ADD, the instruction called BPF_XADD before 5.12;
/// the verifier accepts it on map values on every kernel tcptop supports). Safe against
/// this program interrupting itself on one CPU, and against other CPUs.
#[inline(always)]
fn atomic_add(dst: *mut u64, v: u64) {
    // SAFETY: dst points into a map value the verifier checked.
    #[cfg(target_arch = "bpf")]
    unsafe {
        core::arch::asm!(
            "lock *(u64 *)({0} + 0) += {1}",
            in(reg) dst,
            in(reg) v,
            options(nostack, preserves_flags)
        )
    };
    // The host build is never run.
    #[cfg(not(target_arch = "bpf"))]
    // SAFETY: as above.
    unsafe {
        *dst += v
    };
}
