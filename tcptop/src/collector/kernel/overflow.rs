//! Drains the overflow maps exactly. The program adds records the ring buffer could not
//! take to one of two hash maps, the one `OVERFLOW_SIDE` names. A drain flips the side,
//! waits until no program that read the old side can still be running (a grace period
//! of RCU, under which every tracing program runs), and only then takes every entry out
//! of the old map with batched lookup-and-delete. No program writes a map while it is
//! emptied, so no addition is lost to a delete, and the maps never fill up for good.
//!
//! aya 0.14 has neither batch operations nor a way to wait for running programs, so
//! both are raw `bpf(2)` calls here.
use std::{
    io,
    os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd},
};

use aya::{
    maps::{Array, HashMap, Map, MapData},
    Ebpf,
};
use aya_obj::generated::{bpf_attr, bpf_cmd, bpf_map_type};
use tcptop_common::{PairKey, PairTotals};

/// Why the overflow maps cannot be used: the object lacks one, or a map is not what it
/// should be, or the fence cannot be created.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct OverflowError(String);

/// Entries fetched per batch call.
const BATCH: usize = 1024;

/// Waits for running BPF programs. Updating an element of an array of maps makes the
/// kernel call `synchronize_rcu()` before it returns ("so that userspace, when we return
/// to it, knows that all non-sleepable programs that could be running use the new map
/// value", `maybe_wait_bpf_programs` in kernel/bpf/syscall.c, 4.18+). No program uses
/// this map; it exists for that wait. The kernel's own selftests wait the same way.
struct Fence {
    outer: OwnedFd,
    inner: OwnedFd,
}

impl Fence {
    fn new() -> io::Result<Self> {
        let inner = create_map(bpf_map_type::BPF_MAP_TYPE_ARRAY, None, b"tcptop_fence_in")?;
        let outer = create_map(
            bpf_map_type::BPF_MAP_TYPE_ARRAY_OF_MAPS,
            Some(inner.as_fd()),
            b"tcptop_fence",
        )?;
        Ok(Self { outer, inner })
    }

    /// Returns once every program run that started before the call has finished.
    fn wait(&self) -> io::Result<()> {
        let (key, value) = (0u32, self.inner.as_raw_fd() as u32);
        // SAFETY: a zeroed bpf_attr is a valid argument for every command.
        let mut attr: bpf_attr = unsafe { std::mem::zeroed() };
        // SAFETY: writing plain integers into the union's element member.
        let elem = unsafe { &mut attr.__bindgen_anon_2 };
        elem.map_fd = self.outer.as_raw_fd() as u32;
        elem.key = &key as *const u32 as u64;
        elem.__bindgen_anon_1.value = &value as *const u32 as u64;
        sys_bpf(bpf_cmd::BPF_MAP_UPDATE_ELEM, &mut attr).map(drop)
    }
}

