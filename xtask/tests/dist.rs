//! The artifacts of `cargo xtask dist` and `cargo xtask image` (which `cargo xtask
//! test` builds first): the static binaries have no dynamic dependencies and run here;
//! the image archive loads with skopeo through both its OCI and its Docker entry
//! points, unpacks with umoci, and its binary runs from the unpacked root filesystem.
use std::{
    fs,
    io::Read,
    path::{Path, PathBuf},
    process::{Command, Output},
};

const VERSION: &str = env!("CARGO_PKG_VERSION");

fn distrib() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
        .join("distrib")
}

fn required() -> bool {
    std::env::var_os("TCPTOP_REQUIRE_ROOT_TESTS").is_some()
}

/// The artifact, or None (test skipped) when it was not built; CI requires it.
fn artifact(name: &str) -> Option<PathBuf> {
    let path = distrib().join(name);
    if path.is_file() {
        return Some(path);
    }
    assert!(
        !required(),
        "{} is missing: run `cargo xtask image`",
        path.display()
    );
    eprintln!(
        "skipped: {} is missing (cargo xtask image builds it)",
        path.display()
    );
    None
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn ok(out: Output, what: &str) -> String {
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        text,
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

fn run(cmd: &mut Command) -> String {
    let what = format!("{cmd:?}");
    ok(
        cmd.output().unwrap_or_else(|e| panic!("{what}: {e}")),
        &what,
    )
}

/// What the ELF program headers say: (has an interpreter, needs shared libraries).
fn elf_dynamic_needs(bytes: &[u8]) -> (bool, bool) {
    let u16_at = |o: usize| u16::from_le_bytes(bytes[o..o + 2].try_into().unwrap());
    let u32_at = |o: usize| u32::from_le_bytes(bytes[o..o + 4].try_into().unwrap());
    let u64_at = |o: usize| u64::from_le_bytes(bytes[o..o + 8].try_into().unwrap());
    assert_eq!(&bytes[..4], b"\x7fELF");
    assert_eq!(bytes[4], 2, "64-bit");
    assert_eq!(u16_at(18), 62, "x86_64");
    let (phoff, phentsize, phnum) = (u64_at(32) as usize, u16_at(54) as usize, u16_at(56));
    let (mut interp, mut needed) = (false, false);
    for i in 0..phnum as usize {
        let ph = phoff + i * phentsize;
        match u32_at(ph) {
            3 => interp = true, // PT_INTERP
            2 => {
                // PT_DYNAMIC: look for DT_NEEDED (1) entries.
                let (off, size) = (u64_at(ph + 8) as usize, u64_at(ph + 32) as usize);
                needed |= (off..off + size).step_by(16).any(|e| u64_at(e) == 1);
            }
            _ => {}
        }
    }
    (interp, needed)
}

fn assert_static(path: &Path, bytes: &[u8]) {
    assert_eq!(
        elf_dynamic_needs(bytes),
        (false, false),
        "{}",
        path.display()
    );
    let ldd = Command::new("ldd").arg(path).output().unwrap();
    let text =
        String::from_utf8_lossy(&ldd.stdout).into_owned() + &String::from_utf8_lossy(&ldd.stderr);
    assert!(
        text.contains("not a dynamic executable") || text.contains("statically linked"),
        "ldd {}: {text}",
        path.display()
    );
    assert!(!text.contains("=>"), "ldd {}: {text}", path.display());
}

#[test]
fn static_binary_has_no_dynamic_dependencies_and_runs() {
    let Some(bin) = artifact(&format!("tcptop-{VERSION}-x86_64-linux-musl")) else {
        return;
    };
    assert_static(&bin, &fs::read(&bin).unwrap());
    let version = run(Command::new(&bin).arg("--version"));
    assert!(
        version.starts_with(&format!("tcptop {VERSION}\n")),
        "{version}"
    );
    assert!(
        version.contains("target: x86_64-unknown-linux-musl\n"),
        "{version}"
    );
    assert!(version.contains("kernel features: "), "{version}");
}

#[test]
fn the_elf_check_spots_a_dynamic_executable() {
    // The test's own binary is linked against glibc.
    let me = std::env::current_exe().unwrap();
    assert_eq!(elf_dynamic_needs(&fs::read(me).unwrap()), (true, true));
}

#[test]
fn plugin_archive_is_static_and_matches_its_krew_manifest() {
    let name = format!("kubectl-tcptop-{VERSION}-x86_64-linux-musl.tar.gz");
    let (Some(archive), Some(manifest)) = (artifact(&name), artifact("tcptop-krew.yaml")) else {
        return;
    };
    let bytes = fs::read(&archive).unwrap();
    let sha = run(Command::new("sha256sum").arg(&archive));
    let sha = sha.split_whitespace().next().unwrap();
    let manifest = fs::read_to_string(manifest).unwrap();
    assert!(
        manifest.contains(&format!("sha256: \"{sha}\"")),
        "{manifest}"
    );
    assert!(
        manifest.contains(&format!("version: v{VERSION}")),
        "{manifest}"
    );

    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]));
    let mut entry = tar.entries().unwrap().next().unwrap().unwrap();
    assert_eq!(entry.path().unwrap().to_str(), Some("kubectl-tcptop"));
    let mut plugin = Vec::new();
    entry.read_to_end(&mut plugin).unwrap();
    let unpacked = std::env::temp_dir().join(format!("kubectl-tcptop-{}", std::process::id()));
    fs::write(&unpacked, &plugin).unwrap();
    assert_static(&unpacked, &plugin);
    fs::remove_file(&unpacked).unwrap();
}

