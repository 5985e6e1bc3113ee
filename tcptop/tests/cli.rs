//! The binary's answers to bad input and hostile conditions: one line on stderr that
//! says what to do, and a non-zero exit status.
mod support;

use std::process::{Command, Output, Stdio};

fn tcptop(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tcptop"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run tcptop")
}

/// Asserts exit status `code` and exactly one stderr line containing `needle`.
fn fails_with(out: &Output, code: i32, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "stderr: {err}");
    assert_eq!(err.trim().lines().count(), 1, "not one line: {err}");
    assert!(err.contains(needle), "{needle:?} not in: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn usage_errors_exit_2_with_one_line() {
    fails_with(&tcptop(&["--bogus"]), 2, "--bogus");
    fails_with(
        &tcptop(&["--once", "--duration", "soon"]),
        2,
        "500ms, 5s or 2m",
    );
    fails_with(
        &tcptop(&["--once", "--group-by", "namespace,zone"]),
        2,
        "unknown dimension 'zone'",
    );
    fails_with(
        &tcptop(&["--once", "--sort", "speed"]),
        2,
        "unknown sort column",
    );
    fails_with(
        &tcptop(&["--once", "--output", "xml"]),
        2,
        "table, json or csv",
    );
    fails_with(
        &tcptop(&["--once", "--kubeconfig", "/nonexistent/kubeconfig"]),
        2,
        "does not exist",
    );
}

#[test]
fn help_and_version_exit_0() {
    for flag in ["--help", "--version"] {
        let out = tcptop(&[flag]);
        assert!(out.status.success(), "{flag}");
        assert!(!out.stdout.is_empty(), "{flag}");
    }
}

#[test]
fn no_btf_is_one_line() {
    let out = tcptop(&["--once", "--btf", "/nonexistent/vmlinux"]);
    fails_with(&out, 1, "has no BTF");
}

#[test]
fn no_terminal_suggests_once() {
    let out = tcptop(&[]);
    fails_with(&out, 1, "--once");
}

#[test]
fn no_privileges_says_what_is_needed() {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let out = if root {
        // Drop to nobody with no capabilities.
        Command::new("setpriv")
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "--inh-caps=-all",
                "--bounding-set=-all",
            ])
            .arg(env!("CARGO_BIN_EXE_tcptop"))
            .args(["--once", "--duration", "100ms"])
            .stdin(Stdio::null())
            .output()
            .expect("run setpriv")
    } else {
        tcptop(&["--once", "--duration", "100ms"])
    };
    fails_with(&out, 1, "CAP_BPF and CAP_PERFMON");
}

#[test]
fn a_bad_btf_file_is_named_and_read_no_further() {
    // /dev/zero never ends: tcptop must stop at its missing magic, not read on.
    let out = tcptop(&["--once", "--btf", "/dev/zero"]);
    fails_with(
        &out,
        1,
        "cannot parse kernel BTF at /dev/zero: not a BTF file",
    );
    let out = tcptop(&["--once", "--btf", "/nonexistent/btf"]);
    fails_with(&out, 1, "no BTF at /nonexistent/btf");
}
