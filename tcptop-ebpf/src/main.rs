//! The tcptop eBPF program.
//!
//! Attached to the BTF tracepoint `inet_sock_set_state`. It notes when a TCP socket
//! opens (CLOSE -> SYN_SENT for `connect()`, LISTEN -> SYN_RECV for an accepted child)
//! and, when the socket reaches CLOSE, reads its final counters into a [`CloseRecord`]
//! on the `EVENTS` ring buffer. A record that does not fit is added to its address
//! pair's totals in one of the two `OVERFLOW_*` maps, the one `OVERFLOW_SIDE` names;
//! userspace flips the side, waits for running programs to finish, and empties the other
//! map, so totals stay exact. `STATS` counts folded and lost records, and opens the live
//! sampler could not note. [`live`] samples every open socket. [`overflow`] says
//! why every add is atomic.
//!
//! Field offsets arrive in the global `CONFIG`, resolved from the running kernel's BTF.
//!
//! Built for the host (by `cargo clippy --workspace`), it is an empty program.
#![cfg_attr(target_arch = "bpf", no_std)]
#![cfg_attr(target_arch = "bpf", no_main)]
// The program macros generate entry points without docs; this crate has no public API.
#![allow(missing_docs)]
#![cfg_attr(target_arch = "bpf", feature(asm_experimental_arch))]

mod opens;
mod overflow;

use aya_ebpf::{
    helpers::{bpf_ktime_get_ns, generated::bpf_jiffies64},
    macros::{btf_tracepoint, map},
    maps::RingBuf,
    programs::BtfTracePointContext,
};
use overflow::fold_overflow;
use tcptop_common::{origin, tcp_state, CloseRecord, Config, FIELD_MISSING};

const AF_INET: u16 = 2;
const AF_INET6: u16 = 10;
const IPPROTO_TCP: u16 = 6;
const BPF_RB_NO_WAKEUP: u64 = 1;
const BPF_RB_FORCE_WAKEUP: u64 = 2;
const BPF_RB_AVAIL_DATA: u64 = 0;

/// Offsets of the running kernel, written by userspace before load.
#[no_mangle]
static CONFIG: Config = Config::EMPTY;

/// Close records for userspace. Userspace sets the size at load time.
#[map]
static EVENTS: RingBuf = RingBuf::with_byte_size(256 * 1024, 0);

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
        unsafe { core::ptr::read_volatile(&crate::CONFIG.$field) }
    };
}

mod kmem;
mod live;
mod resets;
mod who;

use kmem::{address, Clock, Direct, Kmem, Probe, Traced};

#[inline(always)]
fn handle<K: Traced>(ctx: &BtfTracePointContext) -> u32 {
    // Most state changes are neither an open nor a close: leave before reading memory.
    let new_state: i32 = ctx.arg(2);
    let old_state: i32 = ctx.arg(1);
    let (new_state, old_state) = (new_state as u8, old_state as u8);
    let opening = (new_state == tcp_state::SYN_SENT && old_state == tcp_state::CLOSE)
        || (new_state == tcp_state::SYN_RECV && old_state == tcp_state::LISTEN);
    let closing = new_state == tcp_state::CLOSE
        && old_state != tcp_state::LISTEN
        && old_state != tcp_state::CLOSE;
    if opening {
        if K::sock(ctx.arg(0)).load::<u16>(cfg!(protocol)) == Some(IPPROTO_TCP) {
            note_open::<K>(ctx, new_state);
        }
    } else if closing {
        if let Some(mem) = K::new(ctx.arg(0)) {
            on_close(ctx, &mem, old_state);
        }
    }
    0
}

#[inline(always)]
fn note_open<K: Traced>(ctx: &BtfTracePointContext, new_state: u8) {
    let key = K::open_key(ctx);
    // SAFETY: a plain helper call.
    let start_ns = unsafe { bpf_ktime_get_ns() };
    // connect() sets SYN_SENT in the caller's context; an accepted child opens in
    // softirq, where the current task is whoever was interrupted.
    if new_state == tcp_state::SYN_SENT {
        let comm = K::current_task().map_or([0; 16], |t| who::process_name(&t));
        opens::note(key, start_ns, origin::CONNECT, comm);
    } else {
        opens::note(key, start_ns, origin::ACCEPT, [0; 16]);
    }
}

