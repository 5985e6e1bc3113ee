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

/// This thread's user plus system CPU time.
fn thread_cpu() -> Duration {
    // SAFETY: an all-zero rusage is valid; getrusage fills it.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer to a live rusage.
    unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) };
    let t = |tv: libc::timeval| Duration::new(tv.tv_sec as u64, tv.tv_usec as u32 * 1000);
    t(ru.ru_utime) + t(ru.ru_stime)
}

/// CPU time per pass of the sampler, tracker and open-socket set, and the sockets a
/// pass saw.
fn per_pass(
    c: &mut KernelCollector,
    tracker: &mut Tracker,
    open: &mut OpenSockets,
) -> (Duration, usize) {
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
    ((thread_cpu() - start) / PASSES, seen / PASSES as usize)
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
    let (idle, others) = per_pass(&mut c, &mut tracker, &mut open);
    println!("| sockets open | CPU per pass | of it, per open socket (marginal) | userspace memory per open socket |");
    println!("|---|---|---|---|");
    println!(
        "| {others} (the machine's own, no test sockets) | {:.0} us | | |",
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
        let (cost, seen) = per_pass(&mut c, &mut tracker, &mut open);
        let marginal = (cost.saturating_sub(idle)).as_secs_f64() * 1e9 / sockets as f64;
        println!(
            "| {sockets} (+{} others) | {:.2} ms | {marginal:.0} ns | {memory:.0} B (tracker and open-socket set) |",
            seen.saturating_sub(sockets),
            cost.as_secs_f64() * 1e3
        );
        drop((t2, o2));
    }
    let kernel = opened_map_bytes() as f64 / conns.len().max(1) as f64 / 2.0;
    println!(
        "| in the kernel, per socket opened while tcptop runs | | | {kernel:.0} B (its OPENED entry, `bpftool map show`) |"
    );
    drop(conns);
}

/// The memory the kernel charges for the `OPENED` map now (`bytes_memlock`).
fn opened_map_bytes() -> u64 {
    let out = std::process::Command::new("bpftool")
        .args(["-j", "map", "show"])
        .output()
        .expect("bpftool runs (cargo xtask setup installs it)");
    let maps: serde_json::Value = serde_json::from_slice(&out.stdout).expect("bpftool JSON");
    maps.as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["name"] == "OPENED")
        .filter_map(|m| m["bytes_memlock"].as_u64())
        .max()
        .unwrap_or(0)
}
