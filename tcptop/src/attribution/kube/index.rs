//! The IP index: which pod, node or Service owns an IP, built from watch events. Pure
//! logic, no I/O: time comes in as an argument.
//!
//! Every owner of an IP is kept; a lookup picks the best by [`Rank`]. A live pod beats a
//! node or Service address, which beats a pod deleted within the grace period (a
//! tombstone), which beats a finished pod. Among pods of one rank the newest wins.
use std::{net::IpAddr, sync::Arc, time::Instant};

use super::{
    intern::Interner,
    records::{NodeRecord, Phase, PodRecord, ServiceRecord},
    slab::{FastMap, Slab},
};
use crate::attribution::{Attribution, UNKNOWN};

/// The namespace label of node addresses and hostNetwork pods.
pub const NODE_NAMESPACE: &str = "node";

/// The three watched kinds, whose relists are tracked apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Pods.
    Pods,
    /// Nodes.
    Nodes,
    /// Services.
    Services,
}

impl Kind {
    /// Every kind, in status order.
    pub const ALL: [Kind; 3] = [Kind::Pods, Kind::Nodes, Kind::Services];

    /// The API resource name: `pods`, `nodes` or `services`.
    pub fn plural(self) -> &'static str {
        match self {
            Kind::Pods => "pods",
            Kind::Nodes => "nodes",
            Kind::Services => "services",
        }
    }
}

/// How good a claim on an IP is; higher wins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rank {
    /// A finished pod that was since deleted.
    FinishedTombstone,
    /// A Succeeded or Failed pod: its IP may have been reused.
    Finished,
    /// A live pod deleted less than the grace period ago.
    Tombstone,
    /// A node address or a Service ClusterIP.
    Address,
    /// A Pending or Running pod (hostNetwork pods resolve to their node).
    Live,
}

/// A cached pod: what a lookup returns, plus what keeps the index right.
#[derive(Debug)]
struct PodEntry {
    attr: Attribution,
    ips: Box<[IpAddr]>,
    uid: u128,
    created: i64,
    deleted: Option<Instant>,
    phase: Phase,
    seen: u32,
}

impl PodEntry {
    fn rank(&self) -> Rank {
        match (self.phase, self.deleted.is_some()) {
            (Phase::Live, false) => Rank::Live,
            (Phase::Live, true) => Rank::Tombstone,
            (Phase::Finished, false) => Rank::Finished,
            (Phase::Finished, true) => Rank::FinishedTombstone,
        }
    }
}

/// A cached node or Service: its attribution and addresses.
#[derive(Debug)]
struct AddrEntry {
    attr: Attribution,
    ips: Box<[IpAddr]>,
    seen: u32,
}

/// An owner of an IP: a slot in one of the three slabs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Owner {
    Pod(u32),
    Node(u32),
    Service(u32),
}

/// The owners of one IP: almost always one, so kept inline.
#[derive(Debug)]
enum Owners {
    One(Owner),
    Many(Vec<Owner>),
}

impl Owners {
    fn as_slice(&self) -> &[Owner] {
        match self {
            Owners::One(o) => std::slice::from_ref(o),
            Owners::Many(v) => v,
        }
    }

    fn add(&mut self, o: Owner) {
        match self {
            Owners::One(first) if *first != o => *self = Owners::Many(vec![*first, o]),
            Owners::Many(v) if !v.contains(&o) => v.push(o),
            _ => {}
        }
    }

    /// Removes `o`; false when none is left.
    fn remove(&mut self, o: Owner) -> bool {
        match self {
            Owners::One(first) => *first != o,
            Owners::Many(v) => {
                v.retain(|x| *x != o);
                let left = !v.is_empty();
                if let [only] = v[..] {
                    *self = Owners::One(only);
                }
                left
            }
        }
    }
}

