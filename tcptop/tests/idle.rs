//! `tcptop --idle`, the DaemonSet's main process: it says what the node offers, waits,
//! and exits 0 on SIGTERM or SIGINT, also as PID 1 of its own PID namespace (as in a
//! container, where the kernel drops signals PID 1 has no handler for).
use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    thread,
    time::{Duration, Instant},
};

/// Generous: this is a liveness bound, not a performance target.
const PATIENCE: Duration = Duration::from_secs(20);

fn spawn(cmd: &mut Command) -> (Child, String) {
    let mut child = cmd.stderr(Stdio::piped()).spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (child, line)
}

/// Waits for `child` to exit; on timeout kills it and `also` (a grandchild that would
/// otherwise outlive the test holding its output pipe) and fails.
fn wait(child: &mut Child, also: Option<u32>) -> Option<i32> {
    let start = Instant::now();
    while start.elapsed() < PATIENCE {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        thread::sleep(Duration::from_millis(20));
    }
    if let Some(pid) = also {
        kill(pid, libc::SIGKILL);
    }
    child.kill().unwrap();
    panic!("tcptop --idle did not exit within {PATIENCE:?}");
}

fn kill(pid: u32, sig: libc::c_int) {
    // SAFETY: kill has no memory-safety preconditions.
    assert_eq!(unsafe { libc::kill(pid as libc::pid_t, sig) }, 0);
}

#[test]
fn logs_one_line_and_exits_0_on_sigterm_and_sigint() {
    for sig in [libc::SIGTERM, libc::SIGINT] {
        let (mut child, line) = spawn(Command::new(env!("CARGO_BIN_EXE_tcptop")).arg("--idle"));
        assert!(line.starts_with("tcptop: tcptop "), "{line}");
        assert!(line.contains("kernel"), "{line}");
        kill(child.id(), sig);
        assert_eq!(wait(&mut child, None), Some(0));
    }
}

#[test]
fn a_node_without_btf_is_logged_and_still_idles() {
    let (mut child, line) = spawn(Command::new(env!("CARGO_BIN_EXE_tcptop")).args([
        "--idle",
        "--btf",
        "/nonexistent/vmlinux",
    ]));
    assert!(line.contains("cannot trace on this node"), "{line}");
    assert!(line.contains("no BTF"), "{line}");
    kill(child.id(), libc::SIGTERM);
    assert_eq!(wait(&mut child, None), Some(0));
}

#[test]
fn idle_and_once_conflict() {
    let out = Command::new(env!("CARGO_BIN_EXE_tcptop"))
        .args(["--idle", "--once"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn exits_on_sigterm_as_pid_1() {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        assert!(
            std::env::var_os("TCPTOP_REQUIRE_ROOT_TESTS").is_none(),
            "this test needs root (unshare --pid)"
        );
        eprintln!("skipped: needs root for a PID namespace");
        return;
    }
    // unshare forks tcptop as PID 1 of a new PID namespace and waits for it.
    let (mut unshare, line) = spawn(
        Command::new("unshare")
            .args(["--pid", "--fork", "--"])
            .arg(env!("CARGO_BIN_EXE_tcptop"))
            .arg("--idle"),
    );
    assert!(line.starts_with("tcptop: "), "{line}");
    let children =
        std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", unshare.id())).unwrap();
    let pid: u32 = children.split_whitespace().next().unwrap().parse().unwrap();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let ns_pid = status
        .lines()
        .find_map(|l| l.strip_prefix("NSpid:"))
        .unwrap();
    let is_pid_1 = ns_pid.split_whitespace().last() == Some("1");
    if !is_pid_1 {
        kill(pid, libc::SIGKILL);
    }
    assert!(is_pid_1, "NSpid:{ns_pid}");
    kill(pid, libc::SIGTERM);
    assert_eq!(wait(&mut unshare, Some(pid)), Some(0));
}
