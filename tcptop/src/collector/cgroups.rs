//! The names of the cgroups sockets came from: the program notes each cgroup's
//! directory name and its parent's in `CGROUP_NAMES` the first time it sees a socket
//! of it; this reads each once and keeps it, at most [`CACHE`] of them (beyond that the
//! cache starts over, and the restarts are counted).
use std::{collections::HashMap, sync::Arc};

use aya::{
    maps::{HashMap as BpfHashMap, MapData},
    Ebpf,
};
use tcptop_common::CgroupName;

/// Cgroup names kept in userspace.
pub const CACHE: usize = 8192;

/// `parent/leaf` of `n`, without the NUL padding; `None` without a leaf.
pub fn joined(n: &CgroupName) -> Option<String> {
    let text = |b: &[u8]| {
        let end = b.iter().position(|c| *c == 0).unwrap_or(b.len());
        String::from_utf8_lossy(&b[..end]).into_owned()
    };
    let (parent, leaf) = (text(&n.parent), text(&n.leaf));
    (!leaf.is_empty()).then(|| format!("{parent}/{leaf}"))
}

/// The program's cgroup names, cached.
pub struct CgroupNames {
    map: Option<BpfHashMap<MapData, u64, CgroupName>>,
    cache: HashMap<u64, Arc<str>>,
    restarts: u64,
}

impl CgroupNames {
    /// Takes the `CGROUP_NAMES` map of `ebpf` (without it, no cgroup has a name).
    pub fn new(ebpf: &mut Ebpf) -> Self {
        let map = ebpf
            .take_map("CGROUP_NAMES")
            .and_then(|m| BpfHashMap::try_from(m).ok());
        Self {
            map,
            cache: HashMap::new(),
            restarts: 0,
        }
    }

    /// The names of cgroup `id` (0: none).
    pub fn name(&mut self, id: u64) -> Option<Arc<str>> {
        if id == 0 {
            return None;
        }
        if let Some(n) = self.cache.get(&id) {
            return Some(n.clone());
        }
        let names = self.map.as_ref()?.get(&id, 0).ok()?;
        let name: Arc<str> = Arc::from(joined(&names)?);
        if self.cache.len() >= CACHE {
            self.cache.clear();
            self.restarts += 1;
        }
        self.cache.insert(id, name.clone());
        Some(name)
    }

    /// How many times the cache was full and started over.
    pub fn restarts(&self) -> u64 {
        self.restarts
    }
}

#[cfg(test)]
mod tests {
    use tcptop_common::CGROUP_NAME_BYTES;

    use super::*;

    fn name(parent: &str, leaf: &str) -> CgroupName {
        let mut n = CgroupName {
            leaf: [0; CGROUP_NAME_BYTES],
            parent: [0; CGROUP_NAME_BYTES],
        };
        n.leaf[..leaf.len()].copy_from_slice(leaf.as_bytes());
        n.parent[..parent.len()].copy_from_slice(parent.as_bytes());
        n
    }

    #[test]
    fn names_are_joined_without_padding() {
        let n = name(
            "kubepods-besteffort-pod1a2b.slice",
            "cri-containerd-ab.scope",
        );
        assert_eq!(
            joined(&n).as_deref(),
            Some("kubepods-besteffort-pod1a2b.slice/cri-containerd-ab.scope")
        );
        assert_eq!(joined(&name("", "")), None);
    }
}
