//! CPU of an idle UI showing 1,000 and 100,000 rows at a 1 s interval (target: 1% of a
//! core or less), measured on the real binary in a pseudo-terminal over 20 s (set
//! TCPTOP_BENCH_IDLE_SECS to change): from replays of 1,000 and 100,000 pairs, and, as
//! root, live from the kernel after 500 loopback connection pairs (1,000 IP-pair rows).
//!
//! `cargo bench -p tcptop --bench ui_idle`
mod common;
#[path = "../tests/support/mod.rs"]
mod support;

use std::{net::TcpListener, time::Duration};

use common::pty::PtyRun;
use support::traffic::connect_from;

const TARGET_PCT: f64 = 1.0;

fn idle_secs() -> u64 {
    std::env::var("TCPTOP_BENCH_IDLE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20)
}

/// Replays `rows` pairs, all arriving at once, and measures the idle UI showing them.
fn replay(dir: &std::path::Path, rows: usize) -> bool {
    let rec = dir.join(format!("idle-{rows}.jsonl"));
    common::write_recording(&rec, &common::synthetic(rows, 2));
    let args = [
        "--replay".as_ref(),
        rec.as_os_str(),
        "--interval".as_ref(),
        "1s".as_ref(),
        "--max-rows".as_ref(),
        "200000".as_ref(),
    ];
    let run = PtyRun::start_sized(&args, 160, 48);
    // The whole recording arrives at once; totals since start keep its rows shown.
    run.wait_for("(ended)", Duration::from_secs(60))
        .unwrap_or_else(|| panic!("no (ended)"));
    run.keys(b"t");
    measure(&format!("replay, {rows} rows (totals), 1 s interval"), run)
}

/// Lets `run` settle, then measures its CPU over the idle window.
fn measure(what: &str, run: PtyRun) -> bool {
    std::thread::sleep(Duration::from_secs(2));
    let before = run.cpu_secs();
    let secs = idle_secs();
    std::thread::sleep(Duration::from_secs(secs));
    let used = run.cpu_secs() - before;
    let (status, usage) = run.quit_with_usage();
    assert_eq!(status, 0, "tcptop exited with {status}");
    let pct = used * 100.0 / secs as f64;
    println!("{what}: max RSS {} MiB", usage.ru_maxrss / 1024);
    common::report(
        &format!("{what}: CPU over {secs} s idle"),
        pct,
        "% of a core",
        TARGET_PCT,
    )
}

fn main() {
    let dir = std::env::temp_dir().join(format!("tcptop-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut ok = true;
    for rows in [1_000usize, 100_000] {
        ok &= replay(&dir, rows);
    }
    if common::root() {
        let run = PtyRun::start_sized(
            &["--no-kube", "--group-by", "ip", "--interval", "1s"],
            160,
            48,
        );
        run.wait_for("closes/s", Duration::from_secs(30))
            .unwrap_or_else(|| panic!("no closes/s"));
        std::thread::sleep(Duration::from_secs(2));
        run.keys(b"t");
        for i in 0..500u32 {
            let server = format!("127.63.{}.{}", i / 200, i % 200 * 2 % 254 + 1);
            let client = format!("127.64.{}.{}", i / 200, i % 200 + 1);
            let l = TcpListener::bind((server.as_str(), 0)).unwrap();
            let s = connect_from(&client, l.local_addr().unwrap());
            let (a, _) = l.accept().unwrap();
            drop((s, a));
        }
        ok &= measure(
            "live kernel, 1000+ IP-pair rows (totals), 1 s interval",
            run,
        );
    } else {
        println!("live kernel idle: skipped: needs root");
    }
    std::fs::remove_dir_all(dir).ok();
    if !ok {
        std::process::exit(1);
    }
}
