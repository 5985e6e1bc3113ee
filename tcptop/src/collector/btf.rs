//! A minimal reader of the kernel's BTF: just enough to find structs, their members'
//! offsets and sizes, and typedefs by name. One pass over the type section, no copies,
//! so start-up stays fast (a general BTF library took ~0.5 s on vmlinux here). `cut`
//! makes the small copy of it that aya is given.
mod cut;

use thiserror::Error;

/// The BTF data is not what the kernel writes, or is newer than this reader.
#[derive(Debug, Error)]
pub enum BtfError {
    /// Bad magic, truncated, or sections out of bounds.
    #[error("malformed BTF: {0}")]
    Malformed(&'static str),
    /// A type of a kind this reader does not know, so it cannot tell its size.
    #[error("type {id} has BTF kind {kind}, which this tcptop does not know: the kernel is newer than tcptop, upgrade tcptop")]
    UnknownKind {
        /// The type's id.
        id: u32,
        /// Its kind number.
        kind: u32,
    },
}

/// The magic number at the start of every BTF blob.
pub const MAGIC: u16 = 0xeb9f;

/// Every BTF kind up to Linux 6.18 (`include/uapi/linux/btf.h`).
mod kind {
    pub const INT: u32 = 1;
    pub const PTR: u32 = 2;
    pub const ARRAY: u32 = 3;
    pub const STRUCT: u32 = 4;
    pub const UNION: u32 = 5;
    pub const ENUM: u32 = 6;
    pub const FWD: u32 = 7;
    pub const TYPEDEF: u32 = 8;
    pub const VOLATILE: u32 = 9;
    pub const CONST: u32 = 10;
    pub const RESTRICT: u32 = 11;
    pub const FUNC: u32 = 12;
    pub const FUNC_PROTO: u32 = 13;
    pub const VAR: u32 = 14;
    pub const DATASEC: u32 = 15;
    pub const FLOAT: u32 = 16;
    pub const DECL_TAG: u32 = 17;
    pub const TYPE_TAG: u32 = 18;
    pub const ENUM64: u32 = 19;
}

/// Bytes that follow the 12-byte header of a type of kind `k` with `vlen` entries, or
/// `None` for a kind this reader does not know.
fn trailing_bytes(k: u32, vlen: usize) -> Option<usize> {
    Some(match k {
        kind::INT | kind::VAR | kind::DECL_TAG => 4,
        kind::ARRAY => 12,
        kind::STRUCT | kind::UNION | kind::DATASEC | kind::ENUM64 => 12 * vlen,
        kind::ENUM | kind::FUNC_PROTO => 8 * vlen,
        kind::PTR
        | kind::FWD
        | kind::TYPEDEF
        | kind::VOLATILE
        | kind::CONST
        | kind::RESTRICT
        | kind::FUNC
        | kind::FLOAT
        | kind::TYPE_TAG => 0,
        _ => return None,
    })
}

/// Parsed BTF: the raw bytes and the position of every type.
pub struct Btf<'a> {
    types: &'a [u8],
    strings: &'a [u8],
    /// Byte position of type id `i + 1` in `types`.
    pos: Vec<u32>,
}

/// Where a member lies, in bits from the start of its struct.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bits {
    /// Its first bit.
    pub offset: u32,
    /// Its width in bits.
    pub width: u32,
}

/// One struct or union member.
#[derive(Clone, Copy, Debug)]
pub struct Member {
    /// Byte offset from the start of the enclosing type.
    pub offset: u32,
    /// Size in bytes, when it has one.
    pub size: Option<u32>,
}

fn u32_at(b: &[u8], at: usize) -> Result<u32, BtfError> {
    b.get(at..at + 4)
        .and_then(|s| <[u8; 4]>::try_from(s).ok())
        .map(u32::from_le_bytes)
        .ok_or(BtfError::Malformed("truncated"))
}

