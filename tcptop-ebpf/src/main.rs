//! The tcptop eBPF program.
//!
//! Attached to the BTF tracepoint `inet_sock_set_state`. It notes when a TCP socket
//! opens (CLOSE -> SYN_SENT for `connect()`, LISTEN -> SYN_RECV for an accepted child)
//! and, when the socket reaches CLOSE, reads its final counters into a [`CloseRecord`]
//! on the `EVENTS` ring buffer. A record that does not fit is added to its address
//! pair's totals in one of the two `OVERFLOW_*` maps, the one `OVERFLOW_SIDE` names;
//! userspace flips the side, waits for running programs to finish, and empties the other
//! map, so totals stay exact. `STATS` counts folded and lost records.
//!
//! Field offsets arrive in the global `CONFIG`, resolved from the running kernel's BTF.
//!
//! Every counter the program adds to is added with a BPF atomic add, never a plain
//! `+=`: before Linux 6.0 (`__bpf_trace_run` in kernel/trace/bpf_trace.c had no
//! `prog->active` guard then, only `cant_sleep(); rcu_read_lock(); BPF_PROG_RUN()`), a
//! close in softirq could run this program on a CPU where it was already running for a
//! close in process context, and a plain read-add-write of a per-CPU value would lose one
//! of the two updates. The ring buffer takes its lock with interrupts off, and the open
//! table detects torn slots, so they need nothing more.
//!
//! Built for the host (by `cargo clippy --workspace`), it is an empty program.
#![cfg_attr(target_arch = "bpf", no_std)]
#![cfg_attr(target_arch = "bpf", no_main)]
#![cfg_attr(target_arch = "bpf", feature(asm_experimental_arch))]

use core::ffi::c_void;

use aya_ebpf::{
    helpers::{bpf_ktime_get_ns, bpf_probe_read_kernel, generated::bpf_skc_to_tcp_sock},
    macros::{btf_tracepoint, map},
    maps::{Array, HashMap, PerCpuArray, RingBuf},
    programs::BtfTracePointContext,
    EbpfContext,
};
use tcptop_common::{
    origin, stat, tcp_state, CloseRecord, Config, OpenSlot, PairKey, PairTotals, FIELD_MISSING,
    OPEN_SLOTS, OVERFLOW_PAIRS,
};

const AF_INET: u16 = 2;
const AF_INET6: u16 = 10;
const IPPROTO_TCP: u16 = 6;
const BPF_NOEXIST: u64 = 1;
const BPF_F_NO_PREALLOC: u32 = 1;
const BPF_RB_NO_WAKEUP: u64 = 1;
const BPF_RB_FORCE_WAKEUP: u64 = 2;
const BPF_RB_AVAIL_DATA: u64 = 0;

/// Offsets of the running kernel, written by userspace before load.
#[no_mangle]
static CONFIG: Config = Config::EMPTY;

/// Close records for userspace. Userspace sets the size at load time.
#[map]
static EVENTS: RingBuf = RingBuf::with_byte_size(256 * 1024, 0);

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

/// Open time and direction of live sockets, in a direct-mapped table: plain memory
/// access, no locks (a hash map here cost 1.5 us per connection).
#[map]
static OPENS: Array<OpenSlot> = Array::with_max_entries(OPEN_SLOTS, 0);

#[btf_tracepoint(function = "inet_sock_set_state")]
pub fn inet_sock_set_state(ctx: BtfTracePointContext) -> u32 {
    handle::<Direct>(&ctx)
}

/// The same program for kernels without `bpf_skc_to_tcp_sock` (before 5.9): it reads
/// every field with `bpf_probe_read_kernel`. Userspace loads it only when the kernel
/// rejects the fast one.
#[btf_tracepoint(function = "inet_sock_set_state")]
pub fn inet_sock_set_state_compat(ctx: BtfTracePointContext) -> u32 {
    handle::<Probe>(&ctx)
}

/// Reads a `CONFIG` field. CONFIG lives in frozen read-only data, so the verifier knows
/// each offset as a constant, which lets [`Direct`] read fields with plain loads.
macro_rules! cfg {
    ($field:ident) => {
        // SAFETY: CONFIG is plain data that userspace fills in before load.
        unsafe { core::ptr::read_volatile(&CONFIG.$field) }
    };
}

/// Access to one socket's memory at offsets from its address.
trait Kmem: Sized {
    /// A reader for `sk`, or `None` when it is not a TCP socket.
    fn new(sk: *const u8) -> Option<Self>;
    /// The `T` at `offset`, or `None` for a field the kernel lacks.
    fn load<T: Copy>(&self, offset: u32) -> Option<T>;
}

/// Plain loads through the `tcp_sock` BTF pointer from `bpf_skc_to_tcp_sock` (5.9+):
/// the verifier checks each access against the kernel's own struct layout.
struct Direct(*const u8);

impl Kmem for Direct {
    #[inline(always)]
    fn new(sk: *const u8) -> Option<Self> {
        // SAFETY: sk is the tracepoint's socket argument; the helper returns NULL for
        // anything but a full TCP socket.
        let tp = unsafe { bpf_skc_to_tcp_sock(sk as *mut c_void) } as *const u8;
        (!tp.is_null()).then_some(Direct(tp))
    }