/// The IP index of pods, nodes and Services.
#[derive(Debug)]
pub struct Index {
    strings: Interner,
    unknown: Arc<str>,
    node_ns: Arc<str>,
    pods: Slab<PodEntry>,
    pod_slots: FastMap<u128, u32>,
    nodes: Slab<AddrEntry>,
    node_slots: FastMap<Arc<str>, u32>,
    services: Slab<AddrEntry>,
    service_slots: FastMap<u128, u32>,
    by_ip: FastMap<IpAddr, Owners>,
    generation: [u32; 3],
    synced: bool,
}

impl Default for Index {
    fn default() -> Self {
        let mut strings = Interner::default();
        Self {
            unknown: strings.get(UNKNOWN),
            node_ns: strings.get(NODE_NAMESPACE),
            strings,
            pods: Slab::default(),
            pod_slots: FastMap::default(),
            nodes: Slab::default(),
            node_slots: FastMap::default(),
            services: Slab::default(),
            service_slots: FastMap::default(),
            by_ip: FastMap::default(),
            generation: [0; 3],
            synced: false,
        }
    }
}

/// A uid as a number: the UUID's 128 bits, or a hash of other strings.
fn uid_key(uid: &str) -> u128 {
    let hex: String = uid.chars().filter(|c| *c != '-').collect();
    if hex.len() == 32 {
        if let Ok(n) = u128::from_str_radix(&hex, 16) {
            return n;
        }
    }
    // FNV-1a, 128-bit: stable and collision-free in practice for short strings.
    let mut h: u128 = 0x6c62272e07bb014262b821756295c58d;
    for b in uid.bytes() {
        h ^= u128::from(b);
        h = h.wrapping_mul(0x0000000001000000000000000000013b);
    }
    h
}

impl Index {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// The best attribution of `ip`, if anything in the cache claims it.
    pub fn resolve(&self, ip: IpAddr) -> Option<&Attribution> {
        let owners = self.by_ip.get(&ip)?;
        let mut best: Option<(Rank, i64, &Attribution)> = None;
        for o in owners.as_slice() {
            let cand = match *o {
                Owner::Pod(s) => {
                    let p = self.pods.get(s);
                    (p.rank(), p.created, &p.attr)
                }
                Owner::Node(s) => (Rank::Address, 0, &self.nodes.get(s).attr),
                Owner::Service(s) => (Rank::Address, 0, &self.services.get(s).attr),
            };
            if best.is_none_or(|b| (cand.0, cand.1) > (b.0, b.1)) {
                best = Some(cand);
            }
        }
        best.map(|b| b.2)
    }

    /// True once every kind has been listed in full at least once.
    pub fn synced(&self) -> bool {
        self.synced
    }

    /// Marks the cache as synced: from now on an unclaimed IP is `external`.
    pub fn set_synced(&mut self) {
        self.synced = true;
    }

    /// Pods that are not tombstones.
    pub fn pods(&self) -> usize {
        self.pods
            .iter()
            .filter(|(_, p)| p.deleted.is_none())
            .count()
    }

    /// Pods cached, tombstones included.
    pub fn pods_cached(&self) -> usize {
        self.pods.len()
    }

    /// A relist of `kind` starts: objects it does not list again will be dropped.
    pub fn begin_relist(&mut self, kind: Kind) {
        self.generation[kind as usize] = self.generation[kind as usize].wrapping_add(1);
    }

    /// A relist of `kind` ended: what it did not list was deleted while we were not
    /// watching. Pods become tombstones at `now`; nodes and Services go.
    pub fn end_relist(&mut self, kind: Kind, now: Instant) {
        let gen = self.generation[kind as usize];
        match kind {
            Kind::Pods => {
                let gone: Vec<u128> = self
                    .pods
                    .iter()
                    .filter(|(_, p)| p.seen != gen && p.deleted.is_none())
                    .map(|(_, p)| p.uid)
                    .collect();
                for uid in gone {
                    self.delete_pod_key(uid, now);
                }
            }
            Kind::Nodes => {
                let gone: Vec<Arc<str>> = self
                    .node_slots
                    .iter()
                    .filter(|(_, s)| self.nodes.get(**s).seen != gen)
                    .map(|(n, _)| n.clone())
                    .collect();
                for name in gone {
                    self.delete_node(&name);
                }
            }
            Kind::Services => {
                let gone: Vec<u128> = self
                    .service_slots
                    .iter()
                    .filter(|(_, s)| self.services.get(**s).seen != gen)
                    .map(|(u, _)| *u)
                    .collect();
                for uid in gone {
                    self.delete_service_key(uid);
                }
            }
        }
    }

