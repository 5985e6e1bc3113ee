//! Reading kernel memory: [`Kmem`] at offsets from an object's address, with plain
//! BTF loads ([`Direct`]) or `bpf_probe_read_kernel` ([`Probe`]); [`Traced`] adds what
//! the tracepoints need of their socket argument; [`Clock`] reads the time once.
use core::ffi::c_void;

use aya_ebpf::{
    helpers::{
        bpf_ktime_get_ns, bpf_probe_read_kernel,
        generated::{self, bpf_get_current_task_btf, bpf_get_socket_cookie, bpf_skc_to_tcp_sock},
    },
    programs::BtfTracePointContext,
    EbpfContext,
};
use tcptop_common::{OpenSlot, FIELD_MISSING};

use crate::IPPROTO_TCP;

/// Access to kernel memory (a socket, a task, a cgroup) at offsets from an object's
/// address.
pub trait Kmem: Sized {
    /// How the objects this one points to are read.
    type Chased: Kmem;
    /// The `T` at `offset`, or `None` for a field the kernel lacks.
    fn load<T: Copy>(&self, offset: u32) -> Option<T>;
    /// A reader of the object whose pointer is at `offset`.
    fn chase(&self, offset: u32) -> Option<Self::Chased>;
}

/// A [`Kmem`] the tracepoints read their socket argument with.
pub trait Traced: Kmem {
    /// A reader for `sk`, or `None` when it is not a TCP socket.
    fn new(sk: *const u8) -> Option<Self>;
    /// A reader of `sk` for its `struct sock` fields only (no check, no helper).
    fn sock(sk: *const u8) -> Self;
    /// A reader of the task running now.
    fn current_task() -> Option<Self>;
    /// The [`OpenSlot`] key of the tracepoint's socket, made at its open.
    fn open_key(ctx: &BtfTracePointContext) -> u64;
    /// The key [`Kmem::open_key`] gave the socket, whose cookie is `cookie`.
    fn close_key(ctx: &BtfTracePointContext, cookie: u64) -> u64;
}

/// The tracepoint's socket argument as a number (the verifier forbids arithmetic on
/// the pointer; a copy of the argument read as plain memory is a number).
#[inline(always)]
pub fn address(ctx: &BtfTracePointContext) -> u64 {
    // SAFETY: ctx points at the tracepoint's u64 arguments.
    unsafe { bpf_probe_read_kernel(ctx.as_ptr() as *const u64) }.unwrap_or(0)
}

/// Plain loads through the `tcp_sock` BTF pointer from `bpf_skc_to_tcp_sock` (5.9+):
/// the verifier checks each access against the kernel's own struct layout.
pub struct Direct(*const u8);

impl Kmem for Direct {
    type Chased = Direct;

    #[inline(always)]
    fn load<T: Copy>(&self, offset: u32) -> Option<T> {
        if offset == FIELD_MISSING {
            return None;
        }
        // SAFETY: a BTF pointer load; the verifier turns it into a fault-safe load.
        Some(unsafe { core::ptr::read_volatile(self.0.wrapping_add(offset as usize) as *const T) })
    }

    #[inline(always)]
    fn chase(&self, offset: u32) -> Option<Self> {
        let p = self.load::<*const u8>(offset)?;
        (!p.is_null()).then_some(Direct(p))
    }
}

impl Traced for Direct {
    #[inline(always)]
    fn new(sk: *const u8) -> Option<Self> {
        // SAFETY: sk is the tracepoint's socket argument; the helper returns NULL for
        // anything but a full TCP socket.
        let tp = unsafe { bpf_skc_to_tcp_sock(sk as *mut c_void) } as *const u8;
        (!tp.is_null()).then_some(Direct(tp))
    }

    #[inline(always)]
    fn sock(sk: *const u8) -> Self {
        Direct(sk)
    }

    #[inline(always)]
    fn current_task() -> Option<Self> {
        // SAFETY: a plain helper call (5.11+).
        let t = unsafe { bpf_get_current_task_btf() } as *const u8;
        (!t.is_null()).then_some(Direct(t))
    }

    /// The socket's cookie, made now if it has none (5.12+ in tracing programs; older
    /// kernels refuse this program and get the compatibility one): it
    /// counts up, never repeats, and the live sampler's passes read the same.
    #[inline(always)]
    fn open_key(ctx: &BtfTracePointContext) -> u64 {
        let sk: *mut c_void = ctx.arg(0);
        // SAFETY: sk is the tracepoint's socket.
        unsafe { bpf_get_socket_cookie(sk) }
    }

    #[inline(always)]
    fn close_key(_: &BtfTracePointContext, cookie: u64) -> u64 {
        cookie
    }
}

/// `bpf_probe_read_kernel` for every field (5.8).
pub struct Probe(pub *const u8);

impl Kmem for Probe {
    type Chased = Probe;

    /// A read that fails yields zeros (the helper clears its buffer), without a branch:
    /// a branch per read multiplies the paths the verifier walks past its limit.
    #[inline(always)]
    fn load<T: Copy>(&self, offset: u32) -> Option<T> {
        if offset == FIELD_MISSING {
            return None;
        }
        let mut v = core::mem::MaybeUninit::<T>::uninit();
        // SAFETY: the helper checks the address and writes all of `v`, zeros on failure.
        unsafe {
            generated::bpf_probe_read_kernel(
                v.as_mut_ptr().cast(),
                size_of::<T>() as u32,
                self.0.wrapping_add(offset as usize).cast(),
            );
            Some(v.assume_init())
        }
    }

    /// A failed read gives a reader of address 0, whose reads fail too.
    #[inline(always)]
    fn chase(&self, offset: u32) -> Option<Self> {
        Some(Probe(self.load::<u64>(offset)? as *const u8))
    }
}

impl Traced for Probe {
    #[inline(always)]
    fn new(sk: *const u8) -> Option<Self> {
        let p = Probe(sk);
        (p.load::<u16>(cfg!(protocol)) == Some(IPPROTO_TCP)).then_some(p)
    }

    #[inline(always)]
    fn sock(sk: *const u8) -> Self {
        Probe(sk)
    }

    #[inline(always)]
    fn current_task() -> Option<Self> {
        // SAFETY: a plain helper call.
        Some(Probe(
            unsafe { generated::bpf_get_current_task() } as *const u8
        ))
    }

    /// The socket's address, mixed ([`OpenSlot::address_key`]).
    #[inline(always)]
    fn open_key(ctx: &BtfTracePointContext) -> u64 {
        OpenSlot::address_key(address(ctx))
    }

    #[inline(always)]
    fn close_key(ctx: &BtfTracePointContext, _: u64) -> u64 {
        Self::open_key(ctx)
    }
}

/// The kernel's clock, read at most once per program run.
#[derive(Default)]
pub struct Clock(u64);

impl Clock {
    /// `bpf_ktime_get_ns()`, read on the first call.
    #[inline(always)]
    pub fn ns(&mut self) -> u64 {
        if self.0 == 0 {
            // SAFETY: a plain helper call.
            self.0 = unsafe { bpf_ktime_get_ns() };
        }
        self.0
    }
}
