//! The kernel's count of program runs it skipped: a tracing program does not run
//! again on a CPU where it is already running (an interrupt that closes a socket while
//! the program handles another close there), and those closes never reach tcptop.
//! aya does not expose the counter, so this reads `bpf_prog_info` itself.
use std::os::fd::{AsFd, AsRawFd};

use aya::programs::ProgramFd;
use aya_obj::generated::bpf_prog_info;

/// `BPF_OBJ_GET_INFO_BY_FD` from `include/uapi/linux/bpf.h`.
const BPF_OBJ_GET_INFO_BY_FD: libc::c_long = 15;

#[repr(C)]
struct InfoAttr {
    bpf_fd: u32,
    info_len: u32,
    info: u64,
}

/// `recursion_misses` of the program behind `fd` (Linux 5.12+), or `None` when the
/// kernel does not report it.
pub fn recursion_misses(fd: &ProgramFd) -> Option<u64> {
    // SAFETY: bpf_prog_info is plain integers; zero is a valid value.
    let mut info: bpf_prog_info = unsafe { std::mem::zeroed() };
    let mut attr = InfoAttr {
        bpf_fd: fd.as_fd().as_raw_fd() as u32,
        info_len: size_of::<bpf_prog_info>() as u32,
        info: &mut info as *mut bpf_prog_info as u64,
    };
    // SAFETY: the kernel writes at most info_len bytes into `info`.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_OBJ_GET_INFO_BY_FD,
            &mut attr as *mut InfoAttr,
            size_of::<InfoAttr>(),
        )
    };
    let has_field =
        attr.info_len as usize >= std::mem::offset_of!(bpf_prog_info, recursion_misses) + 8;
    (rc == 0 && has_field).then_some(info.recursion_misses)
}
