//! Nodes and Services in the index: the addresses that are not pods'.
use std::{sync::Arc, time::Instant};

use super::{
    entries::{kept_claim, uid_key, NodeEntry, ServiceEntry, Uid},
    owners::Owner,
    Index, Kind,
};
use crate::attribution::{
    kube::records::{NodeRecord, ServiceRecord},
    Attribution,
};

impl Index {
    /// The slot of node `name`, made a placeholder (zone unknown) if not listed yet.
    pub(super) fn node_slot(&mut self, name: &str) -> u32 {
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
                node: label.clone(),
                az: self.unknown.clone(),
                service: self.no_service.clone(),
                workload: label,
                port: None,
                process: None,
            },
            ips: Box::default(),
            seen: 0,
            claimed: 0,
            listed: false,
        });
        self.node_slots.insert(key, slot);
        slot
    }

    /// Adds or updates a node seen at `now`; its pods (hostNetwork ones too) take its
    /// zone.
    pub fn apply_node(&mut self, rec: &NodeRecord<'_>, now: Instant) {
        let slot = self.node_slot(rec.name);
        let az = rec
            .zone
            .map_or_else(|| self.unknown.clone(), |z| self.strings.get(z));
        let seen = self.generation[Kind::Nodes as usize];
        let fresh = self.claim_tick(Kind::Nodes, now);
        let n = self.nodes.get_mut(slot);
        let old = std::mem::replace(&mut n.ips, rec.ips.clone().into_boxed_slice());
        n.claimed = kept_claim(&old, &rec.ips, n.claimed).unwrap_or(fresh);
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

    /// Adds or updates a Service seen at `now`: its ClusterIPs resolve to
    /// `svc/<name>`. One whose ClusterIPs were cleared becomes a tombstone.
    pub fn apply_service(&mut self, rec: &ServiceRecord<'_>, now: Instant) {
        let uid = uid_key(rec.uid);
        let seen = self.generation[Kind::Services as usize];
        let slot = self.service_slots.get(&uid).copied();
        if rec.ips.is_empty() {
            if let Some(slot) = slot {
                self.services.get_mut(slot).seen = seen;
            }
            self.delete_service_key(uid, now);
            return;
        }
        let claimed = slot
            .and_then(|s| {
                let old = self.services.get(s);
                kept_claim(&old.ips, &rec.ips, old.claimed)
            })
            .unwrap_or_else(|| self.claim_tick(Kind::Services, now));
        let pod: Arc<str> = Arc::from(format!("svc/{}", rec.name));
        let entry = ServiceEntry {
            attr: Attribution {
                namespace: self.strings.get(rec.namespace),
                pod: pod.clone(),
                node: self.unknown.clone(),
                az: self.unknown.clone(),
                service: Arc::from(format!("{}/{}", rec.namespace, rec.name)),
                workload: pod,
                port: None,
                process: None,
            },
            ips: rec.ips.clone().into_boxed_slice(),
            seen,
            claimed,
            deleted: 0,
        };
        let slot = match slot {
            Some(slot) => {
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

    /// A Service was deleted at `now`: it stays as a tombstone until
    /// [`Index::expire`], so that a close to its ClusterIP just after still resolves.
    pub fn delete_service(&mut self, uid: &str, now: Instant) {
        self.delete_service_key(uid_key(uid), now);
    }

    fn delete_service_key(&mut self, uid: Uid, now: Instant) {
        let tick = self.deleted_mark(now);
        if let Some(&slot) = self.service_slots.get(&uid) {
            let v = self.services.get_mut(slot);
            if v.deleted == 0 {
                v.deleted = tick;
            }
        }
    }

    pub(super) fn remove_service(&mut self, uid: Uid) {
        if let Some(slot) = self.service_slots.remove(&uid) {
            let old = self.services.remove(slot);
            self.unindex_ips(&old.ips, Owner::Service(slot));
        }
    }
}