    fn index_ips(&mut self, ips: &[IpAddr], owner: Owner) {
        for ip in ips {
            match self.by_ip.get_mut(ip) {
                Some(owners) => owners.add(owner),
                None => {
                    self.by_ip.insert(*ip, Owners::One(owner));
                }
            }
        }
    }

    fn unindex_ips(&mut self, ips: &[IpAddr], owner: Owner) {
        for ip in ips {
            if let Some(owners) = self.by_ip.get_mut(ip) {
                if !owners.remove(owner) {
                    self.by_ip.remove(ip);
                }
            }
        }
    }

    /// The attribution of node `name`: namespace `node`, pod and node = the name.
    fn node_attr(&mut self, name: &str) -> Attribution {
        let name = if name.is_empty() {
            self.unknown.clone()
        } else {
            self.strings.get(name)
        };
        let az = self.node_slots.get(&name).map_or_else(
            || self.unknown.clone(),
            |s| self.nodes.get(*s).attr.az.clone(),
        );
        Attribution {
            namespace: self.node_ns.clone(),
            pod: name.clone(),
            node: name,
            az,
        }
    }

    /// Adds or updates a pod (a watch ADDED/MODIFIED or a listed object).
    pub fn apply_pod(&mut self, rec: &PodRecord<'_>) {
        let uid = uid_key(rec.uid);
        if rec.ips.is_empty() {
            // Not yet given an IP (or never will be): nothing to index.
            self.remove_pod(uid);
            return;
        }
        let attr = if rec.host_network {
            self.node_attr(rec.node)
        } else {
            let node = self.node_attr(rec.node);
            Attribution {
                namespace: self.strings.get(rec.namespace),
                pod: Arc::from(rec.name),
                node: node.node,
                az: node.az,
            }
        };
        let entry = PodEntry {
            attr,
            ips: rec.ips.clone().into_boxed_slice(),
            uid,
            created: rec.created,
            deleted: None,
            phase: rec.phase,
            seen: self.generation[Kind::Pods as usize],
        };
        let slot = match self.pod_slots.get(&uid) {
            Some(&slot) => {
                let old = std::mem::take(&mut self.pods.get_mut(slot).ips);
                self.unindex_ips(&old, Owner::Pod(slot));
                *self.pods.get_mut(slot) = entry;
                slot
            }
            None => {
                let slot = self.pods.insert(entry);
                self.pod_slots.insert(uid, slot);
                slot
            }
        };
        let ips = std::mem::take(&mut self.pods.get_mut(slot).ips);
        self.index_ips(&ips, Owner::Pod(slot));
        self.pods.get_mut(slot).ips = ips;
    }

    /// A pod was deleted at `now`: it stays as a tombstone until [`Index::expire`].
    pub fn delete_pod(&mut self, uid: &str, now: Instant) {
        self.delete_pod_key(uid_key(uid), now);
    }

    fn delete_pod_key(&mut self, uid: u128, now: Instant) {
        if let Some(&slot) = self.pod_slots.get(&uid) {
            let p = self.pods.get_mut(slot);
            p.deleted.get_or_insert(now);
        }
    }

    fn remove_pod(&mut self, uid: u128) {
        if let Some(slot) = self.pod_slots.remove(&uid) {
            let p = self.pods.remove(slot);
            self.unindex_ips(&p.ips, Owner::Pod(slot));
        }
    }

