//! `tcptop --once`, the real binary, against TCP_INFO: the snapshot's rows for the test's
//! own addresses must equal the kernel's per-socket counters summed. Needs root.
mod support;

use std::{process::Command, sync::Arc, thread};

use support::{
    netns::NetPair,
    once::{self, row},
    require_root, traffic,
};

#[test]
fn once_json_rows_equal_tcp_info() {
    if !require_root() {
        return;
    }
    let pair = Arc::new(NetPair::new(21));
    let child = support::once::start(&["--duration", "4s"]);
    let p = pair.clone();
    let reports = thread::spawn(move || {
        let sizes: Vec<(usize, usize)> = (0..20).map(|i| (100 + i * 3000, 5000 + i * 77)).collect();
        let mut r = traffic::exchange(&p, 4, &sizes, 4);
        r.extend(traffic::exchange(&p, 6, &sizes, 4));
        traffic::refused_connects(&p, 4, 3);
        r
    })
    .join()
    .unwrap();
    let doc = once::finish(child);
    assert_eq!(doc["group_by"], serde_json::json!(["ip"]));
    assert!(doc["window_secs"].as_f64().unwrap() >= 4.0);
    assert!(doc["events_dropped"].is_u64() && doc["node"].is_string() && doc["kernel"].is_string());
    for fam in [4, 6] {
        for (l, p) in [(0, 1), (1, 0)] {
            let (local, peer) = (pair.addr(l, fam), pair.addr(p, fam));
            let (n, tx, rx, _) = traffic::sums(&reports, local, peer);
            let r = row(&doc, local, peer);
            assert_eq!(r["connections"], n, "{local} -> {peer}");
            assert_eq!(r["bytes_sent"], tx, "{local} -> {peer}");
            assert_eq!(r["bytes_received"], rx, "{local} -> {peer}");
            let max_rtt = reports
                .iter()
                .filter(|s| s.local.ip() == local && s.peer.ip() == peer)
                .map(|s| u64::from(s.info.rtt_us))
                .max()
                .unwrap();
            assert_eq!(r["srtt_max_us"], max_rtt, "srtt max of {local} -> {peer}");
            assert!(r["srtt_p50_us"].as_u64().unwrap() <= max_rtt);
        }
    }
    assert_eq!(
        row(&doc, pair.addr(0, 4), pair.addr(1, 4))["failed_connects"],
        3
    );
}

#[test]
fn tiny_ring_buffer_keeps_totals_exact() {
    if !require_root() {
        return;
    }
    let pair = Arc::new(NetPair::new(22));
    let child = support::once::start(&["--duration", "4s", "--ring-bytes", "4096"]);
    let p = pair.clone();
    let reports = thread::spawn(move || {
        let sizes: Vec<(usize, usize)> = (0..400).map(|i| (8 + i, 1 + i)).collect();
        traffic::exchange(&p, 4, &sizes, 32)
    })
    .join()
    .unwrap();
    let doc = once::finish(child);
    eprintln!(
        "events_dropped with a 4 KiB ring: {}",
        doc["events_dropped"]
    );
    assert_eq!(doc["events_lost"], 0);
    for (l, p) in [(0, 1), (1, 0)] {
        let (local, peer) = (pair.addr(l, 4), pair.addr(p, 4));
        let (n, tx, rx, _) = traffic::sums(&reports, local, peer);
        let r = row(&doc, local, peer);
        assert_eq!(
            (
                r["connections"].as_u64(),
                r["bytes_sent"].as_u64(),
                r["bytes_received"].as_u64()
            ),
            (Some(n), Some(tx), Some(rx))
        );
    }
}

#[test]
fn a_closed_stdout_ends_quietly() {
    if !require_root() {
        return;
    }
    let bin = env!("CARGO_BIN_EXE_tcptop");
    let out = Command::new("bash")
        .args([
            "-c",
            &format!("{bin} --once --duration 200ms --output csv | true; exit ${{PIPESTATUS[0]}}"),
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "status {} stderr {err}", out.status);
    assert!(
        !err.contains("error") && !err.contains("panicked") && !err.contains("Broken pipe"),
        "{err}"
    );
}
