//! The IP index: which pod, node or Service owns an IP, built from watch events. Pure
//! logic, no I/O: time comes in as an argument.
//!
//! Every owner of an IP is kept; a lookup picks the best by [`Rank`]. A live pod beats a
//! node or Service address, which beats a pod or Service deleted within the grace
//! period (a tombstone), which beats a finished pod. Among claims of one rank the one
//! this cache saw last wins (claims made by one list: the newest pod).
use std::{net::IpAddr, sync::Arc, time::Instant};

mod addresses;
mod entries;
mod owners;
mod pods;
mod workloads;

pub use entries::Rank;
use entries::{NodeEntry, PodEntry, ServiceEntry, Uid, TICKS_PER_SEC};
use owners::{IpOwners, Owner};
use workloads::Workloads;

use super::{
    intern::Interner,
    records::ReplicaSetRecord,
    slab::{FastMap, Slab},
};
use crate::attribution::{Attribution, NO_SERVICE, NO_WORKLOAD, UNKNOWN};

/// The namespace label of node addresses and hostNetwork pods.
pub const NODE_NAMESPACE: &str = "node";

/// The watched kinds, whose relists are tracked apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Pods.
    Pods,
    /// Nodes.
    Nodes,
    /// Services.
    Services,
    /// ReplicaSets (their metadata only: the owner chain).
    ReplicaSets,
}

impl Kind {
    /// Every kind, in status order.
    pub const ALL: [Kind; 4] = [Kind::Pods, Kind::Nodes, Kind::Services, Kind::ReplicaSets];

    /// The API resource name: `pods`, `nodes`, `services` or `replicasets`.
    pub fn plural(self) -> &'static str {
        match self {
            Kind::Pods => "pods",
            Kind::Nodes => "nodes",
            Kind::Services => "services",
            Kind::ReplicaSets => "replicasets",
        }
    }
}

/// The IP index of pods, nodes and Services.
#[derive(Debug)]
pub struct Index {
    strings: Interner,
    unknown: Arc<str>,
    node_ns: Arc<str>,
    no_service: Arc<str>,
    no_workload: Arc<str>,
    epoch: Instant,
    pods: Slab<PodEntry>,
    pod_slots: FastMap<Uid, u32>,
    nodes: Slab<NodeEntry>,
    node_slots: FastMap<Arc<str>, u32>,
    services: Slab<ServiceEntry>,
    service_slots: FastMap<Uid, u32>,
    workloads: Workloads,
    /// (node slot, port) -> the hostNetwork pod that declares that port there.
    host_ports: FastMap<(u32, u16), u32>,
    by_ip: IpOwners,
    generation: [u32; Kind::ALL.len()],
    /// Per kind, while a list runs: the tick it began, which its new claims take.
    listing: [Option<u32>; Kind::ALL.len()],
    current: bool,
}