    /// Drops tombstones deleted more than `grace` before `now`, and strings no entry
    /// uses any more. Returns how many pods went.
    pub fn expire(&mut self, now: Instant, grace: std::time::Duration) -> usize {
        let old: Vec<u128> = self
            .pods
            .iter()
            .filter(|(_, p)| {
                p.deleted
                    .is_some_and(|d| now.saturating_duration_since(d) >= grace)
            })
            .map(|(_, p)| p.uid)
            .collect();
        for uid in &old {
            self.remove_pod(*uid);
        }
        self.strings.purge();
        old.len()
    }

    /// Adds or updates a node; pods on it (and hostNetwork pods) take its zone.
    pub fn apply_node(&mut self, rec: &NodeRecord<'_>) {
        let name = self.strings.get(rec.name);
        let az = rec
            .zone
            .map_or_else(|| self.unknown.clone(), |z| self.strings.get(z));
        let entry = AddrEntry {
            attr: Attribution {
                namespace: self.node_ns.clone(),
                pod: name.clone(),
                node: name.clone(),
                az: az.clone(),
            },
            ips: rec.ips.clone().into_boxed_slice(),
            seen: self.generation[Kind::Nodes as usize],
        };
        let slot = match self.node_slots.get(&name) {
            Some(&slot) => {
                let old = std::mem::replace(self.nodes.get_mut(slot), entry);
                self.unindex_ips(&old.ips, Owner::Node(slot));
                slot
            }
            None => {
                let slot = self.nodes.insert(entry);
                self.node_slots.insert(name.clone(), slot);
                slot
            }
        };
        self.index_ips(&rec.ips, Owner::Node(slot));
        self.set_zone_of_pods(&name, &az);
    }

    fn set_zone_of_pods(&mut self, node: &Arc<str>, az: &Arc<str>) {
        for (_, p) in self.pods.iter_mut() {
            if Arc::ptr_eq(&p.attr.node, node) && !Arc::ptr_eq(&p.attr.az, az) {
                p.attr.az = az.clone();
            }
        }
    }

    /// A node was deleted: its addresses stop resolving, its pods' zone is unknown.
    pub fn delete_node(&mut self, name: &str) {
        let Some(slot) = self.node_slots.remove(name) else {
            return;
        };
        let old = self.nodes.remove(slot);
        self.unindex_ips(&old.ips, Owner::Node(slot));
        let unknown = self.unknown.clone();
        self.set_zone_of_pods(&old.attr.node, &unknown);
    }

    /// Adds or updates a Service: its ClusterIPs resolve to `svc/<name>`.
    pub fn apply_service(&mut self, rec: &ServiceRecord<'_>) {
        let uid = uid_key(rec.uid);
        if rec.ips.is_empty() {
            self.delete_service_key(uid);
            return;
        }
        let entry = AddrEntry {
            attr: Attribution {
                namespace: self.strings.get(rec.namespace),
                pod: Arc::from(format!("svc/{}", rec.name)),
                node: self.unknown.clone(),
                az: self.unknown.clone(),
            },
            ips: rec.ips.clone().into_boxed_slice(),
            seen: self.generation[Kind::Services as usize],
        };
        let slot = match self.service_slots.get(&uid) {
            Some(&slot) => {
                let old = std::mem::replace(self.services.get_mut(slot), entry);
                self.unindex_ips(&old.ips, Owner::Service(slot));
                slot
            }
            None => {
                let slot = self.services.insert(entry);
                self.service_slots.insert(uid, slot);
                slot
            }
        };
        self.index_ips(&rec.ips, Owner::Service(slot));
    }

    /// A Service was deleted.
    pub fn delete_service(&mut self, uid: &str) {
        self.delete_service_key(uid_key(uid));
    }

    fn delete_service_key(&mut self, uid: u128) {
        if let Some(slot) = self.service_slots.remove(&uid) {
            let old = self.services.remove(slot);
            self.unindex_ips(&old.ips, Owner::Service(slot));
        }
    }
}

#[cfg(test)]
mod tests;
