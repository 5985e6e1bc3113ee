//! Workloads in the index: each pod holds the slot of its controller, shared by the
//! pods of that controller. A ReplicaSet's slot reads as the Deployment that owns it
//! (its own ownerReferences) once the ReplicaSet is listed, and as itself before. Only
//! the owner chain is kept, never the objects.
use std::sync::Arc;

use super::super::{
    records::{OwnerRef, ReplicaSetRecord},
    slab::{FastMap, Slab},
};

/// The slot of a pod without a controller.
pub(super) const NO_WORKLOAD: u32 = u32::MAX;

#[derive(Debug)]
struct Workload {
    /// Its key in `Workloads::by_key`.
    key: Box<str>,
    /// What the pods read: `Deployment/api`, `StatefulSet/db`, ...
    label: Arc<str>,
    /// The controller's own `Kind/name`, which the label falls back to.
    own: Arc<str>,
    /// Pods holding the slot.
    pods: u32,
    /// For a ReplicaSet that is cached: the list generation that last saw it.
    listed: Option<u32>,
}

/// The controllers of cached pods, and the owners of cached ReplicaSets.
#[derive(Debug, Default)]
pub(super) struct Workloads {
    slots: Slab<Workload>,
    by_key: FastMap<Box<str>, u32>,
}

fn key(namespace: &str, kind: &str, name: &str) -> String {
    format!("{namespace}/{kind}/{name}")
}

impl Workloads {
    /// The slot of `namespace`'s controller `owner`, held once more.
    pub(super) fn acquire(&mut self, namespace: &str, owner: Option<OwnerRef<'_>>) -> u32 {
        let Some(o) = owner else {
            return NO_WORKLOAD;
        };
        let slot = self.slot(namespace, o);
        self.slots.get_mut(slot).pods += 1;
        slot
    }

    fn slot(&mut self, namespace: &str, o: OwnerRef<'_>) -> u32 {
        let k = key(namespace, o.kind, o.name);
        if let Some(&s) = self.by_key.get(k.as_str()) {
            return s;
        }
        let own: Arc<str> = Arc::from(format!("{}/{}", o.kind, o.name));
        let key = k.into_boxed_str();
        let slot = self.slots.insert(Workload {
            key: key.clone(),
            label: own.clone(),
            own,
            pods: 0,
            listed: None,
        });
        self.by_key.insert(key, slot);
        slot
    }

    /// Lets go of `slot`; it goes when neither a pod nor a ReplicaSet holds it.
    pub(super) fn release(&mut self, slot: u32) {
        if slot == NO_WORKLOAD {
            return;
        }
        let w = self.slots.get_mut(slot);
        w.pods = w.pods.saturating_sub(1);
        if w.pods == 0 && w.listed.is_none() {
            self.remove(slot);
        }
    }

    fn remove(&mut self, slot: u32) {
        let w = self.slots.remove(slot);
        self.by_key.remove(&w.key);
    }

    /// The ReplicaSet in `slot` is no longer cached.
    fn unlist(&mut self, slot: u32) {
        let w = self.slots.get_mut(slot);
        w.listed = None;
        w.label = w.own.clone();
        if w.pods == 0 {
            self.remove(slot);
        }
    }

    /// What the pods of `slot` read, `None` for [`NO_WORKLOAD`].
    pub(super) fn label(&self, slot: u32) -> Option<&Arc<str>> {
        (slot != NO_WORKLOAD).then(|| &self.slots.get(slot).label)
    }

    /// A ReplicaSet was listed or changed in list generation `gen`: its pods read its
    /// controller from now on.
    pub(super) fn apply_replicaset(&mut self, rs: &ReplicaSetRecord<'_>, gen: u32) {
        let own = OwnerRef {
            kind: "ReplicaSet",
            name: rs.name,
        };
        let slot = self.slot(rs.namespace, own);
        let w = self.slots.get_mut(slot);
        w.listed = Some(gen);
        w.label = match rs.owner {
            Some(o) => Arc::from(format!("{}/{}", o.kind, o.name)),
            None => w.own.clone(),
        };
    }

    /// A ReplicaSet was deleted: its pods (normally deleted with it) read it again.
    pub(super) fn delete_replicaset(&mut self, namespace: &str, name: &str) {
        let k = key(namespace, "ReplicaSet", name);
        if let Some(&slot) = self.by_key.get(k.as_str()) {
            self.unlist(slot);
        }
    }

    /// A relist of ReplicaSets in generation `gen` ended: those it did not show are
    /// gone.
    pub(super) fn end_relist(&mut self, gen: u32) {
        let gone: Vec<u32> = self
            .slots
            .iter()
            .filter(|(_, w)| w.listed.is_some_and(|g| g != gen))
            .map(|(s, _)| s)
            .collect();
        for slot in gone {
            self.unlist(slot);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::{
        super::{Index, Kind},
        *,
    };
    use crate::attribution::kube::records::{Phase, PodRecord};

    fn pod<'a>(
        uid: &'a str,
        name: &'a str,
        ip: &str,
        owner: Option<OwnerRef<'a>>,
    ) -> PodRecord<'a> {
        PodRecord {
            uid,
            namespace: "shop",
            name,
            node: "n1",
            ips: vec![ip.parse().unwrap()],
            host_network: false,
            phase: Phase::Live,
            created: 1,
            owner,
            host_ports: Vec::new(),
        }
    }