    #[inline(always)]
    fn load<T: Copy>(&self, offset: u32) -> Option<T> {
        if offset == FIELD_MISSING {
            return None;
        }
        // SAFETY: a BTF pointer load; the verifier turns it into a fault-safe load.
        Some(unsafe { core::ptr::read_volatile(self.0.wrapping_add(offset as usize) as *const T) })
    }
}

/// `bpf_probe_read_kernel` for every field (5.8).
struct Probe(*const u8);

impl Kmem for Probe {
    #[inline(always)]
    fn new(sk: *const u8) -> Option<Self> {
        let p = Probe(sk);
        (p.load::<u16>(cfg!(protocol)) == Some(IPPROTO_TCP)).then_some(p)
    }

    #[inline(always)]
    fn load<T: Copy>(&self, offset: u32) -> Option<T> {
        if offset == FIELD_MISSING {
            return None;
        }
        // SAFETY: bpf_probe_read_kernel checks the address; a bad one only fails the read.
        unsafe { bpf_probe_read_kernel(self.0.wrapping_add(offset as usize) as *const T).ok() }
    }
}

#[inline(always)]
fn handle<K: Kmem>(ctx: &BtfTracePointContext) -> u32 {
    // Most state changes are neither an open nor a close: leave before reading memory.
    let new_state: i32 = ctx.arg(2);
    let old_state: i32 = ctx.arg(1);
    let (new_state, old_state) = (new_state as u8, old_state as u8);
    let opening = (new_state == tcp_state::SYN_SENT && old_state == tcp_state::CLOSE)
        || (new_state == tcp_state::SYN_RECV && old_state == tcp_state::LISTEN);
    let closing = new_state == tcp_state::CLOSE
        && old_state != tcp_state::LISTEN
        && old_state != tcp_state::CLOSE;
    if !opening && !closing {
        return 0;
    }
    // The verifier forbids arithmetic on the socket pointer; a copy of the argument
    // read as plain memory is a number that can be hashed.
    // SAFETY: ctx points at the tracepoint's u64 arguments.
    let key = unsafe { bpf_probe_read_kernel(ctx.as_ptr() as *const u64) }.unwrap_or(0);
    if opening {
        // No protocol check here: a non-TCP open only occupies a slot until reused.
        note_open(key, new_state);
    } else if let Some(mem) = K::new(ctx.arg(0)) {
        on_close(key, &mem, old_state);
    }
    0
}

#[inline(always)]
fn note_open(key: u64, new_state: u8) {
    let Some(slot) = OPENS.get_ptr_mut(OpenSlot::index(key)) else {
        return;
    };
    // SAFETY: a plain helper call.
    let start_ns = unsafe { bpf_ktime_get_ns() };
    let origin = u64::from(if new_state == tcp_state::SYN_SENT {
        origin::CONNECT
    } else {
        origin::ACCEPT
    });
    // SAFETY: an array slot; concurrent writers are caught by `check`.
    unsafe {
        *slot = OpenSlot {
            sk: key,
            start_ns,
            check: key ^ start_ns ^ origin,
            origin,
        }
    };
}

/// Takes the open facts of socket `key` out of its slot, if they are still there and whole.
#[inline(always)]
fn take_open(key: u64) -> Option<(u64, u8)> {
    if key == 0 {
        return None;
    }
    let slot = OPENS.get_ptr_mut(OpenSlot::index(key))?;
    // SAFETY: an array slot.
    let s = unsafe { &mut *slot };
    if s.sk != key || s.check != s.sk ^ s.start_ns ^ s.origin {
        return None;
    }
    s.sk = 0;
    Some((s.start_ns, s.origin as u8))
}

