//! What this build is and what the running kernel offers it: `tcptop --version` prints
//! it in full, the UI header in one line. Detection reads the kernel's BTF, needs no
//! root, and never fails: a kernel without BTF is reported, not an error.
use std::{fmt, path::Path};

use crate::{
    collector::offsets::{self, Features, OffsetError, VMLINUX_BTF},
    host,
};

/// The crate version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The git revision the binary was built from, or `unknown` (built from a tarball).
pub const GIT_REVISION: &str = env!("TCPTOP_GIT_REVISION");
/// The target triple the binary was built for.
pub const TARGET: &str = env!("TCPTOP_TARGET");

/// Whether the running kernel can host tcptop's eBPF program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KernelSupport {
    /// BTF is present with every field tcptop needs; the optional ones are listed.
    Ready(Features),
    /// The kernel publishes no BTF.
    NoBtf,
    /// BTF is present but tcptop cannot use it: why.
    Unusable(String),
}

impl KernelSupport {
    /// Reads the BTF file at `btf` and resolves what tcptop needs from it.
    pub fn detect(btf: &Path) -> Self {
        match offsets::resolve(btf) {
            Ok((_, features)) => Self::Ready(features),
            Err(OffsetError::NoBtf { .. }) => Self::NoBtf,
            Err(e) => Self::Unusable(e.to_string()),
        }
    }

    /// The features as a short list for a header: `BTF, RTO, IPv6` or `no BTF`.
    pub fn short(&self) -> String {
        match self {
            Self::Ready(f) => {
                let mut parts = vec!["BTF"];
                parts.extend(f.rto.then_some("RTO"));
                parts.extend(f.ipv6.then_some("IPv6"));
                parts.join(", ")
            }
            Self::NoBtf => "no BTF".into(),
            Self::Unusable(_) => "unusable BTF".into(),
        }
    }

    /// The features spelt out, for `--version`.
    pub fn long(&self) -> String {
        match self {
            Self::Ready(f) => format!(
                "BTF present, {}, {}",
                if f.rto {
                    "RTO counters available (6.7+)"
                } else {
                    "no RTO counters (they need Linux 6.7+)"
                },
                if f.ipv6 { "IPv6" } else { "no IPv6" }
            ),
            Self::NoBtf => format!(
                "no BTF ({VMLINUX_BTF} is missing): tcptop needs Linux 5.8+ built with CONFIG_DEBUG_INFO_BTF=y"
            ),
            Self::Unusable(why) => why.clone(),
        }
    }
}

impl From<Features> for KernelSupport {
    fn from(f: Features) -> Self {
        Self::Ready(f)
    }
}

/// The build and the kernel it runs on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildInfo {
    /// The crate version.
    pub version: &'static str,
    /// The git revision, or `unknown`.
    pub revision: &'static str,
    /// The target triple.
    pub target: &'static str,
    /// The running kernel's release.
    pub kernel: String,
    /// What the kernel offers.
    pub support: KernelSupport,
}

impl BuildInfo {
    /// This build on this kernel, with `support` already known (the collector has
    /// resolved the features once; the UI passes them in rather than parse BTF again).
    pub fn new(support: KernelSupport) -> Self {
        Self {
            version: VERSION,
            revision: GIT_REVISION,
            target: TARGET,
            kernel: host::kernel_release(),
            support,
        }
    }

    /// This build on this kernel, reading the kernel's BTF at `btf`.
    pub fn detect(btf: &Path) -> Self {
        Self::new(KernelSupport::detect(btf))
    }

    /// One line for the UI header, e.g.
    /// `tcptop 0.1.0 (1a2b3c4d5e6f) · kernel 6.18.4: BTF, RTO, IPv6`.
    pub fn header(&self) -> String {
        format!(
            "tcptop {} ({}) · kernel {}: {}",
            self.version,
            self.revision,
            self.kernel,
            self.support.short()
        )
    }
}

/// The `--version` text: the version on the first line, as tools expect, then details.
impl fmt::Display for BuildInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "tcptop {}", self.version)?;
        writeln!(f, "revision: {}", self.revision)?;
        writeln!(f, "target: {}", self.target)?;
        writeln!(f, "kernel: {}", self.kernel)?;
        writeln!(f, "kernel features: {}", self.support.long())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(support: KernelSupport) -> BuildInfo {
        BuildInfo {
            version: "0.1.0",
            revision: "1a2b3c4d5e6f",
            target: "x86_64-unknown-linux-musl",
            kernel: "6.18.4".into(),
            support,
        }
    }

    #[test]
    fn full_support() {
        let i = info(
            Features {
                rto: true,
                ipv6: true,
                live: true,
            }
            .into(),
        );
        assert_eq!(
            i.header(),
            "tcptop 0.1.0 (1a2b3c4d5e6f) · kernel 6.18.4: BTF, RTO, IPv6"
        );
        assert_eq!(
            i.to_string(),
            "tcptop 0.1.0\nrevision: 1a2b3c4d5e6f\ntarget: x86_64-unknown-linux-musl\n\
             kernel: 6.18.4\nkernel features: BTF present, RTO counters available (6.7+), IPv6\n"
        );
    }

    #[test]
    fn older_kernel_without_rto_or_ipv6() {
        let i = info(Features::default().into());
        assert!(i.header().ends_with("kernel 6.18.4: BTF"), "{}", i.header());
        assert_eq!(
            i.support.long(),
            "BTF present, no RTO counters (they need Linux 6.7+), no IPv6"
        );
    }

    #[test]
    fn missing_btf_is_reported_not_fatal() {
        let support = KernelSupport::detect(Path::new("/nonexistent/vmlinux"));
        assert_eq!(support, KernelSupport::NoBtf);
        let i = info(support);
        assert!(i.header().ends_with(": no BTF"));
        assert!(i.to_string().contains("CONFIG_DEBUG_INFO_BTF=y"));
    }

    #[test]
    fn garbage_btf_is_unusable() {
        let dir = std::env::temp_dir().join(format!("tcptop-btf-{}", std::process::id()));
        std::fs::write(&dir, b"not btf").unwrap();
        let support = KernelSupport::detect(&dir);
        std::fs::remove_file(&dir).unwrap();
        assert!(matches!(support, KernelSupport::Unusable(_)), "{support:?}");
        assert_eq!(support.short(), "unusable BTF");
    }

    #[test]
    fn this_kernel() {
        if !Path::new(VMLINUX_BTF).exists() {
            eprintln!("skipped: {VMLINUX_BTF} is missing");
            return;
        }
        let i = BuildInfo::detect(Path::new(VMLINUX_BTF));
        assert!(matches!(i.support, KernelSupport::Ready(_)), "{i:?}");
        assert!(i.to_string().starts_with(&format!("tcptop {VERSION}\n")));
    }

    #[test]
    fn revision_is_recorded() {
        assert!(!GIT_REVISION.is_empty());
        assert!(
            !GIT_REVISION.contains(char::is_whitespace),
            "{GIT_REVISION}"
        );
        assert!(TARGET.contains("linux"), "{TARGET}");
    }
}
