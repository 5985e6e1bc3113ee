//! Resolves the kernel structure offsets the eBPF program needs from the running
//! kernel's BTF. Rust eBPF has no CO-RE relocations, so this is done once at start-up.
use std::path::Path;

use tcptop_common::{Config, FIELD_MISSING};
use thiserror::Error;

use super::btf::Btf;

/// Where the kernel publishes its own BTF.
pub const VMLINUX_BTF: &str = "/sys/kernel/btf/vmlinux";

/// The tracepoint tcptop attaches to.
pub const TRACEPOINT: &str = "inet_sock_set_state";

/// Why the offsets could not be resolved.
#[derive(Debug, Error)]
pub enum OffsetError {
    /// The kernel has no BTF file.
    #[error(
        "this kernel has no BTF ({VMLINUX_BTF} is missing): tcptop needs Linux 5.8+ built with CONFIG_DEBUG_INFO_BTF=y"
    )]
    NoBtf,
    /// The BTF file could not be parsed.
    #[error("cannot parse kernel BTF at {path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// What the parser said.
        message: String,
    },
    /// The kernel has no such BTF tracepoint.
    #[error("this kernel has no BTF tracepoint {0}: tcptop needs Linux 5.8+ with BTF")]
    NoTracepoint(String),
    /// A field tcptop cannot work without is missing or has an unexpected size.
    #[error("kernel BTF has no usable {0}: this kernel is too old or too unusual for tcptop (5.8+ needed)")]
    Missing(&'static str),
}

/// Which optional kernel fields were found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Features {
    /// `tcp_sock.total_rto*` (Linux 6.7+).
    pub rto: bool,
    /// IPv6 socket addresses (CONFIG_IPV6).
    pub ipv6: bool,
    /// What live sampling needs from BTF: the `task_file` iterator (5.8+) and the
    /// fields it reads. `bpf_sock_from_file` needs 5.11; the load finds out.
    pub live: bool,
}

/// Reads the BTF file at `path`, checks for the tracepoint and resolves every offset.
pub fn resolve(path: &Path) -> Result<(Config, Features), OffsetError> {
    resolve_bytes(&read(path)?)
}

