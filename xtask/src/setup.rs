//! Installs what building and testing tcptop needs on a fresh Debian machine. Each step
//! checks first, so a second run costs little.
use std::process::Command;

use anyhow::Result;

use crate::run;

/// The bpf-linker release the eBPF build is known to work with.
const BPF_LINKER: &str = "0.10.0";

/// Debian packages the tests and benchmarks use: ip, nft and iptables for the test network
/// namespaces, bpftrace and bpftool for the kernel-cost baseline, skopeo and umoci to
/// check the OCI image, tmux for the UI tests, musl-tools for the static binary, and
/// prometheus (the server and promtool) to scrape the daemon.
const DEBIAN_PACKAGES: &[(&str, &str)] = &[
    ("ip", "iproute2"),
    ("nft", "nftables"),
    ("iptables-nft-restore", "iptables"),
    ("bpftrace", "bpftrace"),
    ("bpftool", "bpftool"),
    ("skopeo", "skopeo"),
    ("umoci", "umoci"),
    ("tmux", "tmux"),
    ("musl-gcc", "musl-tools"),
    ("promtool", "prometheus"),
];

/// Runs every setup step.
pub fn all() -> Result<()> {
    rust_src()?;
    bpf_linker()?;
    debian()?;
    crate::setup_deploy::all()?;
    Ok(())
}

fn succeeds(cmd: &mut Command) -> bool {
    cmd.output().map(|o| o.status.success()).unwrap_or(false)
}

fn output(cmd: &mut Command) -> String {
    cmd.output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

/// rust-src for the nightly toolchain, which builds the eBPF crate with build-std.
fn rust_src() -> Result<()> {
    let installed = output(Command::new("rustup").args([
        "component",
        "list",
        "--toolchain",
        "nightly",
        "--installed",
    ]));
    if !installed.lines().any(|l| l.starts_with("rust-src")) {
        run(Command::new("rustup").args([
            "component",
            "add",
            "rust-src",
            "--toolchain",
            "nightly",
        ]))?;
    }
    Ok(())
}

/// bpf-linker, pinned.
fn bpf_linker() -> Result<()> {
    let version = output(Command::new("bpf-linker").arg("--version"));
    if !version.contains(BPF_LINKER) {
        run(
            Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())).args([
                "install",
                &format!("bpf-linker@{BPF_LINKER}"),
                "--locked",
            ]),
        )?;
    }
    Ok(())
}

/// Debian packages, installed only when a command is missing.
fn debian() -> Result<()> {
    let missing: Vec<&str> = DEBIAN_PACKAGES
        .iter()
        .filter(|(bin, _)| !succeeds(Command::new("sh").args(["-c", &format!("command -v {bin}")])))
        .map(|(_, pkg)| *pkg)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    run(Command::new("apt-get").args(["update", "-qq"]))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-qq", "--no-install-recommends"])
        .args(&missing)
        .env("DEBIAN_FRONTEND", "noninteractive"))
}
