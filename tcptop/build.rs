//! Builds the eBPF program, so that `cargo build` gives one binary with the object
//! embedded. Needs the nightly toolchain with rust-src and bpf-linker: `cargo xtask
//! setup` installs them.
//!
//! The nested build is the one aya-build 0.2.0 runs (`rustup run nightly cargo build
//! --release --target bpfel-unknown-none -Z build-std=core`, the same flags and target
//! directory), but quiet: aya-build relays every line of it as a `cargo:warning` on
//! every build. This prints nothing when it succeeds and its whole output when it fails.
//!
//! Also records what `tcptop --version` reports about the build: the git revision
//! (`TCPTOP_GIT_REVISION`, or `unknown` outside a git checkout) and the target triple.
use std::{
    env,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{bail, Context};

/// The eBPF crate: its package name, which is also its binary's.
const EBPF: &str = "tcptop-ebpf";

fn main() -> anyhow::Result<()> {
    println!("cargo:rerun-if-changed=../tcptop-common/src");
    build_facts();
    build_ebpf()
}

/// Builds the eBPF binary and copies it to `OUT_DIR/tcptop-ebpf`.
fn build_ebpf() -> anyhow::Result<()> {
    // The build-dependency on tcptop-ebpf reruns this script when its library or
    // bpf-linker changes; this catches changes to its binary's sources.
    println!("cargo:rerun-if-changed={}", ebpf_dir().display());
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").context("OUT_DIR not set")?);
    let endian = env::var("CARGO_CFG_TARGET_ENDIAN").context("CARGO_CFG_TARGET_ENDIAN not set")?;
    let target = match endian.as_str() {
        "little" => "bpfel-unknown-none",
        "big" => "bpfeb-unknown-none",
        other => bail!("unsupported target endianness {other}"),
    };
    let arch = env::var("CARGO_CFG_TARGET_ARCH").context("CARGO_CFG_TARGET_ARCH not set")?;
    let arch = if arch.starts_with("riscv64") {
        "riscv64"
    } else {
        &arch
    };
    let target_dir = out_dir.join("aya-build").join("target").join(EBPF);
    let args = [
        "build",
        "--package",
        EBPF,
        "--bins",
        "--release",
        "--target",
        target,
        "-Z",
        "build-std=core",
    ];
    let rustflags =
        format!("--cfg=bpf_target_arch=\"{arch}\"\x1f-Cdebuginfo=2\x1f-Clink-arg=--btf");
    let run = |program: &str, prefix: &[&str]| {
        Command::new(program)
            .args(prefix)
            .args(args)
            .arg("--target-dir")
            .arg(&target_dir)
            .env("CARGO_ENCODED_RUSTFLAGS", &rustflags)
            // The outer build's compiler is the stable one: let rustup pick nightly's.
            .env_remove("RUSTC")
            .env_remove("RUSTC_WORKSPACE_WRAPPER")
            .output()
    };
    let out = match run("rustup", &["run", "nightly", "cargo"]) {
        // Without rustup, the cargo on PATH must be a nightly one.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => run("cargo", &[]),
        other => other,
    }
    .context("cannot run cargo to build the eBPF program")?;
    if !out.status.success() {
        eprint!("{}", String::from_utf8_lossy(&out.stdout));
        eprint!("{}", String::from_utf8_lossy(&out.stderr));
        bail!(
            "building the eBPF program failed ({}): the nested cargo's output is above (a missing nightly toolchain, rust-src or bpf-linker: `cargo xtask setup` installs them)",
            out.status
        );
    }
    let built = target_dir.join(target).join("release").join(EBPF);
    std::fs::copy(&built, out_dir.join(EBPF))
        .with_context(|| format!("cannot copy {}", built.display()))?;
    Ok(())
}

/// The eBPF crate's directory.
fn ebpf_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(EBPF)
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
