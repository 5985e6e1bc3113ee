//! Memory stays bounded however many distinct pairs arrive: 100,000 distinct IP pairs
//! replayed into `--once --group-by ip` stay within `--max-rows` rows, fold the rest
//! into `other` exactly, and the process's peak RSS stays far below the DaemonSet's
//! 256 MiB (one HdrHistogram per row used to take about 620 MB here). No root needed.
use std::{
    os::unix::process::ExitStatusExt,
    path::Path,
    process::{Command, Stdio},
    time::Duration,
};

use tcptop::{
    attribution::{AttributedClose, Attribution, Item},
    collector::{CloseEvent, Counters, Origin},
    record::{Header, Recorder},
};

const PAIRS: u64 = 100_000;
/// Peak RSS allowed, in KiB: about 20 MiB of it is the debug binary and runtime
/// alone (`--once` of an empty recording); the 50,000 rows, their snapshot and the
/// allocator's slack took 96-100 MiB in all on 2026-12-03.
const RSS_LIMIT_KIB: i64 = 112 * 1024;

/// A recording of one close from each of `PAIRS` distinct clients; returns the bytes
/// sent in all.
fn write_recording(path: &Path) -> u64 {
    let header = Header::new(
        "n1".into(),
        "6.18".into(),
        tcptop::collector::Known {
            rto: true,
            live: false,
        },
    );
    let mut r = Recorder::create(path, &header).expect("create the recording");
    let mut sent = 0;
    for i in 0..PAIRS {
        let local = format!("10.{}.{}.{}:40000", 1 + (i >> 16), (i >> 8) & 255, i & 255);
        let tx = 1000 + i % 777;
        sent += tx;
        let item = Item::Close(AttributedClose {
            event: CloseEvent {
                local: local.parse().expect("address"),
                peer: "10.200.0.1:443".parse().expect("address"),
                counters: Counters {
                    connections: 1,
                    bytes_sent: tx,
                    bytes_received: 1,
                    ..Counters::default()
                },
                srtt_us: 100 + (i % 5000) as u32,
                origin: Origin::Connect,
                lifetime_us: None,
                id: None,
                gauges: Default::default(),
                cgroup: None,
                process: None,
            },
            local: Attribution::unknown(),
            peer: Attribution::unknown(),
        });
        r.write(Duration::from_millis(i / 100), &item)
            .expect("write");
    }
    r.flush().expect("flush");
    sent
}

#[test]
fn a_hundred_thousand_pairs_stay_within_the_row_limit_and_the_memory_cap() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("many.jsonl");
    let sent = write_recording(&path);
    let child = Command::new(env!("CARGO_BIN_EXE_tcptop"))
        .args(["--once", "--group-by", "ip", "--output", "json", "--replay"])
        .arg(&path)
        .env("HOME", dir.path())
        .env("KUBECONFIG", dir.path().join("none"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tcptop");
    let pid = child.id() as i32;
    let out = child.wait_with_output_rusage(pid);
    assert!(
        out.0.status.success(),
        "{}",
        String::from_utf8_lossy(&out.0.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.0.stdout).expect("JSON");
    let rows = doc["rows"].as_array().expect("rows");
    let folded = doc["rows_folded"].as_u64().expect("rows_folded");
    assert!(rows.len() <= 50_000, "{} rows", rows.len());
    assert!(folded > 0);
    // Each pair came once: it is either still a row or folded into `other`.
    assert_eq!(folded + rows.len() as u64 - 1, PAIRS);
    let total: u64 = rows.iter().map(|r| r["bytes_sent"].as_u64().unwrap()).sum();
    assert_eq!(total, sent, "totals are exact");
    let conns: u64 = rows
        .iter()
        .map(|r| r["connections"].as_u64().unwrap())
        .sum();
    assert_eq!(conns, PAIRS);
    assert!(rows
        .iter()
        .any(|r| r["local_ip"] == "other" && r["peer_ip"] == "other"));
    let rss_kib = out.1;
    eprintln!("peak RSS {rss_kib} KiB");
    assert!(
        rss_kib < RSS_LIMIT_KIB,
        "peak RSS {rss_kib} KiB above {RSS_LIMIT_KIB} KiB"
    );
}

/// Waiting for a child with its resource usage.
trait WaitRusage {
    /// The output and the child's peak RSS in KiB.
    fn wait_with_output_rusage(self, pid: i32) -> (std::process::Output, i64);
}

impl WaitRusage for std::process::Child {
    fn wait_with_output_rusage(mut self, pid: i32) -> (std::process::Output, i64) {
        use std::io::Read;
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        let mut out = self.stdout.take().expect("stdout");
        let mut err = self.stderr.take().expect("stderr");
        let reader = std::thread::spawn(move || {
            let mut e = Vec::new();
            err.read_to_end(&mut e).expect("read stderr");
            e
        });
        out.read_to_end(&mut stdout).expect("read stdout");
        stderr.extend(reader.join().expect("stderr reader"));
        let mut status = 0;
        // SAFETY: an all-zero rusage is valid; wait4 fills it for our own child.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: both pointers are to live locals.
        let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        assert_eq!(rc, pid, "wait4");
        let output = std::process::Output {
            status: std::process::ExitStatus::from_raw(status),
            stdout,
            stderr,
        };
        (output, usage.ru_maxrss)
    }
}
