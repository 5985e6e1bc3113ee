//! Test support: network namespaces joined by veth, real TCP traffic between them, and
//! the kernel's own TCP_INFO for every socket as the oracle.
#![allow(dead_code)]

pub mod bpf;
pub mod churn;
pub mod long;
pub mod netns;
pub mod once;
pub mod peers;
pub mod shaped;
pub mod tcpinfo;
pub mod traffic;

/// The median of `v` (the upper one of an even count); `v` must not be empty.
pub fn median<T: PartialOrd>(mut v: Vec<T>) -> T {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    v.swap_remove(v.len() / 2)
}

/// True when the test may use the kernel. Without root the test is skipped with a
/// message, unless `TCPTOP_REQUIRE_ROOT_TESTS=1` (as in CI), where it fails.
pub fn require_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    if std::env::var("TCPTOP_REQUIRE_ROOT_TESTS").as_deref() == Ok("1") {
        panic!("this test needs root, and TCPTOP_REQUIRE_ROOT_TESTS=1 forbids skipping it");
    }
    eprintln!("skipped: needs root");
    false
}
