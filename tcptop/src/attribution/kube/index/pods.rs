//! Pods in the index: added, updated, deleted (tombstones), and attributed.
use std::{net::SocketAddr, sync::Arc, time::Instant};

use super::{
    entries::{kept_claim, uid_key, PodCold, PodEntry, Uid},
    owners::Owner,
    Index, Kind,
};
use crate::attribution::{kube::records::PodRecord, Attribution};

impl Index {
    pub(super) fn pod_attr(&self, p: &PodEntry) -> Attribution {
        if p.host_network {
            return self.nodes.get(p.node).attr.clone();
        }
        self.own_attr(p)
    }

    /// `p` as itself, even when it shares its node's IP.
    fn own_attr(&self, p: &PodEntry) -> Attribution {
        let node = &self.nodes.get(p.node).attr;
        Attribution {
            namespace: p.namespace.clone(),
            pod: p.name.clone(),
            node: node.node.clone(),
            az: node.az.clone(),
            service: self.no_service.clone(),
            workload: self
                .workloads
                .label(p.workload)
                .unwrap_or(&self.no_workload)
                .clone(),
            port: None,
            process: None,
        }
    }

    /// Adds or updates a pod seen at `now` (a watch ADDED/MODIFIED or a listed
    /// object). A pod whose IPs were cleared becomes a tombstone that keeps them; an
    /// update that gives a pod an IP it did not hold renews its claim.
    pub fn apply_pod(&mut self, rec: &PodRecord<'_>, now: Instant) {
        let uid = uid_key(rec.uid);
        let seen = self.generation[Kind::Pods as usize];
        let slot = self.pod_slots.get(&uid).copied();
        if rec.ips.is_empty() {
            // Not yet given an IP (nothing to index), or its IPs were cleared.
            if let Some(slot) = slot {
                let tick = self.deleted_mark(now);
                let p = self.pods.get_mut(slot);
                p.cold.seen = seen;
                if p.deleted == 0 {
                    p.deleted = tick;
                }
            }
            return;
        }
        let claimed = slot
            .and_then(|s| {
                let old = &self.pods.get(s).cold;
                kept_claim(&old.ips, &rec.ips, old.claimed)
            })
            .unwrap_or_else(|| self.claim_tick(Kind::Pods, now));
        let host_network = rec.host_network;
        let entry = PodEntry {
            namespace: self.strings.get(rec.namespace),
            name: Arc::from(rec.name),
            cold: Box::new(PodCold {
                ips: rec.ips.clone().into_boxed_slice(),
                uid,
                seen,
                claimed,
            }),
            workload: self.workloads.acquire(rec.namespace, rec.owner),
            node: self.node_slot(rec.node),
            created: u32::try_from(rec.created.max(0)).unwrap_or(u32::MAX),
            deleted: 0,
            phase: rec.phase,
            host_network: rec.host_network,
        };
        let node = entry.node;
        let slot = match slot {
            Some(slot) => {
                let old = std::mem::replace(self.pods.get_mut(slot), entry);
                self.workloads.release(old.workload);
                self.unindex_ips(&old.cold.ips, Owner::Pod(slot));
                if old.host_network {
                    self.host_ports.retain(|_, s| *s != slot);
                }
                slot
            }
            None => {
                let slot = self.pods.insert(entry);
                self.pod_slots.insert(uid, slot);
                slot
            }
        };
        self.index_ips(&rec.ips, Owner::Pod(slot));
        if host_network {
            for port in &rec.host_ports {
                self.host_ports.insert((node, *port), slot);
            }
        }
    }

    /// The pod with UID `uid`, as itself even when it shares its node's IP.
    pub fn resolve_uid(&self, uid: &str) -> Option<Attribution> {
        let slot = *self.pod_slots.get(&uid_key(uid))?;
        Some(self.own_attr(self.pods.get(slot)))
    }

    /// The hostNetwork pod that declares `addr`'s port on the node `addr`'s IP
    /// belongs to: a connection to a node IP on that port is that pod's.
    pub fn resolve_host_port(&self, addr: SocketAddr) -> Option<Attribution> {
        let node = self.by_ip.get(addr.ip()).find_map(|o| match o {
            Owner::Node(s) => Some(s),
            Owner::Pod(s) if self.pods.get(s).host_network => Some(self.pods.get(s).node),
            _ => None,
        })?;
        let pod = *self.host_ports.get(&(node, addr.port()))?;
        Some(self.own_attr(self.pods.get(pod)))
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

    pub(super) fn remove_pod(&mut self, uid: Uid) {
        if let Some(slot) = self.pod_slots.remove(&uid) {
            let p = self.pods.remove(slot);
            self.workloads.release(p.workload);
            if p.host_network {
                self.host_ports.retain(|_, s| *s != slot);
            }
            self.unindex_ips(&p.cold.ips, Owner::Pod(slot));
        }
    }
}