    fn of<'a>(kind: &'a str, name: &'a str) -> Option<OwnerRef<'a>> {
        Some(OwnerRef { kind, name })
    }

    fn workload(idx: &Index, ip: &str) -> String {
        idx.resolve(ip.parse().unwrap())
            .unwrap()
            .workload
            .to_string()
    }

    #[test]
    fn a_replicaset_reads_as_its_deployment_once_listed() {
        let (mut idx, now) = (Index::new(), Instant::now());
        idx.apply_pod(
            &pod("u1", "api-7d9f-a", "10.1.0.1", of("ReplicaSet", "api-7d9f")),
            now,
        );
        idx.apply_pod(
            &pod("u2", "api-7d9f-b", "10.1.0.2", of("ReplicaSet", "api-7d9f")),
            now,
        );
        idx.apply_pod(&pod("u3", "db-0", "10.1.0.3", of("StatefulSet", "db")), now);
        idx.apply_pod(&pod("u4", "debug", "10.1.0.4", None), now);
        assert_eq!(
            workload(&idx, "10.1.0.1"),
            "ReplicaSet/api-7d9f",
            "not listed yet"
        );
        let rs = ReplicaSetRecord {
            namespace: "shop",
            name: "api-7d9f",
            owner: of("Deployment", "api"),
        };
        idx.apply_replicaset(&rs);
        assert_eq!(workload(&idx, "10.1.0.1"), "Deployment/api");
        assert_eq!(workload(&idx, "10.1.0.2"), "Deployment/api");
        assert_eq!(workload(&idx, "10.1.0.3"), "StatefulSet/db");
        assert_eq!(workload(&idx, "10.1.0.4"), "-");
        assert_eq!(idx.workloads.slots.len(), 2, "one slot per controller");

        // A ReplicaSet listed before its pods is found by them too.
        let other = ReplicaSetRecord {
            namespace: "shop",
            name: "web-5c",
            owner: of("Deployment", "web"),
        };
        idx.apply_replicaset(&other);
        idx.apply_pod(
            &pod("u5", "web-5c-a", "10.1.0.5", of("ReplicaSet", "web-5c")),
            now,
        );
        assert_eq!(workload(&idx, "10.1.0.5"), "Deployment/web");

        // A relist that no longer shows web-5c: its pod reads the ReplicaSet again.
        idx.begin_relist(Kind::ReplicaSets, now);
        idx.apply_replicaset(&rs);
        idx.end_relist(Kind::ReplicaSets, now);
        assert_eq!(workload(&idx, "10.1.0.5"), "ReplicaSet/web-5c");
        assert_eq!(workload(&idx, "10.1.0.1"), "Deployment/api");
    }

    #[test]
    fn a_host_network_pod_owns_its_declared_ports_on_its_node() {
        use crate::attribution::kube::records::NodeRecord;
        let (mut idx, now) = (Index::new(), Instant::now());
        let node = NodeRecord {
            name: "n1",
            zone: Some("a"),
            ips: vec!["192.168.0.1".parse().unwrap()],
        };
        idx.apply_node(&node, now);
        let mut agent = pod("u1", "agent-x", "192.168.0.1", of("DaemonSet", "agent"));
        agent.host_network = true;
        agent.host_ports = vec![9100];
        idx.apply_pod(&agent, now);
        let at = |idx: &Index, a: &str| idx.resolve_host_port(a.parse().unwrap()).map(|a| a.pod);
        assert_eq!(at(&idx, "192.168.0.1:9100").as_deref(), Some("agent-x"));
        assert_eq!(at(&idx, "192.168.0.1:9101"), None, "undeclared: the node");
        assert_eq!(at(&idx, "192.168.0.2:9100"), None, "another node");
        // The pod's own sockets on the node IP stay the node's without a port.
        assert_eq!(
            &*idx.resolve("192.168.0.1".parse().unwrap()).unwrap().pod,
            "n1"
        );
        idx.delete_pod("u1", now);
        idx.expire(now + Duration::from_secs(60), Duration::from_secs(1));
        assert_eq!(at(&idx, "192.168.0.1:9100"), None);
    }

    #[test]
    fn slots_go_with_their_last_holder() {
        let (mut idx, now) = (Index::new(), Instant::now());
        idx.apply_pod(&pod("u1", "job-x", "10.1.0.1", of("Job", "x")), now);
        assert_eq!(workload(&idx, "10.1.0.1"), "Job/x");
        // Moving to another owner lets go of the first.
        idx.apply_pod(&pod("u1", "job-x", "10.1.0.1", of("Job", "y")), now);
        assert_eq!(idx.workloads.slots.len(), 1);
        idx.delete_pod("u1", now);
        idx.expire(now + Duration::from_secs(60), Duration::from_secs(1));
        assert_eq!(idx.workloads.slots.len(), 0);
        assert!(idx.workloads.by_key.is_empty());
        let rs = ReplicaSetRecord {
            namespace: "shop",
            name: "gone",
            owner: None,
        };
        idx.apply_replicaset(&rs);
        idx.delete_replicaset("shop", "gone");
        assert!(idx.workloads.by_key.is_empty());
    }
}
