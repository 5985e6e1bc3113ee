//! Collector benchmarks (run as root: `cargo xtask bench` or
//! `cargo bench -p tcptop --bench collector`):
//!
//! 1. kernel cost per traced state change, tcptop's program beside the original
//!    exporter's per-close work written for bpftrace (and the unkeyed variant this
//!    benchmark used before), all attached during one churn of 20,000 connections;
//! 2. tcptop's userspace CPU per closed socket beyond an idle run of the same length,
//!    from rusage, medians of five interleaved runs;
//! 3. the highest close rate this machine generates, held for 10 s: events dropped,
//!    and whether the totals stayed exact;
//! 4. the overflow drain: how long one takes with 5,000 address pairs waiting, with
//!    one, and with none, and the overflow maps' kernel memory.
#[path = "../tests/support/mod.rs"]
mod support;

use std::{
    io::Read,
    path::Path,
    process::{Child, Command},
    thread,
    time::{Duration, Instant},
};

use serde_json::Value;
use support::{
    bpf::{self, BpfStats, Bpftrace},
    churn::{self, Until},
    median,
    netns::NetPair,
    peers::{self, Peers},
};
use tcptop::collector::{
    kernel::{KernelCollector, LoadOptions},
    offsets::VMLINUX_BTF,
};

fn main() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: the collector benchmarks need root");
        return;
    }
    let stats = BpfStats::enable();
    let pair = NetPair::new(41);
    churn::allow_port_reuse(&pair);
    // TCPTOP_BENCH_QUICK=1 runs only the first part, for trying program variants.
    kernel_cost(&pair);
    if std::env::var("TCPTOP_BENCH_QUICK").is_err() {
        user_cost(&pair);
        max_rate(&pair);
        overflow_drain();
    }
    drop(stats);
}

/// Starts `tcptop --once` for `secs` and waits until it is attached.
/// `TCPTOP_BENCH_ARGS` adds arguments (`--no-live`, say), for trying variants.
fn start_tcptop(secs: u64) -> Child {
    let extra = std::env::var("TCPTOP_BENCH_ARGS").unwrap_or_default();
    let mut args = vec!["--duration".to_string(), format!("{secs}s")];
    args.extend(extra.split_whitespace().map(str::to_string));
    support::once::start(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

/// Waits for tcptop; returns its JSON and its CPU time in seconds.
fn finish_tcptop(mut child: Child) -> (Value, f64) {
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let mut status = 0;
    // SAFETY: a zeroed rusage is valid; wait4 fills it for our own child.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are to live locals.
    let rc = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut ru) };
    assert_eq!(rc, child.id() as i32, "wait4");
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    (
        serde_json::from_str(&out).expect("tcptop JSON"),
        secs(ru.ru_utime) + secs(ru.ru_stime),
    )
}

