//! Collector benchmarks (run as root: `cargo xtask bench` or
//! `cargo bench -p tcptop --bench collector`):
//!
//! 1. kernel cost per traced state change, tcptop's program beside a bpftrace script
//!    doing the original exporter's per-close work, both attached during one churn;
//! 2. tcptop's userspace CPU time per closed socket over 20,000 short connections
//!    (40,000 closed sockets), start-up included, from rusage;
//! 3. the highest close rate this machine generates, held for 10 s: events dropped,
//!    and whether the totals stayed exact;
//! 4. the overflow drain: how long one takes with 5,000 address pairs waiting, with
//!    one, and with none, and the overflow maps' kernel memory.
#[path = "../tests/support/mod.rs"]
mod support;

use std::{
    fs,
    io::{BufRead, BufReader, Read},
    path::Path,
    process::{Child, Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use serde_json::Value;
use support::{
    churn::{self, Until},
    netns::NetPair,
    peers::{self, Peers},
};
use tcptop::collector::{
    kernel::{KernelCollector, LoadOptions},
    offsets::VMLINUX_BTF,
};

/// The original exporter's per-close work, written for bpftrace.
const BASELINE: &str = r#"
tracepoint:sock:inet_sock_set_state
/args->protocol == 6 && args->newstate == 7 && args->family == 2/
{
  $sk = (struct sock *)args->skaddr;
  $tp = (struct tcp_sock *)args->skaddr;
  $s = $sk->__sk_common.skc_rcv_saddr;
  $d = $sk->__sk_common.skc_daddr;
  @sent[$s, $d] = sum($tp->bytes_sent);
  @recv[$s, $d] = sum($tp->bytes_received);
  @retrans[$s, $d] = sum($tp->total_retrans);
  @lost[$s, $d] = sum($tp->lost);
  @srtt = hist($tp->srtt_us >> 3);
}
"#;

fn main() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: the collector benchmarks need root");
        return;
    }
    let stats_was = fs::read_to_string("/proc/sys/kernel/bpf_stats_enabled").unwrap_or_default();
    fs::write("/proc/sys/kernel/bpf_stats_enabled", "1").expect("enable BPF run-time stats");
    if fs::metadata("/sys/kernel/tracing/events").is_err() {
        let _ = Command::new("mount")
            .args(["-t", "tracefs", "nodev", "/sys/kernel/tracing"])
            .status();
    }
    let pair = NetPair::new(41);
    churn::allow_port_reuse(&pair);
    // TCPTOP_BENCH_QUICK=1 runs only the first part, for trying program variants.
    kernel_and_user_cost(&pair);
    if std::env::var("TCPTOP_BENCH_QUICK").is_err() {
        max_rate(&pair);
        overflow_drain();
    }
    let _ = fs::write("/proc/sys/kernel/bpf_stats_enabled", stats_was.trim());
}

/// Starts `tcptop --once` for `secs` and waits until it is attached.
fn start_tcptop(secs: u64) -> Child {
    support::once::start(&["--duration", &format!("{secs}s")])
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

/// The loaded programs on inet_sock_set_state: `(id, type, run_time_ns, run_cnt)`.
fn programs() -> Vec<(u64, String, u64, u64)> {
    let out = Command::new("bpftool")
        .args(["-j", "prog", "show"])
        .output()
        .expect("bpftool");
    let progs: Value = serde_json::from_slice(&out.stdout).expect("bpftool JSON");
    progs
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| {
            p["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("inet_sock_set"))
        })
        .map(|p| {
            let n = |k: &str| p[k].as_u64().unwrap_or(0);
            (
                n("id"),
                p["type"].as_str().unwrap_or("").to_string(),
                n("run_time_ns"),
                n("run_cnt"),
            )
        })
        .collect()
}

/// The id of the one program of `prog_type` that is not in `before`: the one just
/// started (other tools on the machine may run their own copies).
fn new_program(before: &[(u64, String, u64, u64)], prog_type: &str) -> u64 {
    let fresh: Vec<u64> = programs()
        .into_iter()
        .filter(|p| p.1 == prog_type && !before.iter().any(|b| b.0 == p.0))
        .map(|p| p.0)
        .collect();
    assert_eq!(
        fresh.len(),
        1,
        "expected one new {prog_type} program, found {fresh:?}"
    );
    fresh[0]
}

/// `(run_time_ns, run_cnt)` of program `id`.
fn prog_stats(id: u64) -> (u64, u64) {
    programs()
        .into_iter()
        .find(|p| p.0 == id)
        .map_or((0, 0), |p| (p.2, p.3))
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

/// Stops bpftrace even when the benchmark panics, so no stale probe skews a later run.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn kernel_and_user_cost(pair: &NetPair) {
    let before = programs();
    let script = std::env::temp_dir().join("tcptop-baseline.bt");
    fs::write(&script, BASELINE).unwrap();
    let mut bt = KillOnDrop(
        Command::new("bpftrace")
            .arg(&script)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start bpftrace (apt-get install bpftrace)"),
    );
    let mut bt_out = BufReader::new(bt.0.stdout.take().unwrap());
    let mut line = String::new();
    bt_out.read_line(&mut line).unwrap();
    assert!(line.contains("Attaching"), "bpftrace: {line}");
    thread::spawn(move || std::io::copy(&mut bt_out, &mut std::io::sink()));

    let tcptop = start_tcptop(20);
    let (ours, base) = (
        new_program(&before, "tracing"),
        new_program(&before, "tracepoint"),
    );
    let (ours0, base0) = (prog_stats(ours), prog_stats(base));
    let (n, took) = churn::churn(pair, 4, Until::Count(20_000));
    let (ours1, base1) = (prog_stats(ours), prog_stats(base));
    drop(bt);
    let (doc, cpu) = finish_tcptop(tcptop);

    let per_run = |a: (u64, u64), b: (u64, u64)| (b.0 - a.0) as f64 / (b.1 - a.1).max(1) as f64;
    let (ours, base) = (per_run(ours0, ours1), per_run(base0, base1));
    println!("## Collector benchmarks");
    println!(
        "churn: {n} connections ({} closed sockets) in {:.1} s",
        2 * n,
        took.as_secs_f64()
    );
    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| tcptop eBPF, ns per state change | {ours:.0} ({} runs) |",
        ours1.1 - ours0.1
    );
    println!(
        "| bpftrace baseline, ns per state change | {base:.0} ({} runs) |",
        base1.1 - base0.1
    );
    println!(
        "| ratio tcptop / baseline (target <= 0.5) | {:.2} |",
        ours / base
    );
    let seen = closes(&doc);
    println!(
        "| tcptop userspace CPU, whole run incl. start-up | {:.1} ms |",
        cpu * 1e3
    );
    println!("| closed sockets tcptop processed | {seen} |");
    println!(
        "| userspace CPU per closed socket (target <= 5 us) | {:.2} us |",
        cpu * 1e6 / seen.max(1) as f64
    );
    println!("| totals exact for the churn | {} |", exact(&doc, pair, n));
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

/// Median of `v`.
fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
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
