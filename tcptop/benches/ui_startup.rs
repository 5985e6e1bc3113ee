//! Start-up on the real binary in a pseudo-terminal: the time from start to the UI's
//! first frame (target: 50 ms or less), from a replay and, as root, live (the first
//! frame comes before the eBPF program is loaded); and, as root, from start to
//! `--once`'s announcement that the program is attached (target: 150 ms or less).
//! Kubernetes is off (`--no-kube`) live, and a replay never contacts it.
//!
//! `cargo bench -p tcptop --bench ui_startup`
mod common;

use std::time::Duration;

use common::pty::PtyRun;

const FRAME_TARGET_MS: f64 = 50.0;
const ATTACH_TARGET_MS: f64 = 150.0;
const RUNS: usize = 10;

/// Reports the median and the maximum of `ms` against `target`; true when both meet it.
fn report_runs(what: &str, mut ms: Vec<f64>, target: f64) -> bool {
    ms.sort_by(f64::total_cmp);
    let median = common::report(&format!("{what}, median"), ms[ms.len() / 2], "ms", target);
    let max = common::report(&format!("{what}, max"), ms[ms.len() - 1], "ms", target);
    median && max
}

/// Milliseconds from starting tcptop with `args` until `text` is on its terminal.
fn time_to(args: &[&str], text: &str, limit: Duration) -> f64 {
    let run = PtyRun::start_sized(args, 160, 48);
    let ms = run
        .wait_for(text, limit)
        .unwrap_or_else(|| panic!("no {text}"))
        .as_secs_f64()
        * 1e3;
    assert_eq!(run.quit(), Some(0));
    ms
}

fn main() {
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/demo.jsonl");
    let limit = Duration::from_secs(10);
    // The header's totals row is in every first frame.
    let first = (0..RUNS)
        .map(|_| time_to(&["--replay", fixture], "closes/s", limit))
        .collect();
    let mut ok = report_runs("start to first frame, replay", first, FRAME_TARGET_MS);
    if common::root() {
        let (mut first, mut attached) = (Vec::new(), Vec::new());
        for _ in 0..RUNS {
            first.push(time_to(&["--no-kube"], "closes/s", limit));
            // Loading and attaching the program, which the UI does after its first
            // frame, timed where it is announced: --once.
            let once = ["--once", "--duration", "100ms", "--no-kube"];
            attached.push(time_to(&once, "attached", Duration::from_secs(30)));
        }
        ok &= report_runs("start to first frame, live", first, FRAME_TARGET_MS);
        ok &= report_runs(
            "start to attached, --once --no-kube",
            attached,
            ATTACH_TARGET_MS,
        );
    } else {
        println!("start to first frame, live, and start to attached: skipped: need root");
    }
    if !ok {
        std::process::exit(1);
    }
}
