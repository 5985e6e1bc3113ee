//! `--once` ended early: SIGINT, SIGTERM and SIGHUP print the snapshot of what was
//! collected, with its real length, say so on stderr and exit 0; `--record` keeps the
//! records as they arrive, even when tcptop is killed outright. Needs root.
mod support;

use std::{
    io::Read,
    process::{Child, Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use support::{netns::NetPair, require_root, traffic::refused_connects};

/// Starts `tcptop --once` for a long window, recording to `record`, and waits until
/// it is attached. Returns the child and its stderr so far.
fn start(record: &std::path::Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tcptop"))
        .args([
            "--once",
            "--no-kube",
            "--duration",
            "60s",
            "--output",
            "json",
        ])
        .args(["--group-by", "ip", "--record"])
        .arg(record)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tcptop");
    let mut err = child.stderr.take().expect("stderr");
    let mut seen = Vec::new();
    let mut byte = [0u8; 1];
    while !String::from_utf8_lossy(&seen).contains("collecting for") {
        assert_eq!(
            err.read(&mut byte).expect("read stderr"),
            1,
            "tcptop exited"
        );
        seen.push(byte[0]);
    }
    child.stderr = Some(err);
    (child, String::from_utf8_lossy(&seen).into_owned())
}

/// Waits for `child` at most `secs`; its exit status, stdout and the rest of stderr.
fn finish(mut child: Child, secs: u64) -> (std::process::ExitStatus, String, String) {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            let mut out = String::new();
            let mut err = String::new();
            child
                .stdout
                .take()
                .unwrap()
                .read_to_string(&mut out)
                .unwrap();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            return (status, out, err);
        }
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "tcptop did not end"
        );
        thread::sleep(Duration::from_millis(20));
    }
}

/// The close lines of `path` whose peer is `peer`.
fn recorded(path: &std::path::Path, peer: &str) -> usize {
    std::fs::read_to_string(path)
        .expect("the recording")
        .lines()
        .filter(|l| l.contains(r#""close""#) && l.contains(peer))
        .count()
}

#[test]
fn a_signal_ends_the_window_with_the_snapshot_and_the_recording() {
    if !require_root() {
        return;
    }
    let pair = NetPair::new(51);
    let dir = tempfile::tempdir().unwrap();
    for (i, signal) in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP]
        .into_iter()
        .enumerate()
    {
        let path = dir.path().join(format!("rec{i}.jsonl"));
        let (child, _) = start(&path);
        let began = Instant::now();
        let to = refused_connects(&pair, 4, 20);
        thread::sleep(Duration::from_millis(300));
        // SAFETY: a signal to our own child.
        assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
        let (status, out, err) = finish(child, 5);
        let held = began.elapsed().as_secs_f64();
        assert!(status.success(), "signal {signal}: {status} {err}");
        assert!(err.contains("the window was cut short"), "{err}");
        let doc: serde_json::Value = serde_json::from_str(&out).expect("the snapshot");
        let secs = doc["window_secs"].as_f64().unwrap();
        assert!(
            secs > 0.2 && secs <= held + 0.5,
            "window {secs}s, held {held}s"
        );
        let peer = to.ip().to_string();
        let row = doc["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["peer_ip"] == peer.as_str())
            .unwrap_or_else(|| panic!("no row for {peer}: {out}"));
        assert_eq!(row["failed_connects"], 20);
        assert_eq!(recorded(&path, &format!("\"{to}\"")), 20, "signal {signal}");
    }
}

#[test]
fn a_killed_recording_keeps_what_arrived_an_interval_ago() {
    if !require_root() {
        return;
    }
    let pair = NetPair::new(52);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec.jsonl");
    let (child, _) = start(&path);
    let to = refused_connects(&pair, 4, 20);
    // The recording is flushed every --interval (1 s): 2.5 s later all is in the file.
    thread::sleep(Duration::from_millis(2500));
    // SAFETY: a signal to our own child.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGKILL) }, 0);
    let _ = finish(child, 5);
    assert_eq!(recorded(&path, &format!("\"{to}\"")), 20);
}
