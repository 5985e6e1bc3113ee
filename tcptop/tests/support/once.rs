//! The real `tcptop --once` binary, started the way tests and benchmarks need it.
use std::{
    io::{BufRead, BufReader},
    net::IpAddr,
    process::{Child, Command, Stdio},
    thread,
};

use serde_json::Value;

/// Starts `tcptop --once --output json --group-by ip` plus `args`, and waits until it
/// says it is attached, so that traffic made afterwards falls inside its window.
pub fn start(args: &[&str]) -> Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tcptop"))
        .args(["--once", "--output", "json", "--group-by", "ip"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tcptop");
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    assert!(line.contains("attached"), "tcptop did not attach: {line}");
    // Keep draining stderr so tcptop never blocks on it.
    thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
    child
}

/// Waits for a tcptop started by [`start`] to end, checks it succeeded, and returns its
/// JSON snapshot.
pub fn finish(child: Child) -> Value {
    let out = child.wait_with_output().expect("tcptop runs");
    assert!(out.status.success(), "tcptop failed: {}", out.status);
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("bad JSON ({e}): {text}"))
}

/// The row of `doc` (grouped by ip) from `local` to `peer`.
pub fn row(doc: &Value, local: IpAddr, peer: IpAddr) -> &Value {
    doc["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["local_ip"] == local.to_string() && r["peer_ip"] == peer.to_string())
        .unwrap_or_else(|| panic!("no row {local} -> {peer}"))
}
