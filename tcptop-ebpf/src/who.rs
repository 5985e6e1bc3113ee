//! Who made a socket: its process's name ([`process_name`]), and the cgroup that made
//! it: `sk->sk_cgrp_data.cgroup->kn->id`, read with
//! `bpf_probe_read_kernel` from the socket's address (a plain number, so the chain of
//! pointers needs no BTF types; a failed read yields 0 and the next one fails too).
//! The first time a cgroup is seen, its directory name and its parent's go into
//! `CGROUP_NAMES`, where userspace reads them once: kubelet names a pod's cgroup after
//! the pod's UID, the runtime names the container's after its ID.
use aya_ebpf::{
    helpers::generated,
    macros::map,
    maps::{LruHashMap, PerCpuArray},
};
use tcptop_common::{CgroupName, CGROUP_NAMES as NAMES, CGROUP_NAME_BYTES, FIELD_MISSING};

/// The names of the cgroups sockets came from, by cgroup id.
#[map]
static CGROUP_NAMES: LruHashMap<u64, CgroupName> = LruHashMap::with_max_entries(NAMES, 0);

/// Where a name pair is put together: 256 bytes are too many for the stack.
#[map]
static SCRATCH: PerCpuArray<CgroupName> = PerCpuArray::with_max_entries(1, 0);

/// The u64 at `addr`, 0 where it cannot be read.
#[inline(always)]
fn read(addr: u64) -> u64 {
    let mut v = 0u64;
    // SAFETY: the helper checks the address and writes all of `v`, zeros on failure.
    unsafe {
        generated::bpf_probe_read_kernel(
            core::ptr::from_mut(&mut v).cast(),
            8,
            addr as *const core::ffi::c_void,
        );
    }
    v
}

/// The name of the process whose thread is the task at `task`: its group leader's
/// `comm`; zeros where unknown.
#[inline(always)]
pub fn process_name(task: u64) -> [u8; 16] {
    let (comm, leader) = (cfg!(task_comm), cfg!(task_group_leader));
    if task == 0 || comm == FIELD_MISSING || leader == FIELD_MISSING {
        return [0; 16];
    }
    let leader = read(task + u64::from(leader));
    let mut name = [0u8; 16];
    // SAFETY: the helper checks the address and writes all of `name`, zeros on failure.
    unsafe {
        generated::bpf_probe_read_kernel(
            name.as_mut_ptr().cast(),
            16,
            (leader + u64::from(comm)) as *const core::ffi::c_void,
        );
    }
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

/// The id of the cgroup that made the socket at `sk`, 0 where unknown; notes its names
/// the first time.
#[inline(always)]
pub fn cgroup_of(sk: u64) -> u64 {
    let at = cfg!(sk_cgroup);
    if at == FIELD_MISSING || sk == 0 {
        return 0;
    }
    let cgroup = read(sk + u64::from(at));
    let kn = read(cgroup + u64::from(cfg!(cgroup_kn)));
    let id = read(kn + u64::from(cfg!(kn_id)));
    if id == 0 || CGROUP_NAMES.get_ptr(id).is_some() {
        return id;
    }
    let Some(names) = SCRATCH.get_ptr_mut(0) else {
        return id;
    };
    // SAFETY: this CPU's scratch value; nothing else runs on it meanwhile.
    let names = unsafe { &mut *names };
    read_str(read(kn + u64::from(cfg!(kn_name))), &mut names.leaf);
    let parent = read(kn + u64::from(cfg!(kn_parent)));
    read_str(read(parent + u64::from(cfg!(kn_name))), &mut names.parent);
    // By reference: a copy would put 256 bytes on the 512-byte stack.
    #[allow(clippy::needless_borrows_for_generic_args)]
    let _ = CGROUP_NAMES.insert(id, &*names, 0);
    id
}