#[test]
fn the_tcptop_archive_ships_the_binary_completions_and_man_page() {
    let Some(archive) = artifact(&format!("tcptop-{VERSION}-x86_64-linux-musl.tar.gz")) else {
        return;
    };
    let bytes = fs::read(&archive).unwrap();
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]));
    let mut files = std::collections::HashMap::new();
    for e in tar.entries().unwrap() {
        let mut e = e.unwrap();
        let path = e.path().unwrap().to_string_lossy().into_owned();
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        files.insert(path, data);
    }
    let mut names: Vec<&str> = files.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "completions/_tcptop",
            "completions/tcptop.bash",
            "completions/tcptop.fish",
            "man/man1/tcptop.1",
            "tcptop"
        ]
    );
    let text = |p: &str| String::from_utf8(files[p].clone()).unwrap();
    assert!(text("completions/tcptop.bash").contains("--metrics-address"));
    assert!(text("completions/_tcptop").starts_with("#compdef tcptop"));
    assert!(text("completions/tcptop.fish").contains("complete -c tcptop"));
    assert!(text("man/man1/tcptop.1").contains(".TH tcptop"));
    // bash itself accepts the script.
    let script = std::env::temp_dir().join(format!("tcptop-completion-{}", std::process::id()));
    fs::write(&script, &files["completions/tcptop.bash"]).unwrap();
    run(Command::new("bash").args(["-n"]).arg(&script));
    fs::remove_file(&script).unwrap();
}

#[test]
fn image_loads_with_skopeo_unpacks_with_umoci_and_runs() {
    let Some(archive) = artifact(&format!("tcptop-{VERSION}-x86_64-linux-musl-image.tar")) else {
        return;
    };
    let Some(bin) = artifact(&format!("tcptop-{VERSION}-x86_64-linux-musl")) else {
        return;
    };
    if !is_root() {
        assert!(
            !required(),
            "the image test needs root (umoci unpack, chroot)"
        );
        eprintln!("skipped: needs root");
        return;
    }
    let work = std::env::temp_dir().join(format!("tcptop-image-{}", std::process::id()));
    let _ = fs::remove_dir_all(&work);
    fs::create_dir_all(&work).unwrap();
    let layout = work.join("layout");
    let at = |dir: &Path, tag: &str| format!("oci:{}:{tag}", dir.display());

    // OCI entry point (skopeo copy oci-archive:, podman load) ...
    run(Command::new("skopeo").args([
        "copy",
        "--quiet",
        &format!("oci-archive:{}:{VERSION}", archive.display()),
        &at(&layout, VERSION),
    ]));
    // ... and Docker's (docker load, skopeo copy docker-archive:), tag included.
    run(Command::new("skopeo").args([
        "copy",
        "--quiet",
        &format!("docker-archive:{}:tcptop:{VERSION}", archive.display()),
        &at(&layout, "from-docker-archive"),
    ]));
    let inspect = run(Command::new("skopeo").args(["inspect", &at(&layout, VERSION)]));
    assert!(inspect.contains("\"Architecture\": \"amd64\""), "{inspect}");
    assert!(
        inspect.contains(&format!(
            "\"org.opencontainers.image.version\": \"{VERSION}\""
        )),
        "{inspect}"
    );

    for tag in [VERSION, "from-docker-archive"] {
        let bundle = work.join(format!("bundle-{tag}"));
        run(Command::new("umoci")
            .args(["unpack", "--image"])
            .arg(format!("{}:{tag}", layout.display()))
            .arg(&bundle));
        let rootfs = bundle.join("rootfs");
        let inside = rootfs.join("usr/local/bin/tcptop");
        assert_eq!(fs::read(&inside).unwrap(), fs::read(&bin).unwrap(), "{tag}");
        let config = fs::read_to_string(bundle.join("config.json")).unwrap();
        assert!(
            config.contains("\"/usr/local/bin/tcptop\""),
            "entrypoint: {config}"
        );
        // Run it inside the unpacked root, where nothing else exists: no libraries,
        // no /proc, no /sys. --version must still work and say BTF is missing.
        let version = run(Command::new("chroot")
            .arg(&rootfs)
            .args(["/usr/local/bin/tcptop", "--version"]));
        assert!(
            version.starts_with(&format!("tcptop {VERSION}\n")),
            "{version}"
        );
        assert!(version.contains("no BTF"), "{version}");
    }
    fs::remove_dir_all(&work).unwrap();
}
