//! The `kubectl-tcptop` binary end to end, against a fake `kubectl` on PATH: the
//! command it finally execs, the exit status it passes on, and its one-line errors.
use std::{
    fs,
    os::unix::fs::PermissionsExt,
    path::PathBuf,
    process::{Command, Output},
};

/// A directory holding a fake `kubectl` that answers from environment variables and,
/// for `exec`, prints its arguments and exits with `FAKE_EXEC_STATUS`.
fn fake_kubectl(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tcptop-plugin-{}-{test}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let script = r#"#!/bin/sh
case "$*" in
  *"get pods"*) printf '%s' "$FAKE_PODS" ;;
  *"get daemonset"*) echo 'Error from server (NotFound): daemonsets.apps "tcptop" not found' >&2; exit 1 ;;
  *"auth can-i"*) echo "$FAKE_CAN_I"; [ "$FAKE_CAN_I" = yes ] ;;
  *exec*) echo "ran: kubectl $*"; exit "${FAKE_EXEC_STATUS:-0}" ;;
  *) echo "fake kubectl: unexpected $*" >&2; exit 99 ;;
esac
"#;
    let path = dir.join("kubectl");
    fs::write(&path, script).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

const PODS: &str = r#"{"items":[{"metadata":{"name":"tcptop-abc","creationTimestamp":"2026-01-01T00:00:00Z"},
"spec":{"nodeName":"node-1"},"status":{"phase":"Running","conditions":[{"type":"Ready","status":"True"}]}}]}"#;

fn plugin(path: &PathBuf, args: &[&str], envs: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kubectl-tcptop"))
        .args(args)
        .env("PATH", path)
        .envs(envs.iter().copied())
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn once_execs_kubectl_and_passes_its_status_on() {
    let dir = fake_kubectl("once");
    let out = plugin(
        &dir,
        &["--context", "prod", "node-1", "--once", "--output", "json"],
        &[
            ("FAKE_PODS", PODS),
            ("FAKE_CAN_I", "yes"),
            ("FAKE_EXEC_STATUS", "3"),
        ],
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "ran: kubectl --context prod exec -n tcptop tcptop-abc -c tcptop -- tcptop --once --output json\n"
    );
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
}

#[test]
fn missing_daemonset_is_one_line() {
    let dir = fake_kubectl("no-ds");
    let out = plugin(
        &dir,
        &["node-1", "--once"],
        &[("FAKE_PODS", r#"{"items":[]}"#)],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("kubectl tcptop: tcptop is not deployed"),
        "{err}"
    );
}

#[test]
fn no_exec_rights_is_one_line() {
    let dir = fake_kubectl("no-exec");
    let out = plugin(
        &dir,
        &["node-1", "--once"],
        &[("FAKE_PODS", PODS), ("FAKE_CAN_I", "no")],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("you may not exec"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_ui_needs_a_terminal() {
    let dir = fake_kubectl("no-tty");
    let out = plugin(&dir, &["node-1"], &[("FAKE_PODS", PODS)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--once"), "{}", stderr(&out));
}

#[test]
fn without_kubectl() {
    let empty = std::env::temp_dir().join(format!("tcptop-plugin-{}-empty", std::process::id()));
    fs::create_dir_all(&empty).unwrap();
    let out = plugin(&empty, &["node-1", "--once"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "kubectl tcptop: kubectl not found on PATH: install kubectl, the plugin runs it\n"
    );
}

#[test]
fn usage_errors_exit_2() {
    let dir = fake_kubectl("usage");
    let out = plugin(&dir, &[], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("which node?"), "{}", stderr(&out));
}