#[inline(always)]
fn on_close<K: Kmem>(key: u64, mem: &K, old_state: u8) {
    let mut rec = CloseRecord {
        old_state,
        ..CloseRecord::default()
    };
    if let Some((start_ns, origin)) = take_open(key) {
        // SAFETY: a plain helper call.
        let now = unsafe { bpf_ktime_get_ns() };
        rec.lifetime_ns = now.saturating_sub(start_ns).max(1);
        rec.origin = origin;
    } else if old_state == tcp_state::SYN_SENT {
        rec.origin = origin::CONNECT;
    }
    if !read_addrs(mem, &mut rec) {
        return;
    }
    rec.local_port = u16::from_be(mem.load::<u16>(cfg!(sport)).unwrap_or(0));
    rec.peer_port = u16::from_be(mem.load::<u16>(cfg!(dport)).unwrap_or(0));
    rec.bytes_sent = mem.load::<u64>(cfg!(bytes_sent)).unwrap_or(0);
    rec.bytes_received = mem.load::<u64>(cfg!(bytes_received)).unwrap_or(0);
    rec.total_retrans = mem.load::<u32>(cfg!(total_retrans)).unwrap_or(0);
    rec.lost = mem.load::<u32>(cfg!(lost)).unwrap_or(0);
    rec.srtt_us = mem.load::<u32>(cfg!(srtt_us)).unwrap_or(0) >> 3;
    if let Some(rto) = mem.load::<u16>(cfg!(total_rto)) {
        rec.total_rto = u32::from(rto);
        rec.total_rto_recoveries =
            u32::from(mem.load::<u16>(cfg!(total_rto_recoveries)).unwrap_or(0));
        rec.total_rto_time_ms = mem.load::<u32>(cfg!(total_rto_time)).unwrap_or(0);
        // An RTO recovery still open at close counts up to now, as TCP_INFO does.
        let stamp = mem.load::<u32>(cfg!(rto_stamp)).unwrap_or(0);
        if stamp != 0 {
            // SAFETY: a plain helper call.
            let now_ms = (unsafe { bpf_ktime_get_ns() } / 1_000_000) as u32;
            rec.total_rto_time_ms = rec
                .total_rto_time_ms
                .wrapping_add(now_ms.wrapping_sub(stamp));
        }
    }
    // Wake the reader only when a batch is waiting; it also drains on a timer.
    let flags = if EVENTS.query(BPF_RB_AVAIL_DATA) >= u64::from(cfg!(wakeup_bytes)) {
        BPF_RB_FORCE_WAKEUP
    } else {
        BPF_RB_NO_WAKEUP
    };
    if EVENTS.output::<CloseRecord>(&rec, flags).is_err() {
        fold_overflow(&rec);
    }
}

/// Fills in both addresses, IPv4 as IPv4-mapped IPv6. False for a family we skip.
#[inline(always)]
fn read_addrs<K: Kmem>(mem: &K, rec: &mut CloseRecord) -> bool {
    match mem.load::<u16>(cfg!(family)) {
        Some(AF_INET) => {
            rec.local_addr = mapped(word(mem, cfg!(rcv_saddr)));
            rec.peer_addr = mapped(word(mem, cfg!(daddr)));
            true
        }
        Some(AF_INET6) => {
            ipv6(mem, cfg!(v6_rcv_saddr), &mut rec.local_addr);
            ipv6(mem, cfg!(v6_daddr), &mut rec.peer_addr);
            true
        }
        _ => false,
    }
}

/// The 32-bit word at `off` (an IPv4 address, or a quarter of an `in6_addr`), zero
/// where the field is missing.
#[inline(always)]
fn word<K: Kmem>(mem: &K, off: u32) -> [u8; 4] {
    if off == FIELD_MISSING {
        return [0; 4];
    }
    mem.load::<u32>(off).unwrap_or(0).to_ne_bytes()
}

/// Copies the 16-byte address at `off` into `dst` as the four words of
/// `in6_addr.s6_addr32`, each read at its own constant offset (the verifier needs a
/// constant offset for every load); leaves `dst` alone where the field is missing.
#[inline(always)]
fn ipv6<K: Kmem>(mem: &K, off: u32, dst: &mut [u8; 16]) {
    if off == FIELD_MISSING {
        return;
    }
    dst[0..4].copy_from_slice(&word(mem, off));
    dst[4..8].copy_from_slice(&word(mem, off + 4));
    dst[8..12].copy_from_slice(&word(mem, off + 8));
    dst[12..16].copy_from_slice(&word(mem, off + 12));
}

#[inline(always)]
fn mapped(v4: [u8; 4]) -> [u8; 16] {
    [
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, v4[0], v4[1], v4[2], v4[3],
    ]
}

/// Adds a record that did not fit into the ring buffer to its address pair's totals in
/// the overflow map `OVERFLOW_SIDE` names.
#[inline(always)]
fn fold_overflow(rec: &CloseRecord) {
    let key = PairKey {
        local_addr: rec.local_addr,
        peer_addr: rec.peer_addr,
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
        return;
    };
    // SAFETY: an element of the map; userspace deletes it only once no program that
    // could have found it is still running.
    let t = unsafe { &mut *t };
    atomic_add(&mut t.records, 1);
    if rec.old_state == tcp_state::SYN_SENT {
        atomic_add(&mut t.failed_connects, 1);
    }
    atomic_add(&mut t.bytes_sent, rec.bytes_sent);
    atomic_add(&mut t.bytes_received, rec.bytes_received);
    atomic_add(&mut t.retrans, u64::from(rec.total_retrans));
    atomic_add(&mut t.lost, u64::from(rec.lost));
    atomic_add(&mut t.rto, u64::from(rec.total_rto));
    atomic_add(&mut t.rto_recoveries, u64::from(rec.total_rto_recoveries));
    atomic_add(&mut t.rto_time_ms, u64::from(rec.total_rto_time_ms));
    bump(stat::FOLDED);
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

/// The first value of a pair, as global data: zeroing 72 bytes of stack instead is a
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
};

#[inline(always)]
fn bump(index: u32) {
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

#[cfg(target_arch = "bpf")]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}

#[cfg(not(target_arch = "bpf"))]
fn main() {}

#[link_section = "license"]
#[no_mangle]
static LICENSE: [u8; 4] = *b"GPL\0";
