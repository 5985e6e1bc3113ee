//! A cut of the kernel's BTF for aya, which looks up in it only the types that name
//! programs' attach points (`btf_trace_<tracepoint>` typedefs, `bpf_iter_<target>`
//! functions). The cut keeps those at their ids and puts a `void *` at every other id
//! before them: aya parses it in about a millisecond, where all of vmlinux took 12 ms.
use super::{kind, u32_at, Btf, MAGIC};

impl Btf<'_> {
    /// A BTF blob with the `typedefs` and `funcs` named, where they exist here, at
    /// their ids (the first of each name, as aya finds it), and `void *` at every other
    /// id up to the last of them. Their own type references are left out (0).
    pub fn cut(&self, typedefs: &[&str], funcs: &[&str]) -> Vec<u8> {
        // Names are read only of the kinds wanted: most types are neither.
        let wanted = |k: u32, name: u32| {
            let names = match k {
                kind::TYPEDEF => typedefs,
                kind::FUNC => funcs,
                _ => return None,
            };
            let name = self.name(name);
            names.iter().position(|n| n.as_bytes() == name)
        };
        // (id, kind, index into its list), first occurrence of each name only.
        let mut found: Vec<(u32, u32, usize)> = Vec::new();
        for (i, &at) in self.pos.iter().enumerate() {
            let at = at as usize;
            let (Ok(name), Ok(info)) = (u32_at(self.types, at), u32_at(self.types, at + 4)) else {
                continue;
            };
            let k = (info >> 24) & 0x1f;
            if let Some(n) = wanted(k, name) {
                if !found.iter().any(|&(_, fk, fi)| fk == k && fi == n) {
                    found.push((i as u32 + 1, k, n));
                }
            }
        }
        let mut strings = vec![0u8];
        let mut types = Vec::new();
        let last = found.iter().map(|f| f.0).max().unwrap_or(0);
        for id in 1..=last {
            let (name, k) = match found.iter().find(|f| f.0 == id) {
                Some(&(_, k, n)) => {
                    let text = if k == kind::TYPEDEF {
                        typedefs[n]
                    } else {
                        funcs[n]
                    };
                    let off = strings.len() as u32;
                    strings.extend_from_slice(text.as_bytes());
                    strings.push(0);
                    (off, k)
                }
                None => (0, kind::PTR),
            };
            for word in [name, k << 24, 0] {
                types.extend_from_slice(&word.to_le_bytes());
            }
        }
        let mut out = MAGIC.to_le_bytes().to_vec();
        out.extend_from_slice(&[1, 0]);
        let (tlen, slen) = (types.len() as u32, strings.len() as u32);
        for word in [24u32, 0, tlen, tlen, slen] {
            out.extend_from_slice(&word.to_le_bytes());
        }
        out.extend(types);
        out.extend(strings);
        out
    }
}

#[cfg(test)]
mod tests {
    use aya_obj::btf::{Btf as AyaBtf, BtfKind};

    use super::*;

    /// aya finds every attach point at the same id in the cut as in the whole.
    #[test]
    fn aya_finds_attach_points_at_their_ids() {
        let path = "/sys/kernel/btf/vmlinux";
        let Ok(data) = std::fs::read(path) else {
            eprintln!("skipped: {path} is missing");
            return;
        };
        let typedefs = [
            "btf_trace_inet_sock_set_state",
            "btf_trace_tcp_send_reset",
            "btf_trace_no_such_tracepoint",
        ];
        let funcs = ["bpf_iter_task_file", "bpf_iter_no_such_target"];
        let own = Btf::parse(&data).unwrap();
        let cut = own.cut(&typedefs, &funcs);
        assert!(cut.len() < data.len() / 2, "{} bytes", cut.len());
        let cut = AyaBtf::parse(&cut, Default::default()).unwrap();
        let whole = AyaBtf::parse(&data, Default::default()).unwrap();
        let lookups = typedefs
            .iter()
            .map(|n| (n, BtfKind::Typedef))
            .chain(funcs.iter().map(|n| (n, BtfKind::Func)));
        for (name, k) in lookups {
            let (a, b) = (
                whole.id_by_type_name_kind(name, k).ok(),
                cut.id_by_type_name_kind(name, k).ok(),
            );
            assert_eq!(a, b, "{name}");
            assert_eq!(a.is_some(), !name.contains("no_such"), "{name}");
        }
    }
}
