//! `cargo xtask`: the jobs that are not a plain `cargo build`.
//!
//! - `setup`: installs the eBPF toolchain pieces and the tools the tests use.
//! - `test`: setup, then formatting, lints and every test (root tests included).
//! - `bench`: setup, then the benchmarks.
//! - `run`: setup, then build tcptop in release mode and run it with the given flags.
//! - `dist`: static musl binaries, the tcptop archive (with completions and man page),
//!   the krew plugin archive and manifest in target/distrib.
//! - `image`: dist, then an OCI image archive of tcptop in target/distrib.
//! - `screenshots`: renders the UI from the demo recording into `screenshots/`.
mod dist;
mod image;
mod krew;
mod screenshots;
mod setup;
mod setup_deploy;

use std::process::Command;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};

/// Build, test and benchmark helpers for tcptop.
#[derive(Parser)]
#[command(name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Install rust-src for nightly, bpf-linker 0.10.0 and the test tools.
    Setup,
    /// Run setup, then cargo fmt --check, clippy and every test.
    Test,
    /// Run setup, build tcptop (release) and run it with these flags (as root).
    Run {
        /// Flags for tcptop, e.g. `--once --group-by ip`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Render the UI from the demo recording into screenshots/*.svg.
    Screenshots,
    /// Run setup, then the benchmarks (as root).
    Bench {
        /// Arguments passed to `cargo bench` after `--`.
        #[arg(trailing_var_arg = true)]
        args: Vec<String>,
    },
    /// Build static x86_64 musl binaries (tcptop, kubectl-tcptop) into target/distrib.
    Dist,
    /// Run dist, then write an OCI image archive of tcptop into target/distrib.
    Image,
}

fn main() -> Result<()> {
    match Cli::parse().cmd {
        Cmd::Setup => setup::all(),
        Cmd::Screenshots => screenshots::all(),
        Cmd::Test => {
            setup::all()?;
            test()
        }
        Cmd::Run { args } => {
            setup::all()?;
            run(cargo().args(["build", "--release", "-p", "tcptop"]))?;
            let bin =
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release/tcptop");
            let status = Command::new(bin)
                .args(args)
                .status()
                .context("cannot start tcptop")?;
            std::process::exit(status.code().unwrap_or(1));
        }
        Cmd::Bench { args } => {
            setup::all()?;
            let mut cmd = cargo();
            cmd.args(["bench", "-p", "tcptop", "--"]).args(args);
            run(&mut cmd)
        }
        Cmd::Dist => dist::dist().map(drop),
        Cmd::Image => image::image().map(drop),
    }
}

/// Every check CI runs.
fn test() -> Result<()> {
    run(cargo().args(["fmt", "--all", "--", "--check"]))?;
    run(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    // The dist and image tests (xtask/tests/dist.rs) check these artifacts.
    image::image()?;
    // Root tests must run, not skip, here: a skipped kernel test would hide a failure.
    run(cargo()
        .args(["test", "--workspace", "--no-fail-fast"])
        .env("TCPTOP_REQUIRE_ROOT_TESTS", "1"))
}

/// A `cargo` command using the same cargo that runs xtask.
pub fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

/// Runs `cmd`, failing on a non-zero exit.
pub fn run(cmd: &mut Command) -> Result<()> {
    eprintln!("xtask: running {cmd:?}");
    let status = cmd
        .status()
        .with_context(|| format!("cannot run {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed: {status}");
    }
    Ok(())
}
