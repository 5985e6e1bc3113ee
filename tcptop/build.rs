//! Builds the eBPF program with aya-build, so that `cargo build` gives one binary with
//! the object embedded. Needs the nightly toolchain with rust-src and bpf-linker:
//! `cargo xtask setup` installs them.
//!
//! Also records what `tcptop --version` reports about the build: the git revision
//! (`TCPTOP_GIT_REVISION`, or `unknown` outside a git checkout) and the target triple.
use std::{
    path::{Path, PathBuf},
    process::Command,
};

use aya_build::{Package, Toolchain};

fn main() -> anyhow::Result<()> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../tcptop-ebpf");
    let package = Package {
        name: "tcptop-ebpf",
        root_dir: root,
        ..Default::default()
    };
    println!("cargo:rerun-if-changed=../tcptop-common/src");
    build_facts();
    aya_build::build_ebpf([package], Toolchain::default())
}

/// Exports `TCPTOP_GIT_REVISION` and `TCPTOP_TARGET` to the crate.
fn build_facts() {
    println!(
        "cargo:rustc-env=TCPTOP_TARGET={}",
        std::env::var("TARGET").unwrap_or_else(|_| "unknown".into())
    );
    // Packagers building from a tarball can say which revision it is.
    println!("cargo:rerun-if-env-changed=TCPTOP_GIT_REVISION");
    let revision = std::env::var("TCPTOP_GIT_REVISION")
        .ok()
        .filter(|r| !r.trim().is_empty())
        .or_else(git_revision)
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=TCPTOP_GIT_REVISION={}", revision.trim());
}

/// The checkout's short commit id; `None` when this workspace is not the top of a git
/// checkout (a tarball, or a copy vendored into another repository).
fn git_revision() -> Option<String> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent()?;
    let top = PathBuf::from(git(workspace, &["rev-parse", "--show-toplevel"])?);
    if top.canonicalize().ok()? != workspace.canonicalize().ok()? {
        return None;
    }
    let revision = git(workspace, &["rev-parse", "--short=12", "HEAD"])?;
    // Rebuild when HEAD moves: HEAD itself, the branch it points to, packed refs, and
    // this worktree's reflog, which also catches a commit to a branch that was packed.
    let mut watched = vec![
        "HEAD".to_string(),
        "logs/HEAD".to_string(),
        "packed-refs".to_string(),
    ];
    if let Some(branch) = git(workspace, &["symbolic-ref", "-q", "HEAD"]) {
        watched.push(branch);
    }
    for name in watched {
        if let Some(path) = git(workspace, &["rev-parse", "--git-path", &name]) {
            let path = workspace.join(path);
            if path.exists() {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
    }
    Some(revision)
}

/// Runs git in `dir`; its trimmed stdout when it succeeds.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !text.is_empty()).then_some(text)
}