/// Creates a one-element map of `map_type` with 4-byte keys and values, holding maps like
/// `inner` when given.
fn create_map(
    map_type: bpf_map_type,
    inner: Option<BorrowedFd<'_>>,
    name: &[u8],
) -> io::Result<OwnedFd> {
    // SAFETY: a zeroed bpf_attr is a valid argument for every command.
    let mut attr: bpf_attr = unsafe { std::mem::zeroed() };
    // SAFETY: writing plain integers into the union's map-creation member.
    let create = unsafe { &mut attr.__bindgen_anon_1 };
    create.map_type = map_type as u32;
    create.key_size = 4;
    create.value_size = 4;
    create.max_entries = 1;
    create.inner_map_fd = inner.map_or(0, |fd| fd.as_raw_fd() as u32);
    for (d, s) in create.map_name.iter_mut().zip(name) {
        *d = *s as libc::c_char;
    }
    let fd = sys_bpf(bpf_cmd::BPF_MAP_CREATE, &mut attr)?;
    // SAFETY: BPF_MAP_CREATE returned a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The two overflow maps and the side the program writes.
pub struct Overflow {
    maps: [MapData; 2],
    side: Array<MapData, u32>,
    /// The side the program writes now.
    active: u32,
    fence: Fence,
    /// The kernel's folded-record count when the side was last flipped.
    folded_at_flip: u64,
    /// The other side may hold entries: a fence or drain failed, retry it first.
    pending: bool,
    keys: Vec<PairKey>,
    values: Vec<PairTotals>,
}

impl Overflow {
    /// Takes the overflow maps out of the loaded object and creates the fence.
    pub fn new(ebpf: &mut Ebpf) -> Result<Self, OverflowError> {
        let mut take = |name: &str| {
            ebpf.take_map(name)
                .ok_or_else(|| OverflowError(format!("map {name} missing")))
        };
        // A hash map of these key and value sizes: the batch buffers depend on them.
        let mut hash = |name: &str| {
            let map = take(name)?;
            HashMap::<&MapData, PairKey, PairTotals>::try_from(&map)
                .map_err(|e| OverflowError(format!("map {name}: {e}")))?;
            match map {
                Map::HashMap(data) => Ok(data),
                _ => Err(OverflowError(format!("map {name} is not a hash map"))),
            }
        };
        let maps = [hash("OVERFLOW_0")?, hash("OVERFLOW_1")?];
        let side = Array::try_from(take("OVERFLOW_SIDE")?)
            .map_err(|e| OverflowError(format!("map OVERFLOW_SIDE: {e}")))?;
        let fence = Fence::new().map_err(|e| {
            OverflowError(format!(
                "cannot create the map that waits for programs: {e}"
            ))
        })?;
        Ok(Self {
            maps,
            side,
            active: 0,
            fence,
            folded_at_flip: 0,
            pending: false,
            keys: vec![PairKey::default(); BATCH],
            values: vec![PairTotals::default(); BATCH],
        })
    }

    /// Hands every entry folded since the previous drain to `sink`, given the kernel's
    /// folded-record count now. Does nothing (no flip, no wait) when that count has not
    /// moved. Every entry taken out of the kernel reaches `sink`; after an error the rest
    /// stays in its map, no longer written, and the next call drains it.
    pub fn drain(&mut self, folded: u64, mut sink: impl FnMut(&PairKey, &PairTotals)) {
        if !self.pending && folded != self.folded_at_flip {
            let next = 1 - self.active;
            if self.side.set(0, next, 0).is_err() {
                return;
            }
            self.active = next;
            self.folded_at_flip = folded;
            self.pending = true;
        }
        if self.pending && self.fence.wait().is_ok() {
            let idle = &self.maps[1 - self.active as usize];
            self.pending = drain_map(
                idle.fd().as_fd(),
                &mut self.keys,
                &mut self.values,
                &mut sink,
            )
            .is_err();
        }
    }
}

/// Takes every entry out of the hash map `fd`, in batches, handing each to `sink`.
fn drain_map(
    fd: BorrowedFd<'_>,
    keys: &mut Vec<PairKey>,
    values: &mut Vec<PairTotals>,
    sink: &mut impl FnMut(&PairKey, &PairTotals),
) -> io::Result<()> {
    // The batch position of a hash map is a bucket index.
    let (mut at, mut next, mut first) = (0u32, 0u32, true);
    loop {
        // SAFETY: a zeroed bpf_attr is a valid argument for every command.
        let mut attr: bpf_attr = unsafe { std::mem::zeroed() };
        // SAFETY: writing plain integers into the union's batch member; the buffers hold
        // `count` keys and values and outlive the call.
        let batch = unsafe { &mut attr.batch };
        batch.in_batch = if first { 0 } else { &at as *const u32 as u64 };
        batch.out_batch = &mut next as *mut u32 as u64;
        batch.keys = keys.as_mut_ptr() as u64;
        batch.values = values.as_mut_ptr() as u64;
        batch.count = keys.len() as u32;
        batch.map_fd = fd.as_raw_fd() as u32;
        let rc = sys_bpf(bpf_cmd::BPF_MAP_LOOKUP_AND_DELETE_BATCH, &mut attr);
        // SAFETY: the kernel wrote back how many entries it filled in, also on ENOENT.
        let got = (unsafe { attr.batch.count } as usize).min(keys.len());
        for (k, v) in keys[..got].iter().zip(&values[..got]) {
            sink(k, v);
        }
        match rc {
            Ok(_) => (at, first) = (next, false),
            // The end of the map.
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(()),
            // One bucket holds more entries than the buffers: grow them and retry it.
            Err(e) if e.raw_os_error() == Some(libc::ENOSPC) && got == 0 => {
                let n = keys.len() * 2;
                keys.resize(n, PairKey::default());
                values.resize(n, PairTotals::default());
            }
            Err(e) => return Err(e),
        }
    }
}

/// `bpf(cmd, attr)`: the returned value, or the errno.
fn sys_bpf(cmd: bpf_cmd, attr: &mut bpf_attr) -> io::Result<i32> {
    // SAFETY: attr is a valid bpf_attr of the size passed; the kernel reads and writes
    // only the member for `cmd` and the buffers it points to, which the callers keep alive.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd as libc::c_long,
            attr as *mut bpf_attr,
            size_of::<bpf_attr>(),
        )
    };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc as i32)
    }
}
