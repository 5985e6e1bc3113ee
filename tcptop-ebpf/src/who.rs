//! Who made a socket: its process's name ([`process_name`]), and the cgroup that made
//! it: `sk->sk_cgrp_data.cgroup->kn->id`, read through the [`Kmem`] of the caller
//! (plain BTF loads in the tracepoint, `bpf_probe_read_kernel` in the live walk,
//! where a failed read yields 0 and the next one fails too).
//! The first time a cgroup is seen, its directory name and its parent's go into
//! `CGROUP_NAMES`, where userspace reads them once: kubelet names a pod's cgroup after
//! the pod's UID, the runtime names the container's after its ID.
use aya_ebpf::{
    helpers::generated,
    macros::map,
    maps::{LruHashMap, PerCpuArray},
};
use tcptop_common::{CgroupName, CGROUP_NAMES as NAMES, CGROUP_NAME_BYTES, FIELD_MISSING};

use crate::Kmem;

/// The names of the cgroups sockets came from, by cgroup id.
#[map]
static CGROUP_NAMES: LruHashMap<u64, CgroupName> = LruHashMap::with_max_entries(NAMES, 0);

/// Where a name pair is put together: 256 bytes are too many for the stack.
#[map]
static SCRATCH: PerCpuArray<CgroupName> = PerCpuArray::with_max_entries(1, 0);

/// The name of the process whose thread is `task`: its group leader's `comm`; zeros
/// where unknown.
#[inline(always)]
pub fn process_name<K: Kmem>(task: &K) -> [u8; 16] {
    let comm = cfg!(task_comm);
    if comm == FIELD_MISSING {
        return [0; 16];
    }
    let Some(leader) = task.chase(cfg!(task_group_leader)) else {
        return [0; 16];
    };
    let mut name = [0u8; 16];
    name[..8].copy_from_slice(&leader.load::<u64>(comm).unwrap_or(0).to_ne_bytes());
    name[8..].copy_from_slice(&leader.load::<u64>(comm + 8).unwrap_or(0).to_ne_bytes());
    name
}

/// Copies the NUL-terminated string at `src` into `dst`.
#[inline(always)]
fn read_str(src: u64, dst: &mut [u8; CGROUP_NAME_BYTES]) {
    // SAFETY: the helper checks the address and stops at the buffer's end.
    unsafe {
        generated::bpf_probe_read_kernel_str(
            dst.as_mut_ptr().cast(),
            CGROUP_NAME_BYTES as u32,
            src as *const core::ffi::c_void,
        );
    }
}

/// The id of the cgroup that made socket `sk`, 0 where unknown; notes its names the
/// first time.
#[inline(always)]
pub fn cgroup_of<K: Kmem>(sk: &K) -> u64 {
    let Some(kn) = sk
        .chase(cfg!(sk_cgroup))
        .and_then(|cgroup| cgroup.chase(cfg!(cgroup_kn)))
    else {
        return 0;
    };
    let id = kn.load::<u64>(cfg!(kn_id)).unwrap_or(0);
    if id == 0 || CGROUP_NAMES.get_ptr(id).is_some() {
        return id;
    }
    let Some(names) = SCRATCH.get_ptr_mut(0) else {
        return id;
    };
    // SAFETY: this CPU's scratch value; nothing else runs on it meanwhile.
    let names = unsafe { &mut *names };
    read_str(kn.load::<u64>(cfg!(kn_name)).unwrap_or(0), &mut names.leaf);
    let parent = kn.chase(cfg!(kn_parent));
    let parent_name = parent.and_then(|p| p.load::<u64>(cfg!(kn_name)));
    read_str(parent_name.unwrap_or(0), &mut names.parent);
    // By reference: a copy would put 256 bytes on the 512-byte stack.
    #[allow(clippy::needless_borrows_for_generic_args)]
    let _ = CGROUP_NAMES.insert(id, &*names, 0);
    id
}
