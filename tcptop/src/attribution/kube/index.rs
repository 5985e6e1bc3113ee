//! The IP index: which pod, node or Service owns an IP, built from watch events. Pure
//! logic, no I/O: time comes in as an argument.
//!
//! Every owner of an IP is kept; a lookup picks the best by [`Rank`]. A live pod beats a
//! node or Service address, which beats a pod deleted within the grace period (a
//! tombstone), which beats a finished pod. Among pods of one rank the newest wins.
use std::{net::IpAddr, sync::Arc, time::Instant};

mod entries;
mod owners;

pub use entries::Rank;
use entries::{uid_key, NodeEntry, PodCold, PodEntry, ServiceEntry, Uid, TICKS_PER_SEC};
use owners::{IpOwners, Owner};

use super::{
    intern::Interner,
    records::{NodeRecord, PodRecord, ServiceRecord},
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

/// The IP index of pods, nodes and Services.
#[derive(Debug)]
pub struct Index {
    strings: Interner,
    unknown: Arc<str>,
    node_ns: Arc<str>,
    epoch: Instant,
    pods: Slab<PodEntry>,
    pod_slots: FastMap<Uid, u32>,
    nodes: Slab<NodeEntry>,
    node_slots: FastMap<Arc<str>, u32>,
    services: Slab<ServiceEntry>,
    service_slots: FastMap<Uid, u32>,
    by_ip: IpOwners,
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
            epoch: Instant::now(),
            pods: Slab::default(),
            pod_slots: FastMap::default(),
            nodes: Slab::default(),
            node_slots: FastMap::default(),
            services: Slab::default(),
            service_slots: FastMap::default(),
            by_ip: IpOwners::default(),
            generation: [0; 3],
            synced: false,
        }
    }
}

impl Index {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// `d` in ticks (tenths of a second).
    fn to_ticks(d: std::time::Duration) -> u64 {
        d.as_millis() as u64 * u64::from(TICKS_PER_SEC) / 1000
    }

    /// `now` in ticks since the index was made.
    fn ticks(&self, now: Instant) -> u64 {
        Self::to_ticks(now.saturating_duration_since(self.epoch))
    }

    /// The `deleted` mark of a pod deleted at `now`.
    fn deleted_mark(&self, now: Instant) -> u32 {
        u32::try_from(self.ticks(now) + 1).unwrap_or(u32::MAX)
    }

    fn pod_attr(&self, p: &PodEntry) -> Attribution {
        let node = &self.nodes.get(p.node).attr;
        if p.host_network {
            return node.clone();
        }
        Attribution {
            namespace: p.namespace.clone(),
            pod: p.name.clone(),
            node: node.node.clone(),
            az: node.az.clone(),
        }
    }

