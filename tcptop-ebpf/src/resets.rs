//! Resets: the BTF tracepoints `tcp_send_reset` and `tcp_receive_reset` write one
//! [`ResetRecord`] per reset this node sent or received, with the address pair it
//! belongs to, on the same `EVENTS` ring buffer as close records (userspace tells them
//! apart by size); one that does not fit is added to its pair's overflow totals.
//!
//! A reset sent in answer to a packet (`tcp_v4_send_reset`, `tcp_v6_send_reset`)
//! carries that packet: its addresses and ports, reversed, are the pair, whatever the
//! socket (there may be none, as for a connect to a closed port, or a time-wait or
//! listening socket). A reset sent on its own (`tcp_send_active_reset`: abort on close,
//! `SO_LINGER` 0) has no packet but a full socket, whose addresses are the pair. The
//! kernel's own tracepoint output does the same. Everything is read with
//! `bpf_probe_read_kernel`: resets are rare, and the packet is plain memory.
use aya_ebpf::{macros::btf_tracepoint, programs::BtfTracePointContext, EbpfContext};
use tcptop_common::{reset, ResetRecord};

use crate::{mapped, output, overflow::fold_reset, read_addrs, Kmem, Probe, Traced};

#[btf_tracepoint(function = "tcp_send_reset")]
pub fn tcp_send_reset(ctx: BtfTracePointContext) -> u32 {
    let mut rec = ResetRecord {
        kind: reset::SENT,
        ..ResetRecord::default()
    };
    let skb = arg(&ctx, 1);
    if (skb == 0 || !from_packet(skb, &mut rec)) && !from_sock(&ctx, &mut rec) {
        return 0;
    }
    emit(&rec);
    0
}

#[btf_tracepoint(function = "tcp_receive_reset")]
pub fn tcp_receive_reset(ctx: BtfTracePointContext) -> u32 {
    let mut rec = ResetRecord {
        kind: reset::RECEIVED,
        ..ResetRecord::default()
    };
    if from_sock(&ctx, &mut rec) {
        emit(&rec);
    }
    0
}

/// The tracepoint's `n`th argument as a number.
#[inline(always)]
fn arg(ctx: &BtfTracePointContext, n: usize) -> u64 {
    // SAFETY: ctx points at the tracepoint's u64 arguments.
    unsafe { aya_ebpf::helpers::bpf_probe_read_kernel((ctx.as_ptr() as *const u64).add(n)) }
        .unwrap_or(0)
}

/// The pair of the full TCP socket in argument 0. False for anything else.
#[inline(always)]
fn from_sock(ctx: &BtfTracePointContext, rec: &mut ResetRecord) -> bool {
    let sk = arg(ctx, 0);
    if sk == 0 {
        return false;
    }
    let Some(mem) = Probe::new(sk as *const u8) else {
        return false;
    };
    if !read_addrs(&mem, &mut rec.local_addr, &mut rec.peer_addr) {
        return false;
    }
    rec.local_port = u16::from_be(mem.load::<u16>(cfg!(sport)).unwrap_or(0));
    rec.peer_port = u16::from_be(mem.load::<u16>(cfg!(dport)).unwrap_or(0));
    true
}

/// The pair of the packet at `skb` that the reset answers: its destination is the
/// local end. False for a packet that is neither IPv4 nor IPv6.
#[inline(always)]
fn from_packet(skb: u64, rec: &mut ResetRecord) -> bool {
    let skb = Probe(skb as *const u8);
    let (Some(head), Some(nh), Some(th)) = (
        skb.load::<u64>(cfg!(skb_head)),
        skb.load::<u16>(cfg!(skb_network_header)),
        skb.load::<u16>(cfg!(skb_transport_header)),
    ) else {
        return false;
    };
    let pkt = Probe(head as *const u8);
    let (nh, th) = (u32::from(nh), u32::from(th));
    match pkt.load::<u8>(nh).map(|b| b >> 4) {
        Some(4) => {
            rec.peer_addr = mapped(pkt.load::<u32>(nh + 12).unwrap_or(0).to_ne_bytes());
            rec.local_addr = mapped(pkt.load::<u32>(nh + 16).unwrap_or(0).to_ne_bytes());
        }
        Some(6) => {
            rec.peer_addr = pkt.load::<[u8; 16]>(nh + 8).unwrap_or([0; 16]);
            rec.local_addr = pkt.load::<[u8; 16]>(nh + 24).unwrap_or([0; 16]);
        }
        _ => return false,
    }
    rec.peer_port = u16::from_be(pkt.load::<u16>(th).unwrap_or(0));
    rec.local_port = u16::from_be(pkt.load::<u16>(th + 2).unwrap_or(0));
    true
}

/// Writes `rec`, or adds it to the overflow totals.
#[inline(always)]
fn emit(rec: &ResetRecord) {
    if !output(rec) {
        fold_reset(rec);
    }
}