impl<'a> Btf<'a> {
    /// Indexes `data`, a little-endian BTF blob such as /sys/kernel/btf/vmlinux.
    pub fn parse(data: &'a [u8]) -> Result<Self, BtfError> {
        if data.len() < 24 || u16::from_le_bytes([data[0], data[1]]) != MAGIC {
            return Err(BtfError::Malformed("bad magic"));
        }
        let hdr = u32_at(data, 4)? as usize;
        let (toff, tlen) = (u32_at(data, 8)? as usize, u32_at(data, 12)? as usize);
        let (soff, slen) = (u32_at(data, 16)? as usize, u32_at(data, 20)? as usize);
        let types = data
            .get(hdr + toff..hdr + toff + tlen)
            .ok_or(BtfError::Malformed("type section out of bounds"))?;
        let strings = data
            .get(hdr + soff..hdr + soff + slen)
            .ok_or(BtfError::Malformed("string section out of bounds"))?;
        let mut pos = Vec::with_capacity(tlen / 16);
        let mut at = 0usize;
        while at < types.len() {
            pos.push(at as u32);
            let info = u32_at(types, at + 4)?;
            let k = (info >> 24) & 0x1f;
            let trailing =
                trailing_bytes(k, (info & 0xffff) as usize).ok_or(BtfError::UnknownKind {
                    id: pos.len() as u32,
                    kind: k,
                })?;
            at += 12 + trailing;
        }
        if at != types.len() {
            return Err(BtfError::Malformed("last type truncated"));
        }
        Ok(Self {
            types,
            strings,
            pos,
        })
    }

    fn header(&self, id: u32) -> Option<(usize, u32, u32, u32)> {
        let at = *self.pos.get(id.checked_sub(1)? as usize)? as usize;
        let name = u32_at(self.types, at).ok()?;
        let info = u32_at(self.types, at + 4).ok()?;
        let size_or_type = u32_at(self.types, at + 8).ok()?;
        Some((at, name, info, size_or_type))
    }

    fn name(&self, off: u32) -> &[u8] {
        let s = self.strings.get(off as usize..).unwrap_or_default();
        &s[..s.iter().position(|&c| c == 0).unwrap_or(s.len())]
    }

    /// The id of the first type of `kind` named `name`.
    fn find(&self, name: &str, want: u32) -> Option<u32> {
        (1..=self.pos.len() as u32).find(|&id| {
            self.header(id).is_some_and(|(_, n, info, _)| {
                (info >> 24) & 0x1f == want
                    && (info & 0xffff != 0 || want == kind::TYPEDEF)
                    && self.name(n) == name.as_bytes()
            })
        })
    }

    /// The id of the struct `name` (a definition with members, not a forward).
    pub fn struct_id(&self, name: &str) -> Option<u32> {
        self.find(name, kind::STRUCT)
    }

    /// True when a typedef `name` exists.
    pub fn has_typedef(&self, name: &str) -> bool {
        self.find(name, kind::TYPEDEF).is_some()
    }

    /// Follows typedefs and qualifiers to the underlying type.
    fn strip(&self, mut id: u32) -> Option<u32> {
        for _ in 0..32 {
            let (_, _, info, next) = self.header(id)?;
            match (info >> 24) & 0x1f {
                kind::TYPEDEF | kind::VOLATILE | kind::CONST | kind::RESTRICT | kind::TYPE_TAG => {
                    id = next
                }
                _ => return Some(id),
            }
        }
        None
    }

    /// Size in bytes of type `id`.
    fn size(&self, id: u32) -> Option<u32> {
        let id = self.strip(id)?;
        let (at, _, info, size) = self.header(id)?;
        match (info >> 24) & 0x1f {
            kind::INT | kind::STRUCT | kind::UNION | kind::ENUM | kind::ENUM64 => Some(size),
            kind::PTR => Some(8),
            kind::ARRAY => {
                let elem = u32_at(self.types, at + 12).ok()?;
                let n = u32_at(self.types, at + 20).ok()?;
                self.size(elem)?.checked_mul(n)
            }
            _ => None,
        }
    }

    /// Finds member `name` of struct/union `id`, descending into anonymous structs and
    /// unions. Bitfields are not members here (see [`Btf::bits`]).
    pub fn member(&self, id: u32, name: &str) -> Option<Member> {
        let (bit_off, bits, mtype) = self.find_member(id, name)?;
        (bits == 0 && bit_off % 8 == 0).then(|| Member {
            offset: bit_off / 8,
            size: self.size(mtype),
        })
    }

    /// Where member `name` of struct/union `id` lies in bits: its first bit and its
    /// width, for a bitfield or a whole member alike.
    pub fn bits(&self, id: u32, name: &str) -> Option<Bits> {
        let (offset, bits, mtype) = self.find_member(id, name)?;
        let width = match bits {
            0 => self.size(mtype)?.checked_mul(8)?,
            b => b,
        };
        Some(Bits { offset, width })
    }

