//! Raises RLIMIT_MEMLOCK before the eBPF maps are created. Kernels before 5.11 charge
//! BPF maps against it, and container runtimes often leave it at 64 KiB, too small for
//! the ring buffer. Raising the soft limit up to the hard one needs no privilege; raising
//! the hard limit needs CAP_SYS_RESOURCE (which the DaemonSet adds only for such
//! kernels). From 5.11 on, maps are charged to the memory cgroup instead and this limit
//! does not matter.

/// Lifts the limit as far as this process may. Never fails: if the limit stays too low
/// for an old kernel, creating the maps fails and that error is the one to report.
pub fn raise() {
    let unlimited = libc::rlimit {
        rlim_cur: libc::RLIM_INFINITY,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: setrlimit and getrlimit only read and write the rlimit structs passed in.
    unsafe {
        if libc::setrlimit(libc::RLIMIT_MEMLOCK, &unlimited) == 0 {
            return;
        }
        let mut current = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut current) == 0
            && current.rlim_cur < current.rlim_max
        {
            current.rlim_cur = current.rlim_max;
            libc::setrlimit(libc::RLIMIT_MEMLOCK, &current);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memlock() -> libc::rlimit {
        let mut r = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes into `r` only.
        assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut r) }, 0);
        r
    }

    /// CAP_SYS_RESOURCE (bit 24) in this process's effective set.
    fn has_cap_sys_resource() -> bool {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let eff = status
            .lines()
            .find_map(|l| l.strip_prefix("CapEff:"))
            .unwrap();
        u64::from_str_radix(eff.trim(), 16).unwrap() & (1 << 24) != 0
    }

    #[test]
    fn soft_limit_reaches_the_hard_limit() {
        raise();
        let r = memlock();
        assert_eq!(r.rlim_cur, r.rlim_max);
        if has_cap_sys_resource() {
            assert_eq!(r.rlim_max, libc::RLIM_INFINITY);
        }
    }
}
