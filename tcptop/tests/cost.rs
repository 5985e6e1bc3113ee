//! tcptop's own cost in `--once`'s JSON: with `kernel.bpf_stats_enabled` on, the real
//! binary counts at least the program runs its test connections must cause, and some
//! CPU. A replay has no kernel and no cost. The first test needs root.
mod support;

use std::{fs, process::Command, sync::Arc, thread};

use serde_json::Value;
use support::{netns::NetPair, once, require_root, traffic};

/// The sysctl's file.
const SYSCTL: &str = "/proc/sys/kernel/bpf_stats_enabled";

/// Connections the test makes.
const CONNECTIONS: usize = 24;

/// Turns `kernel.bpf_stats_enabled` on for as long as it lives, and back off on drop
/// only if it was off: the sysctl is machine-wide, and whoever had it on keeps it on.
struct StatsOn {
    was_off: bool,
}

impl StatsOn {
    fn enable() -> Self {
        let was = fs::read_to_string(SYSCTL).expect("read kernel.bpf_stats_enabled");
        let was_off = was.trim() == "0";
        if was_off {
            fs::write(SYSCTL, "1").expect("turn kernel.bpf_stats_enabled on");
        }
        Self { was_off }
    }
}

impl Drop for StatsOn {
    fn drop(&mut self) {
        if self.was_off {
            let _ = fs::write(SYSCTL, "0");
        }
    }
}

#[test]
fn once_counts_its_own_bpf_runs_and_cpu() {
    if !require_root() {
        return;
    }
    let _stats = StatsOn::enable();
    let pair = Arc::new(NetPair::new(60));
    let child = once::start(&["--duration", "1s"]);
    let p = pair.clone();
    thread::spawn(move || traffic::exchange(&p, 4, &[(1_000, 2_000); CONNECTIONS], 4))
        .join()
        .unwrap();
    let doc = once::finish(child);
    let cost = &doc["cost"];
    eprintln!("cost over the window: {cost}");
    assert_eq!(cost["bpf_stats_enabled"], true, "{cost}");
    // Each connection's two sockets change state about 10 times in all (SYN_SENT,
    // SYN_RECV, ESTABLISHED twice, FIN_WAIT1/2, CLOSE_WAIT, LAST_ACK, CLOSE twice):
    // count 2, the two closes, as the least.
    let runs = cost["bpf_run_count"].as_u64().expect("a run count");
    assert!(
        runs >= 2 * CONNECTIONS as u64,
        "{runs} runs for {CONNECTIONS} connections"
    );
    let ns = cost["bpf_run_time_ns"].as_u64().expect("a run time");
    assert!(ns > 0, "{cost}");
    eprintln!("{:.0} ns per run", ns as f64 / runs as f64);
    let cpu = cost["cpu_secs"].as_f64().expect("a CPU time");
    let window = doc["window_secs"].as_f64().unwrap();
    let cpus = thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    assert!(cpu > 0.0 && cpu < window * cpus, "cpu {cpu}s in {window}s");
}

#[test]
fn a_replay_has_no_cost() {
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/demo.jsonl");
    let out = Command::new(env!("CARGO_BIN_EXE_tcptop"))
        .args(["--once", "--output", "json", "--replay", fixture])
        .output()
        .expect("run tcptop");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(doc["cost"], Value::Null);
}