impl Default for Index {
    fn default() -> Self {
        let mut strings = Interner::default();
        Self {
            unknown: strings.get(UNKNOWN),
            node_ns: strings.get(NODE_NAMESPACE),
            no_service: strings.get(NO_SERVICE),
            no_workload: strings.get(NO_WORKLOAD),
            strings,
            epoch: Instant::now(),
            pods: Slab::default(),
            pod_slots: FastMap::default(),
            nodes: Slab::default(),
            node_slots: FastMap::default(),
            services: Slab::default(),
            service_slots: FastMap::default(),
            workloads: Workloads::default(),
            host_ports: FastMap::default(),
            by_ip: IpOwners::default(),
            generation: [0; Kind::ALL.len()],
            listing: [None; Kind::ALL.len()],
            current: false,
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

    /// The `deleted` mark of an object deleted at `now`.
    fn deleted_mark(&self, now: Instant) -> u32 {
        u32::try_from(self.ticks(now) + 1).unwrap_or(u32::MAX)
    }

    /// The claim time of an IP of `kind` first seen at `now`: the start of the list
    /// that shows it, if one is running (a list is one snapshot, its order means
    /// nothing), else `now`.
    fn claim_tick(&self, kind: Kind, now: Instant) -> u32 {
        self.listing[kind as usize]
            .unwrap_or_else(|| u32::try_from(self.ticks(now)).unwrap_or(u32::MAX))
    }

    /// How `o`'s claim ranks against other claims on the same IP: higher wins.
    fn claim(&self, o: Owner) -> (Rank, u32, u32) {
        match o {
            Owner::Pod(s) => {
                let p = self.pods.get(s);
                (p.rank(), p.cold.claimed, p.created)
            }
            Owner::Node(s) => (Rank::Address, self.nodes.get(s).claimed, 0),
            Owner::Service(s) => {
                let v = self.services.get(s);
                (v.rank(), v.claimed, 0)
            }
        }
    }

    /// The best attribution of `ip`, if anything in the cache claims it. An IP with
    /// one owner (nearly all) reads that owner's hot entry only.
    pub fn resolve(&self, ip: IpAddr) -> Option<Attribution> {
        let mut owners = self.by_ip.get(ip);
        let best = if owners.len() == 1 {
            owners.next()
        } else {
            owners.max_by_key(|o| self.claim(*o))
        };
        Some(match best? {
            Owner::Pod(s) => self.pod_attr(self.pods.get(s)),
            Owner::Node(s) => self.nodes.get(s).attr.clone(),
            Owner::Service(s) => self.services.get(s).attr.clone(),
        })
    }

    /// True while the cache is current (see [`super::status::Health::current`]): an
    /// IP nothing claims is then `external`.
    pub fn current(&self) -> bool {
        self.current
    }

    /// Says whether the cache is current.
    pub fn set_current(&mut self, current: bool) {
        self.current = current;
    }

    /// Pods that are not tombstones.
    pub fn pods(&self) -> usize {
        self.pods.iter().filter(|(_, p)| p.deleted == 0).count()
    }

    /// Pods cached, tombstones included.
    pub fn pods_cached(&self) -> usize {
        self.pods.len()
    }

    /// A list of `kind` starts at `now`: objects it does not list again will be
    /// dropped, and the IPs it shows for the first time count as claimed at `now`.
    pub fn begin_relist(&mut self, kind: Kind, now: Instant) {
        self.generation[kind as usize] = self.generation[kind as usize].wrapping_add(1);
        self.listing[kind as usize] = Some(self.claim_tick(kind, now));
    }

    /// A relist of `kind` ended: what it did not list was deleted while we were not
    /// watching. Pods and Services become tombstones at `now`; nodes go. Memory left
    /// over from growing during the list is given back.
    pub fn end_relist(&mut self, kind: Kind, now: Instant) {
        let gen = self.generation[kind as usize];
        self.listing[kind as usize] = None;
        let tick = self.deleted_mark(now);
        match kind {
            Kind::Pods => {
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
                for (_, v) in self.services.iter_mut() {
                    if v.seen != gen && v.deleted == 0 {
                        v.deleted = tick;
                    }
                }
            }
            Kind::ReplicaSets => self.workloads.end_relist(gen),
        }
        self.by_ip.shrink();
    }

    /// Adds or updates a ReplicaSet's owner chain.
    pub fn apply_replicaset(&mut self, rec: &ReplicaSetRecord<'_>) {
        let gen = self.generation[Kind::ReplicaSets as usize];
        self.workloads.apply_replicaset(rec, gen);
    }

    /// A ReplicaSet was deleted.
    pub fn delete_replicaset(&mut self, namespace: &str, name: &str) {
        self.workloads.delete_replicaset(namespace, name);
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

    /// Drops pods and Services deleted `grace` or more before `now`, node placeholders
    /// no pod names, and strings nothing uses. Returns how many pods went.
    pub fn expire(&mut self, now: Instant, grace: std::time::Duration) -> usize {
        let (now, grace) = (self.ticks(now), Self::to_ticks(grace));
        let old = |deleted: u32| deleted != 0 && u64::from(deleted - 1) + grace <= now;
        let pods: Vec<Uid> = self
            .pods
            .iter()
            .filter(|(_, p)| old(p.deleted))
            .map(|(_, p)| p.cold.uid)
            .collect();
        for uid in &pods {
            self.remove_pod(*uid);
        }
        let services: Vec<Uid> = self
            .service_slots
            .iter()
            .filter(|(_, s)| old(self.services.get(**s).deleted))
            .map(|(u, _)| *u)
            .collect();
        for uid in services {
            self.remove_service(uid);
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
        pods.len()
    }
}

#[cfg(test)]
mod tests;