#[inline(always)]
fn on_close<K: Traced>(ctx: &BtfTracePointContext, mem: &K, old_state: u8) {
    let cookie = mem.load::<u64>(cfg!(skc_cookie)).unwrap_or(0);
    let key = K::close_key(ctx, cookie);
    // A child that lost the race to be hashed for its request (two segments of one
    // handshake on two CPUs) closes from SYN_RECV having received nothing: it is a
    // copy of the connection the winner carries, not a connection.
    if old_state == tcp_state::SYN_RECV && mem.load::<u64>(cfg!(bytes_received)) == Some(0) {
        opens::take(key);
        return;
    }
    // The live sampler's id for the socket: the same its passes gave it.
    let sock_id = match (live::enabled(), cookie) {
        (false, _) => 0,
        (true, 0) => address(ctx),
        (true, cookie) => cookie,
    };
    let mut rec = CloseRecord {
        old_state,
        sock_id,
        ..CloseRecord::default()
    };
    let mut clock = Clock::default();
    if let Some((start_ns, origin, comm)) = opens::take(key) {
        rec.lifetime_ns = clock.ns().saturating_sub(start_ns).max(1);
        rec.origin = origin;
        rec.comm = comm;
    } else if old_state == tcp_state::SYN_SENT {
        rec.origin = origin::CONNECT;
    }
    if !read_sock(mem, &mut rec, &mut clock) {
        return;
    }
    rec.cgroup_id = who::cgroup_of(mem);
    if old_state == tcp_state::SYN_SENT {
        // SAFETY: sk_err is an int of struct sock; an errno fits a byte.
        rec.error = mem.load::<i32>(cfg!(sk_err)).unwrap_or(0) as u8;
    }
    if !output(&rec) {
        fold_overflow(&rec);
    }
}

/// Writes `rec` to `EVENTS`, waking the reader only when a batch is waiting (it also
/// drains on a timer). False when the ring buffer is full.
#[inline(always)]
fn output<T>(rec: &T) -> bool {
    let flags = if EVENTS.query(BPF_RB_AVAIL_DATA) >= u64::from(cfg!(wakeup_bytes)) {
        BPF_RB_FORCE_WAKEUP
    } else {
        BPF_RB_NO_WAKEUP
    };
    EVENTS.output::<T>(rec, flags).is_ok()
}

/// Reads a socket's addresses, ports and counters into `rec`. False for a family we
/// skip.
#[inline(always)]
fn read_sock<K: Kmem>(mem: &K, rec: &mut CloseRecord, clock: &mut Clock) -> bool {
    if !read_addrs(mem, &mut rec.local_addr, &mut rec.peer_addr) {
        return false;
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
            let now_ms = (clock.ns() / 1_000_000) as u32;
            rec.total_rto_time_ms = rec
                .total_rto_time_ms
                .wrapping_add(now_ms.wrapping_sub(stamp));
        }
    }
    rec.data_segs_out = mem.load::<u32>(cfg!(data_segs_out)).unwrap_or(0);
    read_chrono(mem, &mut rec.chrono);
    rec.snd_cwnd = mem.load::<u32>(cfg!(snd_cwnd)).unwrap_or(0);
    rec.snd_ssthresh = mem.load::<u32>(cfg!(snd_ssthresh)).unwrap_or(0);
    rec.rttvar_us = mem.load::<u32>(cfg!(mdev_us)).unwrap_or(0) >> 2;
    rec.packets_out = mem.load::<u32>(cfg!(packets_out)).unwrap_or(0);
    rec.rate_delivered = mem.load::<u32>(cfg!(rate_delivered)).unwrap_or(0);
    rec.rate_interval_us = mem.load::<u32>(cfg!(rate_interval_us)).unwrap_or(0);
    rec.mss_cache = mem.load::<u32>(cfg!(mss_cache)).unwrap_or(0);
    true
}

/// Reads the three chrono times (busy, rwnd-limited, sndbuf-limited, in jiffies) and
/// adds the one still running up to now, as TCP_INFO does.
#[inline(always)]
fn read_chrono<K: Kmem>(mem: &K, out: &mut [u32; 3]) {
    let base = cfg!(chrono_stat);
    if base == FIELD_MISSING {
        return;
    }
    out[0] = mem.load::<u32>(base).unwrap_or(0);
    out[1] = mem.load::<u32>(base + 4).unwrap_or(0);
    out[2] = mem.load::<u32>(base + 8).unwrap_or(0);
    let kind = (mem.load::<u8>(cfg!(chrono_type)).unwrap_or(0) >> (cfg!(chrono_shift) & 7)) & 3;
    if kind == 0 {
        return;
    }
    let start = mem.load::<u32>(cfg!(chrono_start)).unwrap_or(0);
    // SAFETY: a plain helper call; tcp_jiffies32 is the low 32 bits of jiffies.
    let running = (unsafe { bpf_jiffies64() } as u32).wrapping_sub(start);
    match kind {
        1 => out[0] = out[0].wrapping_add(running),
        2 => out[1] = out[1].wrapping_add(running),
        _ => out[2] = out[2].wrapping_add(running),
    }
}

/// Fills in both addresses, IPv4 as IPv4-mapped IPv6. False for a family we skip.
#[inline(always)]
fn read_addrs<K: Kmem>(mem: &K, local: &mut [u8; 16], peer: &mut [u8; 16]) -> bool {
    match mem.load::<u16>(cfg!(family)) {
        Some(AF_INET) => {
            *local = mapped(word(mem, cfg!(rcv_saddr)));
            *peer = mapped(word(mem, cfg!(daddr)));
            true
        }
        Some(AF_INET6) => {
            ipv6(mem, cfg!(v6_rcv_saddr), local);
            ipv6(mem, cfg!(v6_daddr), peer);
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
