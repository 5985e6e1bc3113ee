//! The live sampler's userspace side: the walk of open files is loaded and linked, and
//! each pass reads the counters of every open TCP socket out of it in a few `read`
//! calls. A socket several descriptors hold is handed out once.
//!
//! aya 0.14's `IterLink::into_file` consumes its link, so every pass would make a new
//! link; the link and the iterator files are made here with the two `bpf(2)` commands
//! instead, one link serving every pass.
use std::{
    collections::HashSet,
    fs::File,
    io::Read,
    os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd},
};

use aya::{programs::Iter, Btf, Ebpf};
use aya_obj::generated::{bpf_attach_type::BPF_TRACE_ITER, bpf_cmd};
use tcptop_common::SampleRecord;

use super::{cgroups::Names, decode::Decoder, live::SockSample};

/// The walk of open files: a `task_file` iterator.
const WALK: &str = "walk_socks";

/// The iterator target the walk attaches to (the kernel's `bpf_iter_task_file`).
pub const TARGET: &str = "task_file";

/// The linked walk.
pub struct Sampler {
    walk: OwnedFd,
    buf: Vec<u8>,
    seen: HashSet<u64>,
}

impl Sampler {
    /// Loads the walk of `ebpf` and links it. Fails, with the kernel's reason, where
    /// the kernel lacks it or its helpers (before 5.11).
    pub fn load(ebpf: &mut Ebpf, btf: &Btf) -> Result<Self, String> {
        let prog: &mut Iter = ebpf
            .program_mut(WALK)
            .ok_or_else(|| format!("program {WALK} missing from the object"))?
            .try_into()
            .map_err(|e| format!("{WALK}: {e}"))?;
        prog.load(TARGET, btf)
            .map_err(|e| format!("{WALK}: {}", chain(&e)))?;
        let fd = prog.fd().map_err(|e| chain(&e))?;
        let walk = link_create(fd.as_fd().as_raw_fd())
            .map_err(|e| format!("cannot link the task_file iterator: {e}"))?;
        Ok(Self {
            walk,
            buf: Vec::with_capacity(1 << 20),
            seen: HashSet::new(),
        })
    }

    /// A pass: hands every open TCP socket to `sink`, once. Returns the kernel's clock
    /// at the pass (nanoseconds since boot, the clock of `bpf_ktime_get_ns`).
    pub fn pass(
        &mut self,
        decoder: &Decoder,
        names: &mut Names,
        mut sink: impl FnMut(SockSample),
    ) -> Result<u64, String> {
        let now_ns = monotonic_ns();
        read_iter(&self.walk, &mut self.buf)?;
        self.seen.clear();
        for r in records(&self.buf) {
            if self.seen.insert(r.sock.sock_id) {
                if let Some(mut s) = sample(decoder, &r) {
                    s.cgroup = names.name(r.sock.cgroup_id);
                    s.process = names.process(&r.sock.comm);
                    sink(s);
                }
            }
        }
        Ok(now_ns)
    }
}

/// The records of a pass.
fn records(buf: &[u8]) -> impl Iterator<Item = SampleRecord> + '_ {
    buf.chunks_exact(size_of::<SampleRecord>()).map(|chunk| {
        // SAFETY: SampleRecord is plain integers and the chunk is its size.
        unsafe { std::ptr::read_unaligned(chunk.as_ptr().cast()) }
    })
}

/// Decodes one record of a pass.
fn sample(decoder: &Decoder, r: &SampleRecord) -> Option<SockSample> {
    let raw = r.sock;
    // SAFETY: CloseRecord is plain integers; the bytes are its own.
    let bytes = unsafe {
        std::slice::from_raw_parts(
            std::ptr::from_ref(&raw).cast::<u8>(),
            size_of::<tcptop_common::CloseRecord>(),
        )
    };
    let mut e = decoder.close_event(bytes)?;
    // A sample is not a close: no connection ended.
    e.counters.connections = 0;
    e.counters.failed_connects = 0;
    Some(SockSample {
        id: raw.sock_id,
        local: e.local,
        peer: e.peer,
        counters: e.counters,
        srtt_us: e.srtt_us,
        origin: e.origin,
        since_ns: r.since_ns,
        seen_open: r.seen_open != 0,
        state: raw.old_state,
        gauges: e.gauges,
        cgroup: None,
        process: None,
    })
}

/// The error and its causes in one line.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cur = c.source();
    }
    out
}

/// `bpf(BPF_LINK_CREATE)` for an iterator program.
fn link_create(prog_fd: i32) -> std::io::Result<OwnedFd> {
    // struct { prog_fd, target_fd, attach_type, flags, ... }
    let mut attr = [0u8; 128];
    attr[0..4].copy_from_slice(&(prog_fd as u32).to_ne_bytes());
    attr[8..12].copy_from_slice(&(BPF_TRACE_ITER as u32).to_ne_bytes());
    bpf(bpf_cmd::BPF_LINK_CREATE as i64, &mut attr)
}

/// `bpf(BPF_ITER_CREATE)` on `link`, read to the end into `buf`.
fn read_iter(link: &OwnedFd, buf: &mut Vec<u8>) -> Result<usize, String> {
    let mut attr = [0u8; 128];
    attr[0..4].copy_from_slice(&(link.as_raw_fd() as u32).to_ne_bytes());
    let fd = bpf(bpf_cmd::BPF_ITER_CREATE as i64, &mut attr)
        .map_err(|e| format!("cannot start a pass: {e}"))?;
    buf.clear();
    File::from(fd)
        .read_to_end(buf)
        .map_err(|e| format!("cannot read a pass: {e}"))
}

/// The `bpf` system call returning a descriptor.
fn bpf(cmd: i64, attr: &mut [u8; 128]) -> std::io::Result<OwnedFd> {
    // SAFETY: attr is a zeroed `union bpf_attr` of the size passed, filled for `cmd`;
    // the pointers in it point to live memory for the call's duration.
    let rc = unsafe { libc::syscall(libc::SYS_bpf, cmd, attr.as_mut_ptr(), attr.len()) };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: the kernel returned a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(rc as i32) })
}

/// CLOCK_MONOTONIC in nanoseconds: the clock of `bpf_ktime_get_ns`.
fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid timespec to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}
