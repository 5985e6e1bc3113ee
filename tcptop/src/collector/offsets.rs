//! Resolves the kernel structure offsets the eBPF program needs from the running
//! kernel's BTF. Rust eBPF has no CO-RE relocations, so this is done once at start-up.
use std::{
    fs::File,
    io::{self, Read},
    path::Path,
};

use tcptop_common::{Config, FIELD_MISSING};
use thiserror::Error;

use super::btf::{Btf, MAGIC};

/// Where the kernel publishes its own BTF.
pub const VMLINUX_BTF: &str = "/sys/kernel/btf/vmlinux";

/// The most tcptop reads of a BTF file. A kernel's BTF is a few MB (6 MB on 6.18).
pub const MAX_BTF_BYTES: u64 = 256 << 20;

/// Length of the fixed part of the BTF header (`struct btf_header`).
const HEADER_BYTES: usize = 24;

/// The tracepoint tcptop attaches to.
pub const TRACEPOINT: &str = "inet_sock_set_state";

/// The tracepoints that count resets, where the kernel has them.
pub const RESET_TRACEPOINTS: [&str; 2] = ["tcp_send_reset", "tcp_receive_reset"];

/// Why the offsets could not be resolved.
#[derive(Debug, Error)]
pub enum OffsetError {
    /// The BTF file does not exist.
    #[error(
        "this kernel has no BTF at {path} (the file is missing): tcptop needs Linux 5.8+ built with CONFIG_DEBUG_INFO_BTF=y"
    )]
    NoBtf {
        /// The file.
        path: String,
    },
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
    check_and_resolve(&parse(path, &read(path)?)?)
}

/// Reads the BTF blob in the file at `path`: as many bytes as its header declares, and
/// never more than [`MAX_BTF_BYTES`].
pub fn read(path: &Path) -> Result<Vec<u8>, OffsetError> {
    let parse = |message: String| OffsetError::Parse {
        path: path.display().to_string(),
        message,
    };
    let io_err = |e: io::Error| {
        parse(format!(
            "cannot read it ({e}): give --btf the kernel's BTF, such as {VMLINUX_BTF}"
        ))
    };
    let mut file = File::open(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => OffsetError::NoBtf {
            path: path.display().to_string(),
        },
        _ => io_err(e),
    })?;
    let not_btf = |why: &str| {
        parse(format!(
            "not a BTF file ({why}): give --btf the kernel's BTF, such as {VMLINUX_BTF}"
        ))
    };
    let mut data = vec![0u8; HEADER_BYTES];
    file.read_exact(&mut data).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => not_btf("shorter than a BTF header"),
        _ => io_err(e),
    })?;
    let len = declared_len(&data).ok_or_else(|| not_btf("no BTF magic at its start"))?;
    if len > MAX_BTF_BYTES {
        return Err(parse(format!(
            "its header declares {len} bytes, more than the {} MiB tcptop reads (a kernel's BTF is a few MB): give --btf the kernel's BTF, such as {VMLINUX_BTF}",
            MAX_BTF_BYTES >> 20
        )));
    }
    data.reserve(len as usize - HEADER_BYTES);
    file.take(len - HEADER_BYTES as u64)
        .read_to_end(&mut data)
        .map_err(io_err)?;
    if (data.len() as u64) < len {
        return Err(not_btf(&format!(
            "truncated: its header declares {len} bytes, the file has {}",
            data.len()
        )));
    }
    Ok(data)
}

/// The total length a BTF header declares (header, types and strings), or `None`
/// without the BTF magic.
fn declared_len(header: &[u8]) -> Option<u64> {
    let word = |at: usize| -> Option<u64> {
        let b = header.get(at..at + 4)?;
        Some(u64::from(u32::from_le_bytes(b.try_into().ok()?)))
    };
    if header.get(..2)? != MAGIC.to_le_bytes() {
        return None;
    }
    let (hdr, toff, tlen, soff, slen) = (word(4)?, word(8)?, word(12)?, word(16)?, word(20)?);
    Some(hdr.max(HEADER_BYTES as u64) + (toff + tlen).max(soff + slen))
}

