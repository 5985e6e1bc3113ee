//! `cargo xtask dist`: static x86_64 musl builds of `tcptop` (eBPF object embedded by
//! tcptop/build.rs) and `kubectl-tcptop`, copied under reproducible names into
//! `target/distrib/`, with the plugin's krew archive and manifest and a SHA256SUMS file.
use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
    time::Instant,
};

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};

use crate::{cargo, krew, run};

/// The Rust target of the static build.
pub const MUSL_TARGET: &str = "x86_64-unknown-linux-musl";
/// How the target appears in file names.
pub const PLATFORM: &str = "x86_64-linux-musl";
/// The cargo profile of the static build (workspace Cargo.toml): release, stripped, LTO.
pub const PROFILE: &str = "dist";
/// The workspace version, shared by every crate.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// What `dist` wrote.
#[derive(Debug)]
pub struct Dist {
    /// The static tcptop binary.
    pub tcptop: PathBuf,
    /// The plugin's krew archive (`kubectl-tcptop` inside).
    pub plugin_archive: PathBuf,
}

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

/// `target/distrib/` (as cargo-dist names it: `target/dist/` holds the dist profile's
/// own build files), honouring CARGO_TARGET_DIR.
pub fn dist_dir() -> PathBuf {
    target_dir().join("distrib")
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"))
}

/// The reproducible name of the static tcptop binary.
pub fn binary_name() -> String {
    format!("tcptop-{VERSION}-{PLATFORM}")
}

/// Setup step: the musl target for the stable toolchain.
pub fn install_target() -> Result<()> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    if !installed.lines().any(|l| l.trim() == MUSL_TARGET) {
        run(Command::new("rustup").args(["target", "add", MUSL_TARGET]))?;
    }
    Ok(())
}

/// Builds both binaries for musl and lays out `target/distrib/`.
pub fn dist() -> Result<Dist> {
    install_target()?;
    let started = Instant::now();
    // tcptop's build script builds the eBPF crate for bpfel-unknown-none in its own
    // cargo run; --target here changes only the userspace binaries.
    // ring (rustls, for the Kubernetes client) compiles C: Debian's musl-tools has the
    // compiler, under the name musl-gcc.
    run(cargo()
        .current_dir(workspace())
        .env("CC_x86_64_unknown_linux_musl", "musl-gcc")
        .args([
            "build",
            "-p",
            "tcptop",
            "--bins",
            "--locked",
            "--profile",
            PROFILE,
            "--target",
            MUSL_TARGET,
        ]))?;
    let built = target_dir().join(MUSL_TARGET).join(PROFILE);
    let out = dist_dir();
    fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;

    let tcptop = out.join(binary_name());
    copy_executable(&built.join("tcptop"), &tcptop)?;
    let plugin = fs::read(built.join("kubectl-tcptop")).context("cannot read kubectl-tcptop")?;
    let plugin_archive = out.join(format!("kubectl-tcptop-{VERSION}-{PLATFORM}.tar.gz"));
    fs::write(&plugin_archive, krew::archive(&plugin)?)
        .with_context(|| format!("cannot write {}", plugin_archive.display()))?;

    let archive_sha = sha256_hex(&fs::read(&plugin_archive)?);
    let uri = match std::env::var("TCPTOP_RELEASE_URL") {
        Ok(base) => format!(
            "{}/{}",
            base.trim_end_matches('/'),
            file_name(&plugin_archive)
        ),
        Err(_) => format!("file://{}", plugin_archive.display()),
    };
    let template = fs::read_to_string(workspace().join("deploy/krew/tcptop.yaml"))
        .context("cannot read deploy/krew/tcptop.yaml")?;
    let krew_manifest = out.join("tcptop-krew.yaml");
    fs::write(
        &krew_manifest,
        krew::render(&template, VERSION, &uri, &archive_sha)?,
    )?;

    write_sums(&out, &[&tcptop, &plugin_archive])?;
    eprintln!(
        "xtask: dist built in {:.0} s: {} ({} bytes), {} ({} bytes), {}",
        started.elapsed().as_secs_f64(),
        tcptop.display(),
        fs::metadata(&tcptop)?.len(),
        plugin_archive.display(),
        fs::metadata(&plugin_archive)?.len(),
        krew_manifest.display(),
    );
    Ok(Dist {
        tcptop,
        plugin_archive,
    })
}

fn copy_executable(from: &Path, to: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if !from.is_file() {
        bail!("{} was not built", from.display());
    }
    fs::copy(from, to)
        .with_context(|| format!("cannot copy {} to {}", from.display(), to.display()))?;
    fs::set_permissions(to, fs::Permissions::from_mode(0o755))?;
    Ok(())
}

/// `SHA256SUMS` in the format `sha256sum -c` reads.
pub fn write_sums(dir: &Path, files: &[&Path]) -> Result<()> {
    let mut text = String::new();
    for f in files {
        text.push_str(&format!(
            "{}  {}\n",
            sha256_hex(&fs::read(f)?),
            file_name(f)
        ));
    }
    fs::write(dir.join("SHA256SUMS"), text)?;
    Ok(())
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Lower-case hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_reproducible() {
        assert_eq!(binary_name(), format!("tcptop-{VERSION}-x86_64-linux-musl"));
        assert!(
            dist_dir().ends_with("target/distrib")
                || std::env::var_os("CARGO_TARGET_DIR").is_some()
        );
    }

    #[test]
    fn sha256_of_a_known_input() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
