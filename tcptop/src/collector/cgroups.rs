//! Who made each socket, by name: the program notes each cgroup's directory name and
//! its parent's in `CGROUP_NAMES` the first time it sees a socket of it; this reads
//! each once and keeps it. Process names arrive in every record and are shared here,
//! one allocation per distinct name. Each cache holds at most [`CACHE`] names (beyond
//! that it starts over, and the restarts are counted).
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

/// The program's cgroup names and the records' process names, cached. The default
/// has no program map: no cgroup has a name.
#[derive(Default)]
pub struct Names {
    map: Option<BpfHashMap<MapData, u64, CgroupName>>,
    /// By id; `None` for a cgroup without a name (the root) or whose names the map
    /// no longer had, so that neither costs a system call per record.
    cache: HashMap<u64, Option<Arc<str>>>,
    processes: HashMap<[u8; 16], Arc<str>>,
    restarts: u64,
}

impl Names {
    /// Takes the `CGROUP_NAMES` map of `ebpf` (without it, no cgroup has a name).
    pub fn new(ebpf: &mut Ebpf) -> Self {
        let map = ebpf
            .take_map("CGROUP_NAMES")
            .and_then(|m| BpfHashMap::try_from(m).ok());
        Self {
            map,
            cache: HashMap::new(),
            processes: HashMap::new(),
            restarts: 0,
        }
    }

    /// The process name in the kernel's NUL-padded `comm`; `None` when empty.
    pub fn process(&mut self, comm: &[u8; 16]) -> Option<Arc<str>> {
        if comm[0] == 0 {
            return None;
        }
        if let Some(n) = self.processes.get(comm) {
            return Some(n.clone());
        }
        let end = comm.iter().position(|c| *c == 0).unwrap_or(comm.len());
        let name: Arc<str> = Arc::from(String::from_utf8_lossy(&comm[..end]).as_ref());
        if self.processes.len() >= CACHE {
            self.processes.clear();
            self.restarts += 1;
        }
        self.processes.insert(*comm, name.clone());
        Some(name)
    }

    /// The names of cgroup `id` (0: none).
    pub fn name(&mut self, id: u64) -> Option<Arc<str>> {
        if id == 0 {
            return None;
        }
        if let Some(n) = self.cache.get(&id) {
            return n.clone();
        }
        let names = self.map.as_ref()?.get(&id, 0).ok();
        let name: Option<Arc<str>> = names.as_ref().and_then(joined).map(Arc::from);
        if self.cache.len() >= CACHE {
            self.cache.clear();
            self.restarts += 1;
        }
        self.cache.insert(id, name.clone());
        name
    }

    /// How many times a cache was full and started over.
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
    fn process_names_are_shared_and_bounded() {
        let mut names = Names::default();
        let comm = |s: &str| {
            let mut c = [0u8; 16];
            c[..s.len()].copy_from_slice(s.as_bytes());
            c
        };
        let a = names.process(&comm("curl")).unwrap();
        assert_eq!(&*a, "curl");
        assert!(Arc::ptr_eq(&a, &names.process(&comm("curl")).unwrap()));
        assert_eq!(names.process(&[0; 16]), None);
        assert_eq!(names.name(7), None, "no map, no cgroup names");
        for i in 0..=CACHE {
            names.process(&comm(&format!("p{i}")));
        }
        assert_eq!(names.restarts(), 1);
        assert!(names.processes.len() <= CACHE);
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
