//! What a pass of the live sampler costs per open socket (targets: 1 us of CPU per open
//! socket per pass at 10,000; see the README), and what an open socket takes in memory.
//!
//! One process loads the collector, opens 1,000 and then 10,000 TCP sockets (half of
//! them each end of a connection between two network namespaces) and times passes: the
//! walk of open files runs in the kernel inside `read()` on this thread, so the thread's
//! user plus system CPU time is the kernel's and userspace's cost together. The cost of
//! a pass with none of these sockets open is measured the same way and taken off: the
//! figures are marginal, per open socket.
//!
//! `cargo bench -p tcptop --bench live_sampling` (root)
#[path = "counting/mod.rs"]
mod counting;
#[path = "../tests/support/mod.rs"]
mod support;

use std::{path::Path, time::Duration};

use support::{long::LongLived, netns::NetPair};
use tcptop::{
    aggregation::OpenSockets,
    attribution::{AttributedLive, IpOnly, Item},
    collector::{
        kernel::{KernelCollector, LoadOptions},
        live::Tracker,
        offsets::VMLINUX_BTF,
    },
};

#[global_allocator]
static ALLOC: counting::Counting = counting::Counting;

/// Passes timed per measurement.
const PASSES: u32 = 50;

/// This thread's system CPU time (the walk, in the kernel) and user plus system.
fn thread_cpu() -> (Duration, Duration) {
    // SAFETY: an all-zero rusage is valid; getrusage fills it.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer to a live rusage.
    unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) };
    let t = |tv: libc::timeval| Duration::new(tv.tv_sec as u64, tv.tv_usec as u32 * 1000);
    (t(ru.ru_stime), t(ru.ru_utime) + t(ru.ru_stime))
}

/// CPU time per pass of the sampler, tracker and open-socket set, the system time of
/// it, and the sockets a pass saw.
fn per_pass(
    c: &mut KernelCollector,
    tracker: &mut Tracker,
    open: &mut OpenSockets,
) -> (Duration, Duration, usize) {
    let resolver = IpOnly::default();
    let start = thread_cpu();
    let mut seen = 0;
    for _ in 0..PASSES {
        tracker.begin_pass();
        let mut items = Vec::new();
        c.sample_open(|s| {
            seen += 1;
            if let Some(d) = tracker.sample(&s) {
                items.push(Item::Live(AttributedLive::new(d, &resolver)));
            }
        })
        .expect("a pass");
        tracker.end_pass();
        items.iter().for_each(|i| open.add(i));
    }
    let end = thread_cpu();
    (
        (end.1 - start.1) / PASSES,
        (end.0 - start.0) / PASSES,
        seen / PASSES as usize,
    )
}

fn main() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: the live sampling benchmark needs root");
        return;
    }
    let limit = libc::rlimit {
        rlim_cur: 20_000,
        rlim_max: 20_000,
    };
    // SAFETY: a valid rlimit.
    unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) };
    let mut c = KernelCollector::load(Path::new(VMLINUX_BTF), &LoadOptions::default())
        .expect("load the collector");
    c.live_sampling().expect("this kernel samples open sockets");
    let pair = NetPair::new(42);
    let (mut tracker, mut open) = (Tracker::new(), OpenSockets::new(1_000_000));
    let (idle, idle_sys, others) = per_pass(&mut c, &mut tracker, &mut open);
    println!("| sockets open | CPU per pass | of it, per open socket (marginal) | of that, in the kernel | userspace memory per open socket |");
    println!("|---|---|---|---|---|");
    println!(
        "| {others} (the machine's own, no test sockets) | {:.0} us | | | |",
        idle.as_secs_f64() * 1e6
    );
    let mut conns: Vec<LongLived> = Vec::new();
    for sockets in [1_000usize, 10_000] {
        while conns.len() * 2 < sockets {
            conns.push(LongLived::open(&pair, 4));
        }
        // Warm up: the tracker and the set learn the sockets.
        per_pass(&mut c, &mut tracker, &mut open);
        let before = counting::bytes();
        let (mut t2, mut o2) = (Tracker::new(), OpenSockets::new(1_000_000));
        per_pass(&mut c, &mut t2, &mut o2);
        let memory = (counting::bytes() - before) as f64 / sockets as f64;
        let (cost, sys, seen) = per_pass(&mut c, &mut tracker, &mut open);
        let per = |d: Duration| d.as_secs_f64() * 1e9 / sockets as f64;
        let (marginal, kernel) = (
            per(cost.saturating_sub(idle)),
            per(sys.saturating_sub(idle_sys)),
        );
        println!(
            "| {sockets} (+{} others) | {:.2} ms | {marginal:.0} ns | {kernel:.0} ns | {memory:.0} B (tracker and open-socket set) |",
            seen.saturating_sub(sockets),
            cost.as_secs_f64() * 1e3
        );
        drop((t2, o2));
    }
    println!(
        "| in the kernel, for any number of sockets | | | | {:.1} MiB, fixed (the `OPENS` table of open notes, `bpftool map show`) |",
        opens_map_bytes() as f64 / (1 << 20) as f64
    );
    drop(conns);
}

/// The memory the kernel charges for the `OPENS` map (`bytes_memlock`).
fn opens_map_bytes() -> u64 {
    let out = std::process::Command::new("bpftool")
        .args(["-j", "map", "show"])
        .output()
        .expect("bpftool runs (cargo xtask setup installs it)");
    let maps: serde_json::Value = serde_json::from_slice(&out.stdout).expect("bpftool JSON");
    maps.as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["name"] == "OPENS")
        .filter_map(|m| m["bytes_memlock"].as_u64())
        .max()
        .unwrap_or(0)
}
