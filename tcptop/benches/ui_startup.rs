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

/// Median and maximum of `ms`.
fn summary(mut ms: Vec<f64>) -> (f64, f64) {
    ms.sort_by(f64::total_cmp);
    (ms[ms.len() / 2], ms[ms.len() - 1])
}

fn main() {
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/demo.jsonl");
    let mut ok = true;
    let mut first = Vec::new();
    for _ in 0..RUNS {
        let run = PtyRun::start_sized(&["--replay", fixture], 160, 48);
        // The header's totals row is in every first frame.
        first.push(
            run.wait_for("closes/s", Duration::from_secs(10))
                .unwrap_or_else(|| panic!("no closes/s"))
                .as_secs_f64()
                * 1e3,
        );
        assert_eq!(run.quit(), Some(0));
    }
    let (median, max) = summary(first);
    ok &= common::report(
        "start to first frame, replay, median",
        median,
        "ms",
        FRAME_TARGET_MS,
    );
    ok &= common::report(
        "start to first frame, replay, max",
        max,
        "ms",
        FRAME_TARGET_MS,
    );
    if common::root() {
        let (mut first, mut attached) = (Vec::new(), Vec::new());
        for _ in 0..RUNS {
            let run = PtyRun::start_sized(&["--no-kube"], 160, 48);
            first.push(
                run.wait_for("closes/s", Duration::from_secs(10))
                    .unwrap_or_else(|| panic!("no closes/s"))
                    .as_secs_f64()
                    * 1e3,
            );
            assert_eq!(run.quit(), Some(0));
            // Loading and attaching the program, which the UI does after its first
            // frame, timed where it is announced: --once.
            let once =
                PtyRun::start_sized(&["--once", "--duration", "100ms", "--no-kube"], 160, 48);
            attached.push(
                once.wait_for("attached", Duration::from_secs(30))
                    .unwrap_or_else(|| panic!("no attached"))
                    .as_secs_f64()
                    * 1e3,
            );
            assert_eq!(once.quit(), Some(0));
        }
        let (median, max) = summary(first);
        ok &= common::report(
            "start to first frame, live, median",
            median,
            "ms",
            FRAME_TARGET_MS,
        );
        ok &= common::report(
            "start to first frame, live, max",
            max,
            "ms",
            FRAME_TARGET_MS,
        );
        let (median, max) = summary(attached);
        ok &= common::report(
            "start to attached, --once --no-kube, median",
            median,
            "ms",
            ATTACH_TARGET_MS,
        );
        ok &= common::report(
            "start to attached, --once --no-kube, max",
            max,
            "ms",
            ATTACH_TARGET_MS,
        );
    } else {
        println!("start to first frame, live, and start to attached: skipped: need root");
    }
    if !ok {
        std::process::exit(1);
    }
}
