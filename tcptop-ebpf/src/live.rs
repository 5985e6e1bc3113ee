//! Live sampling of open TCP sockets.
//!
//! `walk_socks`, a `task_file` iterator over every process's open files in every
//! network namespace, writes the counters of each open TCP socket it finds; userspace
//! runs it once per pass. A socket's id is its socket cookie, which never repeats (its
//! address where no cookie was ever made: sockets open before tcptop). The tracepoint
//! makes the cookie of every socket that becomes established and notes when and how in
//! `OPENED`, so that a pass can tell a socket opened in the window (counted from zero)
//! from one found open (counted from its first pass); the close record carries the same
//! id and removes the note.
//!
//! The walk reaches `socket.sk` through a file, an untrusted pointer to the verifier: no
//! helper takes it and BTF loads stop at `struct sock`, so the walk reads the socket
//! with `bpf_probe_read_kernel`. (Map-element iterators, `bpf_sk_storage_map` among
//! them, are refused with EPERM on this project's 6.18 kernels, so socket storage
//! cannot be walked.)
use core::{ffi::c_void, ptr};

use aya_ebpf::{
    bindings::{file, seq_file},
    helpers::{
        bpf_ktime_get_ns, bpf_probe_read_kernel,
        generated::{bpf_get_socket_cookie, bpf_seq_write, bpf_sock_from_file},
    },
    macros::map,
    maps::HashMap,
};
use tcptop_common::{
    origin, stat, tcp_state, SampleRecord, SockTag, FIELD_MISSING, OPENED_SOCKETS,
};

use crate::{overflow::bump, read_sock, Kmem, Probe};

/// BPF_F_NO_PREALLOC: the map takes memory for the sockets open now only.
const NO_PREALLOC: u32 = 1;

/// When and how each socket that became established while tcptop runs opened, by
/// cookie.
#[map]
static OPENED: HashMap<u64, SockTag> = HashMap::with_max_entries(OPENED_SOCKETS, NO_PREALLOC);

/// States of a socket that is open and may carry data (not listening, not opening, not
/// closed).
#[inline(always)]
fn is_open(state: u8) -> bool {
    // ESTABLISHED, FIN_WAIT1, FIN_WAIT2, CLOSE_WAIT, LAST_ACK, CLOSING.
    matches!(state, 1 | 4 | 5 | 8 | 9 | 11)
}

/// True when the tracepoint is to note opens and give closes their id.
#[inline(always)]
pub fn enabled() -> bool {
    cfg!(live) != 0
}

/// Notes that `sk` is becoming established, from `old_state`.
#[inline(always)]
pub fn opened(sk: *mut c_void, old_state: u8) {
    // SAFETY: sk is the tracepoint's socket; the helper makes its cookie if it has none.
    let cookie = unsafe { bpf_get_socket_cookie(sk) };
    let tag = SockTag {
        id: cookie,
        // SAFETY: a plain helper call.
        since_ns: unsafe { bpf_ktime_get_ns() },
        origin: if old_state == tcp_state::SYN_SENT {
            origin::CONNECT
        } else {
            origin::ACCEPT
        },
        seen_open: 1,
        _pad: [0; 6],
    };
    if OPENED.insert(cookie, tag, 0).is_err() {
        bump(stat::UNNOTED);
    }
}

/// The id of closing socket `sk` at address `addr`, whose cookie is at `cookie`
/// (read by the caller): its note of opening is removed.
#[inline(always)]
pub fn closed(cookie: u64, addr: u64) -> u64 {
    if cookie == 0 {
        return addr;
    }
    let _ = OPENED.remove(cookie);
    cookie
}

/// Reads the `n`th pointer of an iterator's context.
#[inline(always)]
fn ctx_ptr(ctx: *mut c_void, n: usize) -> *mut c_void {
    // SAFETY: iterator contexts are arrays of pointer-sized fields.
    unsafe { ptr::read_volatile((ctx as *const *mut c_void).add(n)) }
}

/// A pass: writes the counters of every open TCP socket some process holds a
/// descriptor of. Context: `bpf_iter__task_file { meta, task, fd, file }`.
#[unsafe(no_mangle)]
#[unsafe(link_section = "iter/task_file")]
pub fn walk_socks(ctx: *mut c_void) -> i32 {
    let meta = ctx_ptr(ctx, 0);
    let f = ctx_ptr(ctx, 3) as *mut file;
    if meta.is_null() || f.is_null() {
        return 0;
    }
    // SAFETY: a file the iterator hands out; NULL for anything but a socket.
    let sock = unsafe { bpf_sock_from_file(f) } as *const u8;
    let off = cfg!(socket_sk);
    if sock.is_null() || off == FIELD_MISSING {
        return 0;
    }
    // SAFETY: bpf_probe_read_kernel checks the address; a bad one only fails the read.
    let Ok(addr) =
        (unsafe { bpf_probe_read_kernel(sock.wrapping_add(off as usize) as *const u64) })
    else {
        return 0;
    };
    let Some(mem) = Probe::new(addr as *const u8) else {
        return 0;
    };
    let state = mem.load::<u8>(cfg!(skc_state)).unwrap_or(0);
    if !is_open(state) {
        return 0;
    }
    let cookie = mem.load::<u64>(cfg!(skc_cookie)).unwrap_or(0);
    let mut rec = SampleRecord {
        sk_addr: addr,
        ..SampleRecord::default()
    };
    rec.sock.sock_id = if cookie == 0 { addr } else { cookie };
    rec.sock.old_state = state;
    if cookie != 0 {
        if let Some(tag) = OPENED.get_ptr(cookie) {
            // SAFETY: a map value; read once.
            let tag = unsafe { ptr::read_volatile(tag) };
            rec.since_ns = tag.since_ns;
            rec.seen_open = tag.seen_open;
            rec.sock.origin = tag.origin;
        }
    }
    if read_sock(&mem, &mut rec.sock) {
        rec.sock.cgroup_id = crate::who::cgroup_of(addr);
        rec.sock.comm = crate::who::process_name(ctx_ptr(ctx, 1) as u64);
        // SAFETY: `meta->seq` is the iterator's output; the record is plain data.
        unsafe {
            let seq = ptr::read_volatile(meta as *const *mut seq_file);
            bpf_seq_write(
                seq,
                ptr::from_ref(&rec).cast(),
                size_of::<SampleRecord>() as u32,
            );
        }
    }
    0
}