/// Parses a BTF blob read from `path`.
pub fn parse<'a>(path: &Path, data: &'a [u8]) -> Result<Btf<'a>, OffsetError> {
    Btf::parse(data).map_err(|e| OffsetError::Parse {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

/// Checks for the tracepoints and resolves every offset from parsed BTF.
pub fn check_and_resolve(btf: &Btf) -> Result<(Config, Features), OffsetError> {
    require_tracepoint(btf, TRACEPOINT)?;
    for t in RESET_TRACEPOINTS {
        require_tracepoint(btf, t)?;
    }
    resolve_from(btf)
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
    // chrono_type is two bits: a bitfield before 6.x, a byte since. Either way the
    // program reads the byte holding it and shifts.
    let chrono = btf
        .bits(tcp, "chrono_type")
        .filter(|b| b.width <= 8 && b.offset % 8 + b.width <= 8)
        .ok_or(OffsetError::Missing("chrono_type"))?;
    let skb = btf
        .struct_id("sk_buff")
        .ok_or(OffsetError::Missing("struct sk_buff"))?;
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
        data_segs_out: req(tcp, "data_segs_out", 4)?,
        chrono_start: req(tcp, "chrono_start", 4)?,
        chrono_stat: req(tcp, "chrono_stat", 12)?,
        chrono_type: chrono.offset / 8,
        chrono_shift: chrono.offset % 8,
        sk_err: req(sock, "sk_err", 4)?,
        snd_cwnd: req(tcp, "snd_cwnd", 4)?,
        snd_ssthresh: req(tcp, "snd_ssthresh", 4)?,
        mdev_us: req(tcp, "mdev_us", 4)?,
        packets_out: req(tcp, "packets_out", 4)?,
        rate_delivered: req(tcp, "rate_delivered", 4)?,
        rate_interval_us: req(tcp, "rate_interval_us", 4)?,
        mss_cache: req(tcp, "mss_cache", 4)?,
        skb_head: req(skb, "head", 8)?,
        skb_network_header: req(skb, "network_header", 2)?,
        skb_transport_header: req(skb, "transport_header", 2)?,
        sk_cgroup: FIELD_MISSING,
        cgroup_kn: FIELD_MISSING,
        kn_id: FIELD_MISSING,
        kn_name: FIELD_MISSING,
        kn_parent: FIELD_MISSING,
        task_comm: btf
            .struct_id("task_struct")
            .and_then(|id| sized(id, "comm", 16))
            .unwrap_or(FIELD_MISSING),
        task_group_leader: btf
            .struct_id("task_struct")
            .and_then(|id| sized(id, "group_leader", 8))
            .unwrap_or(FIELD_MISSING),
    };
    let cfg = with_cgroup(btf, sock, cfg);
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

/// `cfg` with the offsets of the chain from a socket to its cgroup's kernfs node
/// (`sk_cgrp_data.cgroup->kn`, its `id`, `name` and parent), where BTF has all of them
/// (cgroup v2 socket data, 4.5+); left missing otherwise, and no socket has a cgroup.
fn with_cgroup(btf: &Btf, sock: u32, cfg: Config) -> Config {
    let found = || {
        let data = btf.member(sock, "sk_cgrp_data")?.offset;
        let scd = btf.struct_id("sock_cgroup_data")?;
        let cgroup = btf.member(scd, "cgroup").filter(|m| m.size == Some(8))?;
        let cg = btf.struct_id("cgroup")?;
        let kn = btf.member(cg, "kn").filter(|m| m.size == Some(8))?;
        let node = btf.struct_id("kernfs_node")?;
        let ptr = |name| btf.member(node, name).filter(|m| m.size == Some(8));
        let id = ptr("id")?;
        let name = ptr("name")?;
        let parent = ptr("__parent").or_else(|| ptr("parent"))?;
        Some(Config {
            sk_cgroup: data + cgroup.offset,
            cgroup_kn: kn.offset,
            kn_id: id.offset,
            kn_name: name.offset,
            kn_parent: parent.offset,
            ..cfg
        })
    };
    found().unwrap_or(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_btf_file_is_a_clear_error() {
        let err = resolve(Path::new("/nonexistent/vmlinux")).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("CONFIG_DEBUG_INFO_BTF"), "{msg}");
        assert!(msg.contains("at /nonexistent/vmlinux "), "{msg}");
    }

    /// A BTF header declaring `types` bytes of types and no strings, then `body`.
    fn btf_file(types: u32, body: &[u8]) -> tempfile::NamedTempFile {
        let mut data = MAGIC.to_le_bytes().to_vec();
        data.extend_from_slice(&[1, 0]);
        for v in [24u32, 0, types, types, 0] {
            data.extend_from_slice(&v.to_le_bytes());
        }
        data.extend_from_slice(body);
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), data).unwrap();
        f
    }

    /// The message of resolving `path`; it must name `path` as the file that failed.
    fn error_for(path: &Path) -> String {
        let msg = resolve(path).unwrap_err().to_string();
        let named = format!("cannot parse kernel BTF at {}: ", path.display());
        assert!(msg.starts_with(&named), "{msg}");
        msg
    }

    #[test]
    fn parse_errors_name_the_file_given() {
        // One type of kind 20, which no kernel has (yet).
        let kind20 = [0u32, 20 << 24, 0].map(u32::to_le_bytes).concat();
        let f = btf_file(12, &kind20);
        let msg = error_for(f.path());
        assert!(
            msg.contains("BTF kind 20") && msg.contains("upgrade tcptop"),
            "{msg}"
        );

        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), b"not BTF at all, not at all").unwrap();
        assert!(error_for(f.path()).contains("no BTF magic"));

        let f = btf_file(4096, &[0; 100]);
        assert!(error_for(f.path()).contains("truncated"));
    }

    #[test]
    fn reads_are_bounded() {
        // /dev/zero never ends; it has no BTF magic either.
        assert!(error_for(Path::new("/dev/zero")).contains("no BTF magic"));
        // A header declaring 300 MiB is refused before anything more is read.
        let f = btf_file(300 << 20, &[]);
        let msg = error_for(f.path());
        assert!(msg.contains("more than the 256 MiB tcptop reads"), "{msg}");
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
