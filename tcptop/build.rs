//! Builds the eBPF program with aya-build, so that `cargo build` gives one binary with
//! the object embedded. Needs the nightly toolchain with rust-src and bpf-linker:
//! `cargo xtask setup` installs them.
use aya_build::{Package, Toolchain};

fn main() -> anyhow::Result<()> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../tcptop-ebpf");
    let package = Package {
        name: "tcptop-ebpf",
        root_dir: root,
        ..Default::default()
    };
    println!("cargo:rerun-if-changed=../tcptop-common/src");
    aya_build::build_ebpf([package], Toolchain::default())
}