/// Reads the BTF file at `path`.
pub fn read(path: &Path) -> Result<Vec<u8>, OffsetError> {
    if !path.exists() {
        return Err(OffsetError::NoBtf);
    }
    std::fs::read(path).map_err(|e| OffsetError::Parse {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

/// Checks for the tracepoint and resolves every offset from a BTF blob.
pub fn resolve_bytes(data: &[u8]) -> Result<(Config, Features), OffsetError> {
    let btf = Btf::parse(data).map_err(|e| OffsetError::Parse {
        path: VMLINUX_BTF.into(),
        message: e.to_string(),
    })?;
    require_tracepoint(&btf, TRACEPOINT)?;
    resolve_from(&btf)
}

/// Checks that the kernel has the BTF tracepoint `name` (its `btf_trace_<name>` type).
pub fn require_tracepoint(btf: &Btf, name: &str) -> Result<(), OffsetError> {
    if btf.has_typedef(&format!("btf_trace_{name}")) {
        Ok(())
    } else {
        Err(OffsetError::NoTracepoint(name.to_string()))
    }
}

/// Resolves every offset from parsed BTF.
pub fn resolve_from(btf: &Btf) -> Result<(Config, Features), OffsetError> {
    let common = btf
        .struct_id("sock_common")
        .ok_or(OffsetError::Missing("struct sock_common"))?;
    let sock = btf
        .struct_id("sock")
        .ok_or(OffsetError::Missing("struct sock"))?;
    let inet = btf
        .struct_id("inet_sock")
        .ok_or(OffsetError::Missing("struct inet_sock"))?;
    let tcp = btf
        .struct_id("tcp_sock")
        .ok_or(OffsetError::Missing("struct tcp_sock"))?;
    // struct sock starts with `struct sock_common __sk_common`; inet_sock and tcp_sock
    // start with struct sock, so every offset below is from the socket's address.
    let base = btf.member(sock, "__sk_common").map_or(0, |m| m.offset);
    let sized = |id: u32, name: &str, size: u32| {
        btf.member(id, name)
            .filter(|m| m.size == Some(size))
            .map(|m| m.offset)
    };
    let sc = |name: &'static str, size| {
        sized(common, name, size)
            .map(|o| base + o)
            .ok_or(OffsetError::Missing(name))
    };
    let req =
        |id, name: &'static str, size| sized(id, name, size).ok_or(OffsetError::Missing(name));
    let opt = |name: &'static str, size| sized(tcp, name, size).unwrap_or(FIELD_MISSING);
    let v6 = |name: &'static str| sized(common, name, 16).map_or(FIELD_MISSING, |o| base + o);
    let cfg = Config {
        family: sc("skc_family", 2)?,
        daddr: sc("skc_daddr", 4)?,
        rcv_saddr: sc("skc_rcv_saddr", 4)?,
        dport: sc("skc_dport", 2)?,
        sport: req(inet, "inet_sport", 2)?,
        v6_daddr: v6("skc_v6_daddr"),
        v6_rcv_saddr: v6("skc_v6_rcv_saddr"),
        protocol: req(sock, "sk_protocol", 2)?,
        bytes_sent: req(tcp, "bytes_sent", 8)?,
        bytes_received: req(tcp, "bytes_received", 8)?,
        total_retrans: req(tcp, "total_retrans", 4)?,
        lost: req(tcp, "lost", 4)?,
        srtt_us: req(tcp, "srtt_us", 4)?,
        total_rto: opt("total_rto", 2),
        total_rto_recoveries: opt("total_rto_recoveries", 2),
        total_rto_time: opt("total_rto_time", 4),
        rto_stamp: opt("rto_stamp", 4),
        wakeup_bytes: 0,
        skc_state: sized(common, "skc_state", 1).map_or(FIELD_MISSING, |o| base + o),
        socket_sk: btf
            .struct_id("socket")
            .and_then(|id| sized(id, "sk", 8))
            .unwrap_or(FIELD_MISSING),
        skc_cookie: sized(common, "skc_cookie", 8).map_or(FIELD_MISSING, |o| base + o),
        live: 0,
    };
    let live = cfg.skc_state != FIELD_MISSING
        && cfg.skc_cookie != FIELD_MISSING
        && cfg.socket_sk != FIELD_MISSING
        && btf.struct_id("bpf_iter__task_file").is_some();
    let rto = [
        cfg.total_rto,
        cfg.total_rto_recoveries,
        cfg.total_rto_time,
        cfg.rto_stamp,
    ]
    .iter()
    .all(|&o| o != FIELD_MISSING);
    let cfg = if rto {
        cfg
    } else {
        Config {
            total_rto: FIELD_MISSING,
            total_rto_recoveries: FIELD_MISSING,
            total_rto_time: FIELD_MISSING,
            rto_stamp: FIELD_MISSING,
            ..cfg
        }
    };
    let ipv6 = cfg.v6_daddr != FIELD_MISSING && cfg.v6_rcv_saddr != FIELD_MISSING;
    Ok((cfg, Features { rto, ipv6, live }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_btf_file_is_a_clear_error() {
        let err = resolve(Path::new("/nonexistent/vmlinux")).unwrap_err();
        assert!(err.to_string().contains("CONFIG_DEBUG_INFO_BTF"), "{err}");
    }

    #[test]
    fn resolves_this_kernels_offsets() {
        let path = Path::new(VMLINUX_BTF);
        if !path.exists() {
            eprintln!("skipped: {VMLINUX_BTF} is missing");
            return;
        }
        let (cfg, _) = resolve(path).unwrap();
        let data = std::fs::read(path).unwrap();
        let btf = Btf::parse(&data).unwrap();
        let err = require_tracepoint(&btf, "no_such_tracepoint").unwrap_err();
        assert!(
            err.to_string()
                .contains("no BTF tracepoint no_such_tracepoint"),
            "{err}"
        );
        // sock_common is the first member of sock; family sits in its first 32 bytes.
        assert!(cfg.family < 32);
        assert!(cfg.bytes_sent > 1000 && cfg.bytes_received > 1000);
        assert_ne!(cfg.bytes_sent, cfg.bytes_received);
        // Figures measured on 6.18 (see NOTES): a cross-check of the parser.
        if std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .is_ok_and(|r| r.starts_with("6.18."))
        {
            assert_eq!((cfg.bytes_sent, cfg.lost, cfg.srtt_us), (1544, 1488, 1680));
            assert_eq!(
                (cfg.bytes_received, cfg.total_retrans, cfg.total_rto),
                (1752, 2200, 2208)
            );
        }
    }
}