    /// The bit offset, bitfield width (0: not a bitfield) and type of member `name`.
    fn find_member(&self, id: u32, name: &str) -> Option<(u32, u32, u32)> {
        let (at, _, info, _) = self.header(self.strip(id)?)?;
        let k = (info >> 24) & 0x1f;
        if k != kind::STRUCT && k != kind::UNION {
            return None;
        }
        let bitfield_flag = info >> 31 == 1;
        for i in 0..(info & 0xffff) as usize {
            let m = at + 12 + 12 * i;
            let (mname, mtype, moff) = (
                u32_at(self.types, m).ok()?,
                u32_at(self.types, m + 4).ok()?,
                u32_at(self.types, m + 8).ok()?,
            );
            let (bit_off, bits) = if bitfield_flag {
                (moff & 0xff_ffff, moff >> 24)
            } else {
                (moff, 0)
            };
            let n = self.name(mname);
            if n == name.as_bytes() {
                return Some((bit_off, bits, mtype));
            }
            if n.is_empty() && bits == 0 && bit_off % 8 == 0 {
                if let Some((inner, b, t)) = self.find_member(mtype, name) {
                    return Some((bit_off + inner, b, t));
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A BTF blob of `types` (each a list of u32 words) and `strings`.
    fn blob_of(types: &[&[u32]], strings: &[u8]) -> Vec<u8> {
        let t: Vec<u8> = types
            .iter()
            .flat_map(|words| words.iter())
            .flat_map(|w| w.to_le_bytes())
            .collect();
        let mut out = Vec::new();
        out.extend_from_slice(&MAGIC.to_le_bytes());
        out.extend_from_slice(&[1, 0]);
        for v in [
            24u32,
            0,
            t.len() as u32,
            t.len() as u32,
            strings.len() as u32,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend(t);
        out.extend_from_slice(strings);
        out
    }

    /// `int` (id 1, 4 bytes), and struct `s` (id 2, 8 bytes) with member `a` at 0 and
    /// an anonymous union (id 3) at 4 holding `b`.
    fn blob() -> Vec<u8> {
        blob_of(
            &[
                &[1, kind::INT << 24, 4, 32],
                &[5, kind::STRUCT << 24 | 2, 8, 7, 1, 0, 0, 3, 32],
                &[0, kind::UNION << 24 | 1, 4, 9, 1, 0],
            ],
            b"\0int\0s\0a\0b\0",
        )
    }

    #[test]
    fn finds_members_through_anonymous_unions() {
        let data = blob();
        let btf = Btf::parse(&data).unwrap();
        let s = btf.struct_id("s").unwrap();
        assert_eq!(s, 2);
        let a = btf.member(s, "a").unwrap();
        assert_eq!((a.offset, a.size), (0, Some(4)));
        let b = btf.member(s, "b").unwrap();
        assert_eq!((b.offset, b.size), (4, Some(4)));
        assert!(btf.member(s, "c").is_none());
        assert!(btf.struct_id("t").is_none());
        assert!(!btf.has_typedef("s"));
    }

    #[test]
    fn rejects_garbage() {
        assert!(Btf::parse(b"not btf at all, not at all").is_err());
        let mut data = blob();
        data.truncate(30);
        assert!(Btf::parse(&data).is_err());
    }

    #[test]
    fn skips_every_known_kind() {
        // FWD, FUNC, FLOAT, DECL_TAG and ENUM64 before the struct: its id must be 6.
        let data = blob_of(
            &[
                &[1, kind::INT << 24, 4, 32],
                &[0, kind::FWD << 24, 0],
                &[0, kind::FUNC << 24, 0],
                &[0, kind::FLOAT << 24, 8],
                &[0, kind::ENUM64 << 24 | 1, 8, 0, 1, 0],
                &[5, kind::STRUCT << 24 | 1, 4, 7, 1, 0],
                &[0, kind::DECL_TAG << 24, 6, 0],
            ],
            b"\0int\0s\0a\0",
        );
        let btf = Btf::parse(&data).unwrap();
        assert_eq!(btf.struct_id("s"), Some(6));
        assert_eq!(btf.member(6, "a").unwrap().offset, 0);
    }

    #[test]
    fn rejects_unknown_kinds() {
        // Kind 20 does not exist (yet): its trailing data cannot be skipped.
        let data = blob_of(
            &[&[1, kind::INT << 24, 4, 32], &[0, 20 << 24 | 1, 0, 0, 0, 0]],
            b"\0int\0",
        );
        let err = Btf::parse(&data).err().expect("kind 20 must be rejected");
        assert!(
            matches!(err, BtfError::UnknownKind { id: 2, kind: 20 }),
            "{err}"
        );
        assert!(err.to_string().contains("upgrade tcptop"), "{err}");
    }

    #[test]
    fn rejects_a_truncated_last_type() {
        // A struct that claims two members but carries one.
        let data = blob_of(&[&[0, kind::STRUCT << 24 | 2, 4, 0, 1, 0]], b"\0");
        assert!(Btf::parse(&data).is_err());
    }
}
