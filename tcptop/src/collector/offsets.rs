//! Resolves the kernel structure offsets the eBPF program needs from the running
//! kernel's BTF. Rust eBPF has no CO-RE relocations, so this is done once at start-up.
use std::path::Path;

use btf_rs::{Btf, BtfType, Type};
use tcptop_common::{Config, FIELD_MISSING};
use thiserror::Error;

/// Where the kernel publishes its own BTF.
pub const VMLINUX_BTF: &str = "/sys/kernel/btf/vmlinux";

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
}

/// Parses the BTF file at `path` and resolves every offset.
pub fn resolve(path: &Path) -> Result<(Config, Features), OffsetError> {
    if !path.exists() {
        return Err(OffsetError::NoBtf);
    }
    let btf = Btf::from_file(path).map_err(|e| OffsetError::Parse {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    resolve_from(&btf)
}

/// Resolves every offset from parsed BTF.
pub fn resolve_from(btf: &Btf) -> Result<(Config, Features), OffsetError> {
    let common =
        find_struct(btf, "sock_common").ok_or(OffsetError::Missing("struct sock_common"))?;
    let sock = find_struct(btf, "sock").ok_or(OffsetError::Missing("struct sock"))?;
    let inet = find_struct(btf, "inet_sock").ok_or(OffsetError::Missing("struct inet_sock"))?;
    let tcp = find_struct(btf, "tcp_sock").ok_or(OffsetError::Missing("struct tcp_sock"))?;
    // struct sock starts with `struct sock_common __sk_common`, tcp_sock with sock.
    let base = field(btf, &sock, "__sk_common").map_or(0, |f| f.offset);
    let sc = |name: &'static str, size: usize| -> Result<u32, OffsetError> {
        match field(btf, &common, name) {
            Some(f) if f.size == size => Ok(base + f.offset),
            _ => Err(OffsetError::Missing(name)),
        }
    };
    let req = |s: &btf_rs::Struct, name: &'static str, size: usize| -> Result<u32, OffsetError> {
        match field(btf, s, name) {
            Some(f) if f.size == size => Ok(f.offset),
            _ => Err(OffsetError::Missing(name)),
        }
    };
    let opt = |name: &'static str, size: usize| -> u32 {
        match field(btf, &tcp, name) {
            Some(f) if f.size == size => f.offset,
            _ => FIELD_MISSING,
        }
    };
    let v6 = |name: &'static str| -> u32 {
        field(btf, &common, name)
            .filter(|f| f.size == 16)
            .map_or(FIELD_MISSING, |f| base + f.offset)
    };
    let cfg = Config {
        family: sc("skc_family", 2)?,
        daddr: sc("skc_daddr", 4)?,
        rcv_saddr: sc("skc_rcv_saddr", 4)?,
        dport: sc("skc_dport", 2)?,
        sport: req(&inet, "inet_sport", 2)?,
        v6_daddr: v6("skc_v6_daddr"),
        v6_rcv_saddr: v6("skc_v6_rcv_saddr"),
        protocol: req(&sock, "sk_protocol", 2)?,
        bytes_sent: req(&tcp, "bytes_sent", 8)?,
        bytes_received: req(&tcp, "bytes_received", 8)?,
        total_retrans: req(&tcp, "total_retrans", 4)?,
        lost: req(&tcp, "lost", 4)?,
        srtt_us: req(&tcp, "srtt_us", 4)?,
        total_rto: opt("total_rto", 2),
        total_rto_recoveries: opt("total_rto_recoveries", 2),
        total_rto_time: opt("total_rto_time", 4),
        rto_stamp: opt("rto_stamp", 4),
    };
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
    Ok((cfg, Features { rto, ipv6 }))
}

/// A member's byte offset and byte size.
struct Field {
    offset: u32,
    size: usize,
}

fn find_struct(btf: &Btf, name: &str) -> Option<btf_rs::Struct> {
    btf.resolve_types_by_name(name)
        .ok()?
        .into_iter()
        .find_map(|t| match t {
            Type::Struct(s) if !s.members.is_empty() => Some(s),
            _ => None,
        })
}

/// Finds `name` among the members of `s`, descending into anonymous structs and unions.
fn field(btf: &Btf, s: &btf_rs::Struct, name: &str) -> Option<Field> {
    for m in &s.members {
        if m.bitfield_size().is_some_and(|b| b != 0) {
            continue;
        }
        let offset = m.bit_offset() / 8;
        let member_name = btf.resolve_name(m).unwrap_or_default();
        let ty = resolved(btf, m)?;
        if member_name == name {
            return Some(Field {
                offset,
                size: size_of_type(btf, &ty)?,
            });
        }
        if member_name.is_empty() {
            if let Type::Struct(inner) | Type::Union(inner) = &ty {
                if let Some(f) = field(btf, inner, name) {
                    return Some(Field {
                        offset: offset + f.offset,
                        size: f.size,
                    });
                }
            }
        }
    }
    None
}

/// The member's type with typedefs and qualifiers stripped.
fn resolved(btf: &Btf, m: &dyn BtfType) -> Option<Type> {
    let mut ty = btf.resolve_chained_type(m).ok()?;
    for _ in 0..16 {
        ty = match &ty {
            Type::Typedef(_)
            | Type::Volatile(_)
            | Type::Const(_)
            | Type::Restrict(_)
            | Type::TypeTag(_) => btf.resolve_chained_type(ty.as_btf_type()?).ok()?,
            _ => return Some(ty),
        };
    }
    None
}

fn size_of_type(btf: &Btf, ty: &Type) -> Option<usize> {
    match ty {
        Type::Int(i) => Some(i.size()),
        Type::Struct(s) | Type::Union(s) => Some(s.size()),
        Type::Enum(e) => Some(e.size()),
        Type::Ptr(_) => Some(8),
        Type::Array(a) => {
            let elem = resolved(btf, a)?;
            Some(a.len() * size_of_type(btf, &elem)?)
        }
        _ => None,
    }
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
        // sock_common is the first member of sock; family sits in its first 32 bytes.
        assert!(cfg.family < 32);
        assert!(cfg.bytes_sent > 1000 && cfg.bytes_received > 1000);
        assert_ne!(cfg.bytes_sent, cfg.bytes_received);
    }
}
