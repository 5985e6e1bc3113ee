//! Setup steps for the deployment artifacts and their tests: the musl target for the
//! static build, and kubernetes-validate (PyPI) for the offline schema check of
//! `deploy/`. skopeo and umoci, which check the image, are in setup's Debian list.
use std::process::Command;

use anyhow::Result;

use crate::{dist, run};

/// The kubernetes-validate release the manifest test uses; it bundles the schemas of
/// Kubernetes 1.25 to 1.35, so validation needs no network.
pub const KUBERNETES_VALIDATE: &str = "1.35.0";

/// Runs every deployment setup step.
pub fn all() -> Result<()> {
    dist::install_target()?;
    kubernetes_validate()
}

fn python_reports(args: &[&str]) -> String {
    Command::new("python3")
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

/// kubernetes-validate, pinned, into the python3 on PATH (with pip from Debian if
/// python3 has none).
fn kubernetes_validate() -> Result<()> {
    if python_reports(&["-m", "kubernetes_validate", "--version"]).trim() == KUBERNETES_VALIDATE {
        return Ok(());
    }
    if python_reports(&["-m", "pip", "--version"]).is_empty() {
        run(Command::new("apt-get").args(["update", "-qq"]))?;
        run(Command::new("apt-get")
            .args([
                "install",
                "-y",
                "-qq",
                "--no-install-recommends",
                "python3-pip",
            ])
            .env("DEBIAN_FRONTEND", "noninteractive"))?;
    }
    // Debian's own python3 refuses pip installs without this (PEP 668); older pips
    // ignore the variable.
    run(Command::new("python3")
        .args(["-m", "pip", "install", "--quiet"])
        .arg(format!("kubernetes-validate=={KUBERNETES_VALIDATE}"))
        .env("PIP_BREAK_SYSTEM_PACKAGES", "1"))
}
