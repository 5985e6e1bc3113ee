//! The kernel's own account of BPF programs (`bpftool prog show` with
//! `kernel.bpf_stats_enabled`), and the baseline tcptop is measured against: the
//! original exporter's per-close work written for bpftrace, run as a real bpftrace.
use std::{
    fs,
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    thread,
};

use serde_json::Value;

/// A bpftrace script of the original exporter's per-close work: four counters summed
/// per IPv4 pair, and the srtt line given.
macro_rules! exporter_script {
    ($srtt:literal) => {
        concat!(
            r#"
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
"#,
            $srtt,
            "\n}\n"
        )
    };
}

/// The original exporter's per-close work exactly as it had it: the srtt, in ms, into
/// an exp2 histogram keyed by the same pair.
pub const BASELINE: &str = exporter_script!("  @srtt[$s, $d] = hist(($tp->srtt_us >> 3) / 1000);");

/// The baseline this benchmark used before: the same, but one srtt histogram for all
/// pairs, in us. Kept so that older figures compare.
pub const BASELINE_UNKEYED: &str = exporter_script!("  @srtt = hist($tp->srtt_us >> 3);");

/// The loaded programs on inet_sock_set_state: `(id, type, run_time_ns, run_cnt)`.
pub fn programs() -> Vec<(u64, String, u64, u64)> {
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
/// started (other tools on the machine may run their own copies). Waits up to 10 s for
/// it to be loaded.
pub fn new_program(before: &[(u64, String, u64, u64)], prog_type: &str) -> u64 {
    let mut fresh = Vec::new();
    for _ in 0..100 {
        fresh = programs()
            .into_iter()
            .filter(|p| p.1 == prog_type && !before.iter().any(|b| b.0 == p.0))
            .map(|p| p.0)
            .collect();
        if !fresh.is_empty() {
            break;
        }
        thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(
        fresh.len(),
        1,
        "expected one new {prog_type} program, found {fresh:?}"
    );
    fresh[0]
}

/// `(run_time_ns, run_cnt)` of program `id`.
pub fn prog_stats(id: u64) -> (u64, u64) {
    programs()
        .into_iter()
        .find(|p| p.0 == id)
        .map_or((0, 0), |p| (p.2, p.3))
}

/// A bpftrace running `script`, stopped when dropped (also when a benchmark panics),
/// so that no stale probe skews a later run.
pub struct Bpftrace {
    child: Child,
    /// The id of its program on inet_sock_set_state.
    pub id: u64,
}

impl Bpftrace {
    /// Starts bpftrace on `script` and waits until it is attached.
    pub fn start(script: &str) -> Self {
        if fs::metadata("/sys/kernel/tracing/events").is_err() {
            let _ = Command::new("mount")
                .args(["-t", "tracefs", "nodev", "/sys/kernel/tracing"])
                .status();
        }
        let before = programs();
        let path = std::env::temp_dir().join(format!("tcptop-baseline-{}.bt", std::process::id()));
        fs::write(&path, script).unwrap();
        let mut child = Command::new("bpftrace")
            .arg(&path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start bpftrace (apt-get install bpftrace)");
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        assert!(line.contains("Attaching"), "bpftrace: {line}");
        thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        let id = new_program(&before, "tracepoint");
        Bpftrace { child, id }
    }
}

impl Drop for Bpftrace {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Turns on the kernel's BPF run-time statistics until dropped.
pub struct BpfStats(String);

impl BpfStats {
    const PATH: &str = "/proc/sys/kernel/bpf_stats_enabled";

    /// Enables `kernel.bpf_stats_enabled`, remembering what it was.
    pub fn enable() -> Self {
        let was = fs::read_to_string(Self::PATH).unwrap_or_default();
        fs::write(Self::PATH, "1").expect("enable BPF run-time stats");
        BpfStats(was.trim().to_string())
    }
}

impl Drop for BpfStats {
    fn drop(&mut self) {
        let _ = fs::write(Self::PATH, &self.0);
    }
}