    /// The best attribution of `ip`, if anything in the cache claims it.
    pub fn resolve(&self, ip: IpAddr) -> Option<Attribution> {
        let mut best: Option<(Rank, u32, Owner)> = None;
        for o in self.by_ip.get(ip) {
            let cand = match o {
                Owner::Pod(s) => {
                    let p = self.pods.get(s);
                    (p.rank(), p.created, o)
                }
                Owner::Node(_) | Owner::Service(_) => (Rank::Address, 0, o),
            };
            if best.is_none_or(|b| (cand.0, cand.1) > (b.0, b.1)) {
                best = Some(cand);
            }
        }
        Some(match best?.2 {
            Owner::Pod(s) => self.pod_attr(self.pods.get(s)),
            Owner::Node(s) => self.nodes.get(s).attr.clone(),
            Owner::Service(s) => self.services.get(s).attr.clone(),
        })
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
        self.pods.iter().filter(|(_, p)| p.deleted == 0).count()
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
    /// watching. Pods become tombstones at `now`; nodes and Services go. Memory left
    /// over from growing during the list is given back.
    pub fn end_relist(&mut self, kind: Kind, now: Instant) {
        let gen = self.generation[kind as usize];
        match kind {
            Kind::Pods => {
                let tick = self.deleted_mark(now);
                for (_, p) in self.pods.iter_mut() {
                    if p.cold.seen != gen && p.deleted == 0 {
                        p.deleted = tick;
                    }
                }
                self.pods.shrink();
                self.pod_slots.shrink_to_fit();
                // Names were allocated between the decoded objects of the list, one or
                // two per page; copied together they share cache lines and TLB entries,
                // which halves the time of a cold lookup.
                for (_, p) in self.pods.iter_mut() {
                    p.name = Arc::from(&*p.name);
                }
            }
            Kind::Nodes => {
                let gone: Vec<Arc<str>> = self
                    .nodes
                    .iter()
                    .filter(|(_, n)| n.listed && n.seen != gen)
                    .map(|(_, n)| n.attr.node.clone())
                    .collect();
                for name in gone {
                    self.delete_node(&name);
                }
            }
            Kind::Services => {
                let gone: Vec<Uid> = self
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
        self.by_ip.shrink();
    }

    fn index_ips(&mut self, ips: &[IpAddr], owner: Owner) {
        for ip in ips {
            self.by_ip.add(*ip, owner);
        }
    }

    fn unindex_ips(&mut self, ips: &[IpAddr], owner: Owner) {
        for ip in ips {
            self.by_ip.remove(*ip, owner);
        }
    }

    /// The slot of node `name`, made a placeholder (zone unknown) if not listed yet.
    fn node_slot(&mut self, name: &str) -> u32 {
        if let Some(&s) = self.node_slots.get(name) {
            return s;
        }
        let key = self.strings.get(name);
        let label = if name.is_empty() {
            self.unknown.clone()
        } else {
            key.clone()
        };
        let slot = self.nodes.insert(NodeEntry {
            attr: Attribution {
                namespace: self.node_ns.clone(),
                pod: label.clone(),
                node: label,
                az: self.unknown.clone(),
            },
            ips: Box::default(),
            seen: 0,
            listed: false,
        });
        self.node_slots.insert(key, slot);
        slot
    }

    /// Adds or updates a pod (a watch ADDED/MODIFIED or a listed object).
    pub fn apply_pod(&mut self, rec: &PodRecord<'_>) {
        let uid = uid_key(rec.uid);
        if rec.ips.is_empty() {
            // Not yet given an IP (or never will be): nothing to index.
            self.remove_pod(uid);
            return;
        }
        let entry = PodEntry {
            namespace: self.strings.get(rec.namespace),
            name: Arc::from(rec.name),
            cold: Box::new(PodCold {
                ips: rec.ips.clone().into_boxed_slice(),
                uid,
                seen: self.generation[Kind::Pods as usize],
            }),
            node: self.node_slot(rec.node),
            created: u32::try_from(rec.created.max(0)).unwrap_or(u32::MAX),
            deleted: 0,
            phase: rec.phase,
            host_network: rec.host_network,
        };
        let slot = match self.pod_slots.get(&uid) {
            Some(&slot) => {
                let old = std::mem::replace(self.pods.get_mut(slot), entry);
                self.unindex_ips(&old.cold.ips, Owner::Pod(slot));
                slot
            }
            None => {
                let slot = self.pods.insert(entry);
                self.pod_slots.insert(uid, slot);
                slot
            }
        };
        self.index_ips(&rec.ips, Owner::Pod(slot));
    }

    /// A pod was deleted at `now`: it stays as a tombstone until [`Index::expire`].
    pub fn delete_pod(&mut self, uid: &str, now: Instant) {
        let tick = self.deleted_mark(now);
        if let Some(&slot) = self.pod_slots.get(&uid_key(uid)) {
            let p = self.pods.get_mut(slot);
            if p.deleted == 0 {
                p.deleted = tick;
            }
        }
    }

    fn remove_pod(&mut self, uid: Uid) {
        if let Some(slot) = self.pod_slots.remove(&uid) {
            let p = self.pods.remove(slot);
            self.unindex_ips(&p.cold.ips, Owner::Pod(slot));
        }
    }

    /// Drops tombstones deleted `grace` or more before `now`, node placeholders no pod
    /// names, and strings nothing uses. Returns how many pods went.
    pub fn expire(&mut self, now: Instant, grace: std::time::Duration) -> usize {
        let (now, grace) = (self.ticks(now), Self::to_ticks(grace));
        let old: Vec<Uid> = self
            .pods
            .iter()
            .filter(|(_, p)| p.deleted != 0 && u64::from(p.deleted - 1) + grace <= now)
            .map(|(_, p)| p.cold.uid)
            .collect();
        for uid in &old {
            self.remove_pod(*uid);
        }
        let mut named = vec![false; self.nodes.slots()];
        for (_, p) in self.pods.iter() {
            named[p.node as usize] = true;
        }
        let unused: Vec<Arc<str>> = self
            .node_slots
            .iter()
            .filter(|(_, s)| !named[**s as usize] && !self.nodes.get(**s).listed)
            .map(|(n, _)| n.clone())
            .collect();
        for name in unused {
            if let Some(s) = self.node_slots.remove(&name) {
                self.nodes.remove(s);
            }
        }
        self.strings.purge();
        old.len()
    }

    /// Adds or updates a node; its pods (hostNetwork ones too) take its zone.
    pub fn apply_node(&mut self, rec: &NodeRecord<'_>) {
        let slot = self.node_slot(rec.name);
        let az = rec
            .zone
            .map_or_else(|| self.unknown.clone(), |z| self.strings.get(z));
        let seen = self.generation[Kind::Nodes as usize];
        let n = self.nodes.get_mut(slot);
        let old = std::mem::replace(&mut n.ips, rec.ips.clone().into_boxed_slice());
        n.attr.az = az;
        n.seen = seen;
        n.listed = true;
        self.unindex_ips(&old, Owner::Node(slot));
        self.index_ips(&rec.ips, Owner::Node(slot));
    }

    /// A node was deleted: its addresses stop resolving, its pods' zone is unknown.
    pub fn delete_node(&mut self, name: &str) {
        let Some(&slot) = self.node_slots.get(name) else {
            return;
        };
        let unknown = self.unknown.clone();
        let n = self.nodes.get_mut(slot);
        let old = std::mem::take(&mut n.ips);
        n.attr.az = unknown;
        n.listed = false;
        self.unindex_ips(&old, Owner::Node(slot));
    }

    /// Adds or updates a Service: its ClusterIPs resolve to `svc/<name>`.
    pub fn apply_service(&mut self, rec: &ServiceRecord<'_>) {
        let uid = uid_key(rec.uid);
        if rec.ips.is_empty() {
            self.delete_service_key(uid);
            return;
        }
        let entry = ServiceEntry {
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

    fn delete_service_key(&mut self, uid: Uid) {
        if let Some(slot) = self.service_slots.remove(&uid) {
            let old = self.services.remove(slot);
            self.unindex_ips(&old.ips, Owner::Service(slot));
        }
    }
}

#[cfg(test)]
mod tests;
