//! Live sampling of open TCP sockets.
//!
//! `walk_socks`, a `task_file` iterator over every process's open files in every
//! network namespace, writes the counters of each open TCP socket it finds; userspace
//! runs it once per pass. A socket's id is its socket cookie, which never repeats (its
//! address where no cookie was ever made: sockets open before tcptop). The tracepoint
//! makes the cookie of every socket it sees open and notes when and how in `OPENS`
//! ([`crate::opens`]), so that a pass can tell a socket opened in the window (counted
//! from zero) from one found open (counted from its first pass); the close record
//! carries the same id and takes the note.
//!
//! The walk reaches `socket.sk` through a file, an untrusted pointer to the verifier: no
//! helper takes it and BTF loads stop at `struct sock`, so the walk copies the whole
//! socket with one `bpf_probe_read_kernel` into per-CPU scratch and reads its fields
//! there (a read per field cost about 20 ns each, some 40 per socket); where that copy
//! fails, it reads field by field. (Map-element iterators, `bpf_sk_storage_map` among
//! them, are refused with EPERM on this project's 6.18 kernels, so socket storage
//! cannot be walked.)
use core::{ffi::c_void, ptr};

use aya_ebpf::{
    bindings::{file, seq_file},
    helpers::{
        bpf_probe_read_kernel,
        generated::{self, bpf_seq_write, bpf_sock_from_file},
    },
    macros::map,
    maps::PerCpuArray,
};
use tcptop_common::{SampleRecord, FIELD_MISSING};

use crate::{opens, read_sock, Clock, Kmem, Probe, Traced, IPPROTO_TCP};

/// Bytes of a socket copied: all of `tcp_sock` (2,304 on 6.18), with room to grow.
const COPY: usize = 3072;

/// Where a socket is copied to.
#[repr(C)]
pub struct SockCopy([u8; COPY]);

/// One socket's copy per CPU.
#[map]
static SOCK_COPY: PerCpuArray<SockCopy> = PerCpuArray::with_max_entries(1, 0);

/// Reads a socket from its copy in [`SOCK_COPY`]; pointers in it are followed with
/// [`Probe`].
struct Copied(*const u8);

impl Copied {
    /// Copies the TCP socket at `sk`; `None` when the copy failed or it is not TCP.
    #[inline(always)]
    fn new(sk: *const u8) -> Option<Self> {
        let buf = SOCK_COPY.get_ptr_mut(0)?;
        // SAFETY: the helper checks the address and writes all of the buffer.
        let rc = unsafe { generated::bpf_probe_read_kernel(buf.cast(), COPY as u32, sk.cast()) };
        let c = Copied(buf as *const u8);
        (rc == 0 && c.load::<u16>(cfg!(protocol)) == Some(IPPROTO_TCP)).then_some(c)
    }
}

impl Kmem for Copied {
    type Chased = Probe;

    #[inline(always)]
    fn load<T: Copy>(&self, offset: u32) -> Option<T> {
        if offset == FIELD_MISSING || offset as usize + size_of::<T>() > COPY {
            return None;
        }
        // SAFETY: inside the copy, checked above; fields are naturally aligned.
        Some(unsafe { ptr::read_volatile(self.0.add(offset as usize) as *const T) })
    }

    #[inline(always)]
    fn chase(&self, offset: u32) -> Option<Probe> {
        Some(Probe(self.load::<u64>(offset)? as *const u8))
    }
}

/// States of a socket that is open and may carry data (not listening, not opening, not
/// closed).
#[inline(always)]
fn is_open(state: u8) -> bool {
    // ESTABLISHED, FIN_WAIT1, FIN_WAIT2, CLOSE_WAIT, LAST_ACK, CLOSING.
    matches!(state, 1 | 4 | 5 | 8 | 9 | 11)
}

/// True when the tracepoint is to give closes the sampler's id.
#[inline(always)]
pub fn enabled() -> bool {
    cfg!(live) != 0
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
    match Copied::new(addr as *const u8) {
        Some(mem) => sample(ctx, meta, addr, &mem),
        None => {
            if let Some(mem) = Probe::new(addr as *const u8) {
                sample(ctx, meta, addr, &mem);
            }
        }
    }
    0
}

/// Writes the record of the socket at `addr`, read with `mem`, if it is open.
#[inline(always)]
fn sample<K: Kmem>(ctx: *mut c_void, meta: *mut c_void, addr: u64, mem: &K) {
    let state = mem.load::<u8>(cfg!(skc_state)).unwrap_or(0);
    if !is_open(state) {
        return;
    }
    let cookie = mem.load::<u64>(cfg!(skc_cookie)).unwrap_or(0);
    let mut rec = SampleRecord {
        sk_addr: addr,
        ..SampleRecord::default()
    };
    rec.sock.sock_id = if cookie == 0 { addr } else { cookie };
    rec.sock.old_state = state;
    if let Some((since_ns, origin, _)) = opens::peek(cookie) {
        rec.since_ns = since_ns;
        rec.seen_open = 1;
        rec.sock.origin = origin;
    }
    if read_sock(mem, &mut rec.sock, &mut Clock::default()) {
        rec.sock.cgroup_id = crate::who::cgroup_of(mem);
        let task = ctx_ptr(ctx, 1) as *const u8;
        if !task.is_null() {
            rec.sock.comm = crate::who::process_name(&Probe(task));
        }
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
}
