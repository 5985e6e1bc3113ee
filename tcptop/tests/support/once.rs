//! The real `tcptop --once` binary, started the way tests and benchmarks need it.
use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    thread,
};

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