/// Totals of the rows from side `l` to side `p` of the pair.
fn pair_row(doc: &Value, pair: &NetPair, l: usize, p: usize) -> (u64, u64, u64) {
    let (local, peer) = (pair.v4[l].to_string(), pair.v4[p].to_string());
    doc["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["local_ip"] == local && r["peer_ip"] == peer)
        .map_or((0, 0, 0), |r| {
            (
                r["connections"].as_u64().unwrap(),
                r["bytes_sent"].as_u64().unwrap(),
                r["bytes_received"].as_u64().unwrap(),
            )
        })
}

/// Whether both directions' rows equal what `n` churn connections must give; says
/// on stderr what differs.
fn exact(doc: &Value, pair: &NetPair, n: u64) -> bool {
    // The peer's FIN counts as one received byte.
    let want = [
        (n, n * churn::UP, n * (churn::DOWN + 1)),
        (n, n * churn::DOWN, n * (churn::UP + 1)),
    ];
    let got = [pair_row(doc, pair, 0, 1), pair_row(doc, pair, 1, 0)];
    if got != want {
        eprintln!("collector: (connections, sent, received) {got:?}, want {want:?}");
    }
    got == want
}

fn closes(doc: &Value) -> u64 {
    doc["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["connections"].as_u64().unwrap() + r["failed_connects"].as_u64().unwrap())
        .sum()
}

fn kernel_cost(pair: &NetPair) {
    let keyed = Bpftrace::start(bpf::BASELINE);
    let unkeyed = Bpftrace::start(bpf::BASELINE_UNKEYED);
    let before = bpf::programs();
    let tcptop = start_tcptop(60);
    let ours = bpf::new_program(&before, "tracing");
    let ids = [ours, keyed.id, unkeyed.id];
    let start = ids.map(bpf::prog_stats);
    let (n, took) = churn::churn(pair, 4, Until::Count(20_000));
    let end = ids.map(bpf::prog_stats);
    drop((keyed, unkeyed));
    // SAFETY: kill has no memory preconditions; SIGINT ends the window with its snapshot.
    unsafe { libc::kill(tcptop.id() as i32, libc::SIGINT) };
    let (doc, _) = finish_tcptop(tcptop);

    let per_run = |i: usize| (end[i].0 - start[i].0) as f64 / (end[i].1 - start[i].1).max(1) as f64;
    let [ours_ns, keyed_ns, unkeyed_ns] = [0, 1, 2].map(per_run);
    println!("## Collector benchmarks");
    println!(
        "churn: {n} connections ({} closed sockets) in {:.1} s",
        2 * n,
        took.as_secs_f64()
    );
    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| tcptop eBPF, ns per state change | {ours_ns:.0} ({} runs) |",
        end[0].1 - start[0].1
    );
    println!(
        "| baseline (srtt histogram per IPv4 pair, ms), ns per state change | {keyed_ns:.0} |"
    );
    println!(
        "| ratio tcptop / baseline (target <= 0.4) | {:.2} |",
        ours_ns / keyed_ns
    );
    println!("| old baseline (one srtt histogram, us), ns per state change | {unkeyed_ns:.0} |");
    println!(
        "| ratio tcptop / old baseline | {:.2} |",
        ours_ns / unkeyed_ns
    );
    println!("| totals exact for the churn | {} |", exact(&doc, pair, n));
}

/// tcptop's userspace CPU per closed socket beyond an idle run of the same length:
/// runs with and without a churn, interleaved, medians of five each.
fn user_cost(pair: &NetPair) {
    const RUNS: usize = 5;
    const CONNECTIONS: u64 = 8_000;
    let (mut idle, mut busy, mut per_close) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..RUNS {
        let (_, cpu) = finish_tcptop(start_tcptop(3));
        idle.push(cpu);
        let tcptop = start_tcptop(3);
        let (n, took) = churn::churn(pair, 4, Until::Count(CONNECTIONS));
        let (doc, cpu) = finish_tcptop(tcptop);
        assert!(
            took < Duration::from_millis(2_500),
            "the churn outlasted the window"
        );
        assert!(exact(&doc, pair, n), "totals not exact");
        busy.push(cpu);
        per_close.push((cpu, closes(&doc)));
    }
    let idle = median(idle);
    let marginal = median(
        per_close
            .iter()
            .map(|&(cpu, n)| (cpu - idle) * 1e6 / n.max(1) as f64)
            .collect(),
    );
    println!(
        "| tcptop userspace CPU of a 3 s window: idle / with {} closed sockets (medians of {RUNS}) | {:.1} ms / {:.1} ms |",
        2 * CONNECTIONS,
        idle * 1e3,
        median(busy) * 1e3
    );
    println!(
        "| userspace CPU per closed socket beyond idle (target <= 0.2 us) | {marginal:.3} us |"
    );
}

fn max_rate(pair: &NetPair) {
    let tcptop = start_tcptop(13);
    let (n, took) = churn::churn(pair, 8, Until::Time(Duration::from_secs(10)));
    let (doc, _) = finish_tcptop(tcptop);
    println!(
        "| max rate: closed sockets per second over {:.1} s | {:.0} |",
        took.as_secs_f64(),
        2.0 * n as f64 / took.as_secs_f64()
    );
    println!(
        "| max rate: events_dropped (folded, totals kept) | {} |",
        doc["events_dropped"]
    );
    println!("| max rate: events_lost | {} |", doc["events_lost"]);
    println!(
        "| max rate: totals exact ({n} connections) | {} |",
        exact(&doc, pair, n)
    );
}

/// `(id, name, bytes_memlock)` of every BPF map.
fn maps() -> Vec<(u64, String, u64)> {
    let out = Command::new("bpftool")
        .args(["-j", "map", "show"])
        .output()
        .expect("bpftool");
    let maps: Value = serde_json::from_slice(&out.stdout).expect("bpftool JSON");
    maps.as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["id"].as_u64().unwrap_or(0),
                m["name"].as_str().unwrap_or("").to_string(),
                m["bytes_memlock"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

/// Kernel memory of the overflow maps among `ids`.
fn overflow_memlock(ids: &[u64]) -> u64 {
    maps()
        .iter()
        .filter(|m| ids.contains(&m.0))
        .map(|m| m.2)
        .sum()
}

fn overflow_drain() {
    const PEERS: u32 = 2_500;
    let pair = NetPair::new(32);
    let peers = Peers::new(&pair, 132);
    let before = maps();
    let opts = LoadOptions {
        ring_bytes: 4096,
        ..LoadOptions::default()
    };
    let mut c = KernelCollector::load(Path::new(VMLINUX_BTF), &opts).expect("load the collector");
    let ids: Vec<u64> = maps()
        .into_iter()
        .filter(|m| m.1.starts_with("OVERFLOW_") && m.1 != "OVERFLOW_SIDE")
        .filter(|m| !before.iter().any(|b| b.0 == m.0))
        .map(|m| m.0)
        .collect();
    assert_eq!(
        ids.len(),
        2,
        "expected two new overflow maps, found {ids:?}"
    );
    let idle = overflow_memlock(&ids);
    let (mut full, mut one, mut none) = (Vec::new(), Vec::new(), Vec::new());
    let (mut pairs, mut held) = (0, 0);
    let mut next = 0;
    let mut burst = |n: u32| {
        let from = (next..next + n).map(|i| peers.addr(i)).collect();
        next += n;
        peers::connect_all(&pair, from, 8);
        // Let the last server sockets reach CLOSE.
        thread::sleep(Duration::from_millis(200));
    };
    for _ in 0..5 {
        c.drain_events(|_| {});
        c.drain_overflow(|_| {});
        // The ring is not read: nearly every record of the burst overflows.
        burst(PEERS);
        held = held.max(overflow_memlock(&ids));
        let mut n = 0;
        let t = Instant::now();
        c.drain_overflow(|_| n += 1);
        full.push(t.elapsed());
        pairs = n;
        burst(1);
        let t = Instant::now();
        c.drain_overflow(|_| {});
        one.push(t.elapsed());
        let t = Instant::now();
        c.drain_overflow(|_| {});
        none.push(t.elapsed());
    }
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let (full, one) = (median(full), median(one));
    println!(
        "| overflow drain, {pairs} address pairs waiting (median of 5) | {:.1} ms |",
        ms(full)
    );
    println!(
        "| overflow drain, 2 pairs waiting: about one RCU grace period | {:.1} ms |",
        ms(one)
    );
    println!(
        "| overflow drain, nothing new (no flip, no wait) | {:.0} us |",
        median(none).as_secs_f64() * 1e6
    );
    println!(
        "| overflow drain, per pair beyond the wait | {:.2} us |",
        (ms(full) - ms(one)) * 1e3 / f64::from(pairs.max(1))
    );
    println!(
        "| overflow maps' kernel memory, idle / holding {pairs} pairs ({} CPUs) | {idle} B / {held} B |",
        thread::available_parallelism().map_or(0, |n| n.get())
    );
}
